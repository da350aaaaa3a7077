"""Typed errors for everything that can go wrong between ChatNVIDIA and a NIM.

The tree (catch a branch to handle every leaf under it)::

    NVIDIAError                      status, message, request_id, body
    ├── AuthenticationError          401: key missing, malformed or revoked
    │   └── PermissionDeniedError    403: key valid, but not for this model/endpoint
    ├── NotFoundError                404, 410: unknown or retired model, wrong base_url
    ├── BadRequestError              400, 413, 415, 422 and every other 4xx: fix the request
    ├── RateLimitError               429 (``retry_after``): retries exhausted
    ├── ServerError                  5xx and in-stream failures without a client-side cause
    ├── APIConnectionError           no usable connection: refused, reset, dropped mid-stream
    │   └── APITimeoutError          no answer in time (also: 202 polling past the timeout)
    └── ResponseFormatError          the server answered, but not in the shape the API promises

Why these places: ``APITimeoutError`` sits under ``APIConnectionError`` (as in openai-python)
because for a caller both mean "the transport let us down, maybe try again later".
``ResponseFormatError`` is its own branch: it is neither the caller's fault (not a 4xx) nor a
transient failure that a retry would cure (not a 5xx); it usually means ``base_url`` points at
something that is not an OpenAI-compatible endpoint, or a proxy mangled the answer.

Every message says what to do next, then carries the HTTP status, the server's own words and the
request id (``NVCF-REQID``, ``x-request-id`` or a ``requestId`` in the body), which is what NVIDIA
support asks for. Parsing is pure: :func:`error_from_response` and :func:`error_from_event` take
plain values, so the sync and async transports share them and tests call them directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, ClassVar

from ._error_text import (
    header,
    message_from_body,
    parse_body,
    parse_retry_after_seconds,
    status_from_code,
    www_authenticate_reason,
)

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "NVIDIAError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "error_from_event",
    "error_from_response",
    "header",
    "request_id_from",
]


class NVIDIAError(Exception):
    """Base of every error raised by the client's transport.

    Attributes: ``status`` (HTTP status, ``None`` when no response arrived), ``message`` (the
    server's own words, or ours when the server said nothing), ``request_id`` and ``body`` (the
    parsed JSON body, or its text, or ``None``). ``retries`` counts the retries spent before
    giving up, so the message can say so; ``in_stream`` marks an error event that arrived inside
    a 200 stream (``status`` is then the event's own code). The class's ``hint`` (what to do) is
    replaced by ``hint_override`` where the situation is more specific than the status.
    """

    hint: ClassVar[str] = "See the message above."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        body: object | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id
        self.body = body
        self.retries = 0
        self.in_stream = False
        self.hint_override = hint

    def __str__(self) -> str:
        # ``[status]`` first, as the published client writes it: code matching ``"[404]"`` keeps
        # working; the status phrase, the server's words, the request id and the hint follow.
        head = f"[{self.status}]{_reason(self.status)}" if self.status is not None else ""
        if self.in_stream:
            head = f"{head} (error event inside the stream)" if head else "error event inside the stream"
        message = self.message
        phrase = _reason(self.status).strip() if self.status is not None else ""
        if phrase and message.startswith(f"{phrase}: "):
            message = message[len(phrase) + 2 :]  # the gateway's title repeats the status phrase
        elif phrase and message == phrase:
            message = ""
        if not head:
            text = message or "(the server sent no message)"
        elif message or self.in_stream:
            text = f"{head}: {message or '(the server sent no message)'}"
        else:
            text = head
        if self.request_id:
            text += f" [request id: {self.request_id}]"
        if self.retries:
            text += f" (gave up after {self.retries} {'retry' if self.retries == 1 else 'retries'})"
        return f"{text}\n{self.hint_override or self.hint}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructor arguments are not in ``args``; rebuild from the full state so
        # errors survive pickling (multiprocessing, pytest-xdist).
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[NVIDIAError], state: dict[str, Any]) -> NVIDIAError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class AuthenticationError(NVIDIAError):
    hint = (
        "Check the API key: set NVIDIA_API_KEY or pass api_key=..., and make sure it is a current key "
        "(hosted keys start with 'nvapi-'; regenerate one at build.nvidia.com if it was revoked)."
    )


class PermissionDeniedError(AuthenticationError):
    hint = (
        "The key was accepted but may not use this model or endpoint: pick a model your account can "
        "call (get_available_models()) or use a key from the organization that has access."
    )


class NotFoundError(NVIDIAError):
    hint = (
        "Check the model id against get_available_models(), and that base_url points at the API root "
        "(for example https://integrate.api.nvidia.com/v1 or http://localhost:8000/v1)."
    )


class BadRequestError(NVIDIAError):
    hint = "The server rejected the request itself: fix the parameter the message names, then retry."


class RateLimitError(NVIDIAError):
    hint = (
        "Rate limited (after the retries max_retries allows): slow down or make fewer concurrent "
        "calls, raise max_retries, or try again in a while."
    )

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(NVIDIAError):
    hint = (
        "The server failed while handling the request: try again later or raise max_retries; "
        "if it persists, report it with the request id."
    )


class APIConnectionError(NVIDIAError):
    hint = (
        "Could not get a complete answer over the connection: check base_url, that the server is "
        "running and reachable, and any proxy in between."
    )


class APITimeoutError(APIConnectionError, TimeoutError):
    """Also a built-in ``TimeoutError``, which is what the published client raises when 202 polling
    runs out of time, so ``except TimeoutError`` keeps catching it."""

    hint = "No answer within the timeout: raise timeout=..., or check whether the server is overloaded."


class ResponseFormatError(NVIDIAError):
    hint = (
        "The server's answer is not what an OpenAI-compatible NIM endpoint sends: check that base_url "
        "points at one (ending in /v1) and that no proxy rewrites the response."
    )


_HINTS_BY_STATUS: Mapping[int, str] = MappingProxyType(
    {
        410: "This model has reached its end of life: choose another one from get_available_models().",
        413: "The request is too large: send fewer or shorter messages, or smaller images.",
        415: "The server wants 'Content-Type: application/json': do not override it in default_headers.",
    }
)


def _reason(status: int) -> str:
    try:
        return f" {HTTPStatus(status).phrase}"
    except ValueError:
        return ""


def _specific_hint(status: int, parsed: object, message: str) -> str | None:
    """A hint sharper than the class's, where the body tells which 404 this is."""
    if status == 404 and message.startswith("no recorded interaction "):
        # nim-mock's miss: the model id and base_url are fine, the recording is what is missing.
        return (
            "A mock NIM answered: it holds no recording for this request. The message names the closest "
            "recording and what differs; change the request to match it, or record the cassette again."
        )
    if status == 404 and "not found for account" in message.lower():
        return (
            "The model is in the catalogue but this key's account cannot call it (or it was retired): "
            "choose another model from get_available_models(), or use a key with access to it."
        )
    if status == 404 and (isinstance(parsed, str) or message.strip().lower() == "not found"):
        return (
            "The server has no such path (a bare 'not found', not an API error): check that base_url is "
            "the API root ending in /v1, e.g. http://localhost:8000/v1."
        )
    return _HINTS_BY_STATUS.get(status)


def class_for_status(status: int) -> type[NVIDIAError]:
    """The error class an HTTP status maps to (the table in the module docstring)."""
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status in (404, 410):
        return NotFoundError
    if status == 429:
        return RateLimitError
    if 400 <= status < 500:
        return BadRequestError
    if 500 <= status < 600:
        return ServerError
    return ResponseFormatError


def request_id_from(headers: Mapping[str, str], body: object = None) -> str | None:
    """The id support needs: NVCF-REQID (hosted), x-request-id (vLLM, transformers), or the body's."""
    for name in ("nvcf-reqid", "x-request-id"):
        value = header(headers, name)
        if value:
            return value
    if isinstance(body, Mapping):
        for key in ("requestId", "request_id"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> NVIDIAError:
    """Build the typed error for a non-success HTTP response.

    Understands every error layout seen on the wire: NIM 1.x flat
    ``{"object":"error","message",...}``, vLLM >= 0.10 nested ``{"error":{"message",...}}``,
    the hosted gateway's ``{"status","title","detail"[,"requestId"]}``, FastAPI ``{"detail": str
    | list}``, ``{"error": "<str>"}``, ``{"message": ...}``, plain text, and an empty 401 whose
    reason is only in ``WWW-Authenticate``.
    """
    parsed = parse_body(body)
    message = message_from_body(parsed) if parsed is not None else ""
    if not message and status == 401:
        message = www_authenticate_reason(header(headers, "www-authenticate"))
    if not message and 300 <= status < 400:
        location = header(headers, "location")
        message = f"unexpected redirect to {location!r}" if location else "unexpected redirect"
        return ResponseFormatError(
            message,
            status=status,
            request_id=request_id_from(headers, parsed),
            body=parsed,
            hint="The server redirected instead of answering: set base_url to the final address.",
        )
    cls = class_for_status(status)
    kwargs: dict[str, Any] = {
        "status": status,
        "request_id": request_id_from(headers, parsed),
        "body": parsed,
        "hint": _specific_hint(status, parsed, message),
    }
    if cls is RateLimitError:
        kwargs["retry_after"] = parse_retry_after_seconds(headers)
    if cls is ResponseFormatError and not message:
        message = f"unexpected HTTP status {status}"
    return cls(message, **kwargs)


def error_from_event(data: object, *, request_id: str | None = None) -> NVIDIAError | None:
    """Recognise an error delivered inside a stream; ``None`` for an ordinary chunk.

    Layouts: vLLM <= 0.9 / NIM 1.x ``{"error":{"object":"error","message","type","param","code"}}``,
    vLLM >= 0.10 / NIM 2.x ``{"error":{"message","type","param","code"}}``, transformers serve's
    ``{"error":"<msg>"}``, and the flat NIM body ``{"object":"error","message",...}``. The HTTP
    status of such a stream is 200, so the class comes from the event's own ``code`` or ``type``;
    without either it is a :class:`ServerError` (the server gave up mid-generation).
    """
    if not isinstance(data, Mapping):
        return None
    if data.get("choices"):
        return None
    error = data.get("error")
    if isinstance(error, Mapping):
        fields: Mapping[str, Any] = error
    elif isinstance(error, str) and error:
        fields = {"message": error}
    elif data.get("object") == "error":
        fields = data
    else:
        return None
    status = status_from_code(fields.get("code"))
    cls = class_for_status(status) if status is not None else _class_for_type(fields.get("type"))
    if cls is ResponseFormatError:
        cls = ServerError
    message = message_from_body(data) or "the server reported an error inside the stream"
    error = cls(
        message,
        status=status,
        request_id=request_id or request_id_from({}, data),
        body=dict(data),
    )
    error.in_stream = True
    return error


_CLASS_BY_TYPE: Mapping[str, type[NVIDIAError]] = MappingProxyType(
    {
        "badrequesterror": BadRequestError,
        "bad request": BadRequestError,
        "invalid_request_error": BadRequestError,
        "notfounderror": NotFoundError,
        "not found": NotFoundError,
        "too many requests": RateLimitError,
        "ratelimiterror": RateLimitError,
        "rate_limit_exceeded": RateLimitError,
        "authenticationerror": AuthenticationError,
        "unauthorized": AuthenticationError,
        "permissiondeniederror": PermissionDeniedError,
        "forbidden": PermissionDeniedError,
    }
)


def _class_for_type(kind: object) -> type[NVIDIAError]:
    if isinstance(kind, str):
        return _CLASS_BY_TYPE.get(kind.strip().lower(), ServerError)
    return ServerError
