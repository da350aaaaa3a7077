"""Spotting credentials in decoded JSON: the one place that knows what a secret looks like.

Cassettes are committed to git and shared, so a key that slips into one is a key leaked. The loader
refuses a cassette holding one, ``save_cassette`` refuses to write one, and redaction (issue 5) will
reuse the very same patterns, so "what counts as a secret" has a single definition: this module.

The check is deliberately one-sided: a false alarm costs a rename, a miss costs a key rotation. Still,
placeholders that people write on purpose (``REDACTED``, ``***``, ``<redacted>``, ``Bearer ***``) pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Final

__all__ = [
    "SECRET_PATTERN",
    "SENSITIVE_HEADERS",
    "find_secret",
    "is_redacted",
    "secret_in_text",
]

SENSITIVE_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"}
)
"""Header names (lower case) whose value is a credential whenever it is not a placeholder."""

SECRET_PATTERN: Final = re.compile(
    r"(?P<nvapi>nvapi-[A-Za-z0-9_-]{8,})"
    r"|(?P<openai>(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,})"
    r"|(?P<bearer>\bBearer[ \t]+(?P<token>[A-Za-z0-9._~+/=-]+))",
    re.IGNORECASE,
)
"""Credentials that are secrets wherever they appear: NVIDIA ``nvapi-`` keys, OpenAI ``sk-`` keys and
``Bearer <token>`` strings. Named groups give the kind; redaction replaces whole matches."""

_KINDS: Final = {"nvapi": "nvapi- API key", "openai": "OpenAI sk- API key", "bearer": "Bearer token"}

_PLACEHOLDER: Final = re.compile(
    # optional scheme, then: nothing, ***/xxx/..., <key>, [REDACTED], {key}, *redacted*, none, $ENV_VAR
    r"\s*(?:(?:bearer|basic|token)\s+)?"
    r"(?:|[*x•.…#-]+|<[^<>]*>|\[[^\[\]]*]|\{[^{}]*}|\S*redacted\S*|none|null|\$\{?[A-Z_][A-Z0-9_]*\}?)\s*",
    re.IGNORECASE,
)


def is_redacted(value: str) -> bool:
    """Whether a header value is an obvious placeholder (``REDACTED``, ``***``, ``Bearer <key>``, empty)."""
    return _PLACEHOLDER.fullmatch(value) is not None


def _bearer_token_is_real(token: str) -> bool:
    # Prose says "Bearer token" or "Bearer authentication"; real tokens are long and mix letters and
    # digits (JWTs, opaque keys). Placeholders such as "Bearer ***" or "Bearer $NVIDIA_API_KEY" pass.
    if is_redacted(token):
        return False
    has_digit = any(ch.isdigit() for ch in token)
    has_alpha = any(ch.isalpha() for ch in token)
    return len(token) >= 12 and has_digit and has_alpha


def _is_placeholder_key(key: str) -> bool:
    # "nvapi-REDACTED" and "nvapi-xxxxxxxxxxxx" are what people write in docs and redacted captures.
    body = key.split("-", 1)[1].lower()
    return "redacted" in body or set(body) <= {"x", "-", "_"}


def secret_in_text(text: str) -> str | None:
    """The kind of the first credential found in ``text``, or ``None``."""
    for found in SECRET_PATTERN.finditer(text):
        kind = found.lastgroup
        if kind == "token":  # the inner group of a bearer match is reported as the bearer kind
            kind = "bearer"
        if kind == "bearer" and not _bearer_token_is_real(found.group("token")):
            continue
        if kind != "bearer" and _is_placeholder_key(found.group(0)):
            continue
        return _KINDS[kind or "bearer"]
    return None


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _walk(value: object, path: str) -> Iterator[tuple[str, str]]:
    """Yield (json-path, kind) for every secret, depth first, in document order."""
    if isinstance(value, str):
        kind = secret_in_text(value)
        if kind is not None:
            yield path, kind
    elif isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            item_path = _key_path(path, key_text)
            kind = secret_in_text(key_text)
            if kind is not None:
                yield item_path, kind
            if key_text.lower() in SENSITIVE_HEADERS and isinstance(item, str) and not is_redacted(item):
                yield item_path, f"{key_text.lower()} header"
            yield from _walk(item, item_path)
    elif isinstance(value, list | tuple):
        # Response headers are stored as [name, value] pairs: the name makes the value sensitive.
        if (
            len(value) == 2
            and isinstance(value[0], str)
            and isinstance(value[1], str)
            and value[0].lower() in SENSITIVE_HEADERS
            and not is_redacted(value[1])
        ):
            yield f"{path}[1]", f"{value[0].lower()} header"
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def find_secret(value: object, path: str = "") -> tuple[str, str] | None:
    """The JSON path and kind of the first secret in a decoded JSON structure, or ``None``.

    Paths use the cassette error notation: ``interactions[0].request.headers.authorization``.
    ``path`` is the prefix for ``value`` itself (empty for a whole document).
    """
    if not _may_hold_secret(value):
        return None
    return next(_walk(value, path), None)


_MARKERS: Final = ("nvapi-", "sk-", "bearer", *SENSITIVE_HEADERS)


def _may_hold_secret(value: object) -> bool:
    """A cheap screen: no secret without one of these words, and one C-speed dump finds them all.

    Walking every string of a big cassette through the regex dominated loading 500 cassettes; almost
    none contains a marker, so the walk (which finds the path) only runs for the few that do. JSON
    escaping never touches the markers' letters and dashes, so the screen cannot hide one.
    """
    try:
        text = json.dumps(value, ensure_ascii=False).lower()
    except (TypeError, ValueError, RecursionError):
        return True  # not plain JSON: let the walk decide
    return any(marker in text for marker in _MARKERS)
