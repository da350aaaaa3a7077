"""The mock's tokenizer: a word, a number or one punctuation mark, each with the spaces before it.

Synthesized answers need token counts (``usage``), a place to cut for ``max_tokens``, and
token-sized stream events. A real tokenizer is model-specific and heavy; this one is documented,
deterministic and round-trips: ``"".join(tokens(text)) == text`` for every string, so a stream
reassembles to exactly the non-streamed content. Rules:

- a token is a run of up to 16 whitespace characters followed by up to 16 word characters
  (``\\w``) or by a single other character (``,``, ``{``, ``"``, an emoji...);
- a longer run of whitespace gives whitespace-only tokens of 16 until what is left fits;
- whitespace at the very end of the text joins the last token (or is one token on its own).

Tokens are bounded (at most :data:`MAX_TOKEN_CHARS` characters) as a real vocabulary's are, so
``max_tokens`` bounds how much text an answer can hold: a 1,000,000-character word is 62,500
tokens here, as it would be many thousands for a real model, never one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MAX_TOKEN_CHARS", "count_prompt_tokens", "count_tokens", "tokens"]

_RUN = 16
_TOKEN = re.compile(rf"\s{{0,{_RUN}}}(?:\w{{1,{_RUN}}}|[^\w\s])|\s{{{_RUN}}}(?=\s)", re.UNICODE)
MAX_TOKEN_CHARS = 3 * _RUN
"""The longest a token can be: whitespace and a word of 16 each, and, for the last token, up to
16 characters of trailing whitespace."""
_MESSAGE_OVERHEAD = 3
"""Tokens a chat template spends per message on role markers (documented, not model-exact)."""


def tokens(text: str) -> list[str]:
    """Split ``text`` into tokens whose concatenation is exactly ``text``."""
    found = _TOKEN.findall(text)
    consumed = sum(len(t) for t in found)
    if consumed < len(text):  # only trailing whitespace is left over
        tail = text[consumed:]
        if found:
            found[-1] += tail
        else:
            found.append(tail)
    return found


def count_tokens(text: str) -> int:
    return len(tokens(text))


def count_prompt_tokens(messages: Iterable[Any]) -> int:
    """Prompt tokens of a chat request: each message's text (and tool calls) plus a fixed overhead."""
    total = 0
    for message in messages:
        total += _MESSAGE_OVERHEAD
        if isinstance(message, dict):
            total += count_tokens(_message_text(message))
    return total


def _message_text(message: dict[str, Any]) -> str:
    parts: list[str] = []
    content = message.get("content")
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):  # OpenAI content parts: count the text ones
        parts.extend(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            parts.extend(str(function.get(key, "")) for key in ("name", "arguments"))
    return " ".join(parts)
