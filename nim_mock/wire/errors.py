"""Error bodies exactly as a NIM (or the vLLM inside it) renders them.

Clients tell failures apart by the body's shape, so the mock never invents its own: it speaks one
of the two layouts real servers use (nim-wire-facts.md §3.7):

- ``"nim"``: NIM 1.x / vLLM <= 0.9, flat
  ``{"object":"error","message":…,"type":…,"param":null,"code":N}``
  (what langchain-nvidia-ai-endpoints' parser expects);
- ``"vllm"``: vLLM >= 0.10 (NIM 2.x), nested ``{"error":{"message":…,"type":…,"param":…,"code":N}}``;
- ``"gateway"``: NVIDIA's hosted gateway. Its own refusals (unknown model or route, wrong method,
  size) are RFC 7807-like ``{"status":N,"title":…,"detail":…}`` (§2.5); a 400 comes from the model
  behind it and passes through in the vLLM layout, as the gateway forwards it.

Bodies are compact JSON with the field order above, as Starlette's ``JSONResponse`` renders the
servers' pydantic models. Everything here is pure: a :class:`Problem` says what went wrong, and
:func:`render_problem` turns it into status, headers and bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal, get_args

from nim_mock.cassette import compact_json
from nim_mock.wire.http import JSON_CONTENT_TYPE

__all__ = [
    "ERROR_LAYOUTS",
    "ErrorLayout",
    "Problem",
    "bad_request",
    "check_error_layout",
    "error_body",
    "render_problem",
]

ErrorLayout = Literal["nim", "vllm", "gateway"]
ERROR_LAYOUTS: tuple[str, ...] = get_args(ErrorLayout)


@dataclass(frozen=True, slots=True)
class Problem:
    """A request the mock refuses: the HTTP status, the error ``type`` and a message saying what to do.

    ``type_by_layout`` overrides ``type`` for a layout whose real server names the error differently
    (vLLM reports validation errors with the HTTP phrase ``"Bad Request"``, NIM with ``BadRequestError``).
    ``param`` names the field at fault, as vLLM does (``"temperature"``, ``"body.max_tokens"``);
    NIM 1.x always sends ``null``.

    A message may quote what the client sent, lone surrogates included (``"\\ud800"`` is valid JSON
    text); those are kept as their escapes, so the message can always be sent and logged as UTF-8.
    """

    status: int
    type: str
    message: str
    headers: tuple[tuple[str, str], ...] = ()
    type_by_layout: tuple[tuple[str, str], ...] = ()
    param: str | None = None

    def __post_init__(self) -> None:
        try:
            self.message.encode("utf-8")
        except UnicodeEncodeError:
            escaped = self.message.encode("utf-8", "backslashreplace").decode("utf-8")
            object.__setattr__(self, "message", escaped)

    def type_for(self, layout: ErrorLayout) -> str:
        return dict(self.type_by_layout).get(layout, self.type)


def check_error_layout(layout: str) -> ErrorLayout:
    """Validate a layout name coming from a user, listing the valid ones when it is wrong."""
    if layout == "nim":
        return "nim"
    if layout == "vllm":
        return "vllm"
    if layout == "gateway":
        return "gateway"
    raise ValueError(f"unknown error layout {layout!r}; choose one of: {', '.join(ERROR_LAYOUTS)}")


def error_body(
    layout: ErrorLayout, *, message: str, type_: str, code: int, param: str | None = None
) -> bytes:
    """The exact bytes of an error body in ``layout`` (field order matters to byte-exact clients)."""
    if layout == "nim":
        return compact_json(
            {"object": "error", "message": message, "type": type_, "param": None, "code": code}
        )
    if layout == "gateway" and code != 400:
        return compact_json({"status": code, "title": _title(code), "detail": message})
    return compact_json({"error": {"message": message, "type": type_, "param": param, "code": code}})


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def render_problem(problem: Problem, layout: ErrorLayout) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers (content-type last, as Starlette orders it after extra headers) and body."""
    body = error_body(
        layout,
        message=problem.message,
        type_=problem.type_for(layout),
        code=problem.status,
        param=problem.param,
    )
    headers = [*problem.headers, ("content-type", JSON_CONTENT_TYPE)]
    return problem.status, headers, body


def bad_request(message: str) -> Problem:
    """A request-validation failure: 400 with NIM's ``BadRequestError`` / vLLM's ``Bad Request`` type."""
    return Problem(400, "BadRequestError", message, type_by_layout=(("vllm", "Bad Request"),))
