"""Sending one case to one server and keeping what came back: the battery's only network code.

Thin on purpose: the request goes out exactly as the case describes it (method, path, content
type, body bytes) and the answer is kept as bytes, so everything that decides agreement stays in
the pure ``observe`` and ``compare`` modules. Streams are read to the end like any body; framing
is judged from the bytes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from .cases import Case
from .observe import Answer

__all__ = ["load_answers", "request_bytes", "save_answers", "send", "url_for"]


def url_for(base_url: str, path: str) -> str:
    """``path`` under ``base_url``; a path starting with ``/`` is taken from the server's root."""
    if path.startswith("/"):
        parts = urlsplit(base_url)
        return f"{parts.scheme}://{parts.netloc}{path}"
    return f"{base_url.rstrip('/')}/{path}"


def request_bytes(case: Case) -> bytes | None:
    """The body the case sends: its raw bytes, or its JSON rendered compactly; ``None`` for no body."""
    if case.raw is not None:
        return case.raw
    if case.body is None:
        return None
    return json.dumps(case.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def send(client: httpx.Client, base_url: str, case: Case) -> Answer:
    """Send ``case`` to the server at ``base_url`` and return its answer; transport errors propagate."""
    headers = {"content-type": case.content_type} if case.content_type is not None else {}
    response = client.request(
        case.method, url_for(base_url, case.path), content=request_bytes(case), headers=headers
    )
    return Answer(response.status_code, response.headers.get("content-type"), response.content)


def save_answers(path: Path, answers: Mapping[str, Answer]) -> None:
    """Write answers by case name as JSON (bodies base64), for a later ``load_answers``."""
    document = {
        name: {
            "status": answer.status,
            "content_type": answer.content_type,
            "body": base64.b64encode(answer.body).decode("ascii"),
        }
        for name, answer in answers.items()
    }
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def load_answers(path: Path) -> dict[str, Answer]:
    """The answers ``save_answers`` wrote; ``ValueError`` (naming the file) for any other file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return {
            name: Answer(
                entry["status"], entry["content_type"], base64.b64decode(entry["body"], validate=True)
            )
            for name, entry in document.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"{path}: not a file of saved answers ({type(error).__name__}: {error}); write one with --save-b"
        ) from None
