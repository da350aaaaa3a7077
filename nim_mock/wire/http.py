"""HTTP names the mock's layers must spell alike: headers it computes, sets or looks for, and paths.

The cassette codec and the replayer must agree on which headers a server computes, the router and
the pytest plugin on the header that marks a miss, the fault middleware and the plugin on where
NVCF's status polls go. Each name is written here once; this module imports nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Final

__all__ = [
    "COMPUTED_HEADERS",
    "EVENT_STREAM_TYPE",
    "JSON_CONTENT_TYPE",
    "MISS_HEADER",
    "NVCF_REQID_HEADER",
    "NVCF_STATUS_HEADER",
    "NVCF_STATUS_PATH",
    "media_type",
    "path_with_query",
    "request_header",
]

COMPUTED_HEADERS: Final = frozenset({"content-length", "transfer-encoding", "date", "connection"})
"""Response headers the serving side computes for each response: never stored, never replayed."""

JSON_CONTENT_TYPE: Final = "application/json"
EVENT_STREAM_TYPE: Final = "text/event-stream"

MISS_HEADER: Final = "x-nim-mock-miss"
"""Marks the mock's 404 for a request no recording answers, so the plugin can keep its message."""

NVCF_STATUS_PATH: Final = "/v2/nvcf/pexec/status/"
"""Where a client polls, with the request id appended, for an answer NVCF accepted with a 202."""
NVCF_REQID_HEADER: Final = "nvcf-reqid"
"""The id of an accepted request, sent with the 202 and again with the answer to the last poll."""
NVCF_STATUS_HEADER: Final = "nvcf-status"
"""``pending-evaluation`` on a 202, ``fulfilled`` on the answer."""


def media_type(content_type: str | None) -> str:
    """The media type of a ``content-type`` value without its parameters, lower case ("" if none)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def path_with_query(scope: Mapping[str, Any]) -> str:
    """An ASGI request's path with its query string, as the recorder stores it and the matcher compares it."""
    query: bytes = scope.get("query_string", b"")
    path: str = scope["path"]
    return f"{path}?{query.decode('latin-1')}" if query else path


_HEADERS_KEY: Final = "nim_mock.headers"


def request_header(scope: MutableMapping[str, Any], name: bytes) -> str | None:
    """The value of the ASGI request's header ``name`` (lower case, as ASGI passes names; the last
    one where it is repeated), ``None`` when absent.

    The headers are made a dict once per request and kept in the scope: the fault check, the
    body-size and media-type checks and the metrics each read one of them.
    """
    headers: dict[bytes, bytes] | None = scope.get(_HEADERS_KEY)
    if headers is None:
        headers = scope[_HEADERS_KEY] = dict(scope.get("headers", ()))
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")
