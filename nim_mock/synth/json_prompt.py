"""What JSON mode answers: an object shaped the way the prompt asks, as a model would follow it.

``response_format: {"type": "json_object"}`` only says "JSON"; the shape is in the words. The
system and then the last user message are read (their first 65,536 characters), in that order, for:

1. a JSON schema written out (an object with ``properties``, ``type: "object"``, ``$schema`` or
   ``$defs``): an instance of it (one the mock cannot make an instance of is read past);
2. a JSON example (any other object written out): the example itself, a reply in its shape;
3. keys the text names in quotes in a sentence about keys, fields or properties ("Return a JSON
   with 'setup' and 'punchline' keys"): an object with those keys, string values.

Nothing found: ``None``, and the caller answers ``{"response": <reply>}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any, Final

from nim_mock.synth.budget import Budget, SchemaUnsupported
from nim_mock.synth.schema import instance_for

__all__ = ["object_for_prompt"]

_MAX_TEXT_CHARS: Final = 65_536
"""How much of each message is read for a shape: a schema or an example is written near the start."""
_MAX_OBJECT_STARTS: Final = 64
"""``{`` tried as the start of a JSON object per text: enough for any prompt, bounded for any body."""
_SCHEMA_KEYS: Final = frozenset({"properties", "$schema", "$defs", "definitions"})
_ABOUT_KEYS: Final = re.compile(r"\b(?:keys?|fields?|propert(?:y|ies)|attributes?)\b", re.IGNORECASE)
_QUOTED_KEY: Final = re.compile(r"['\"`‘“]([A-Za-z_][\w\- ]{0,40})['\"`’”]")
_SENTENCE: Final = re.compile(r"[^.!?\n]+")


def object_for_prompt(texts: Sequence[str], budget: Budget) -> Any:
    """The object the first text that shows a shape asks for, or ``None`` when none does."""
    texts = [text[:_MAX_TEXT_CHARS] for text in texts]
    for text in texts:
        for found in _objects(text):
            if not (_SCHEMA_KEYS & found.keys() or found.get("type") == "object"):
                return found
            try:
                return instance_for(found, name="response", budget=budget)
            except SchemaUnsupported:
                continue  # text that looks like a schema but is none: read on
    for text in texts:
        keys = _named_keys(text)
        if keys:
            schema = {"type": "object", "properties": {k: {"type": "string"} for k in keys}, "required": keys}
            return instance_for(schema, name="response", budget=budget)
    return None


def _objects(text: str) -> Iterator[dict[str, Any]]:
    decoder = json.JSONDecoder()
    start = text.find("{")
    tries = 0
    while start >= 0 and tries < _MAX_OBJECT_STARTS:
        tries += 1
        try:
            found, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            start = text.find("{", start + 1)
            continue
        if isinstance(found, dict) and found:
            yield found
        start = text.find("{", end)


def _named_keys(text: str) -> list[str]:
    for sentence in _SENTENCE.findall(text):
        if _ABOUT_KEYS.search(sentence):
            keys = list(dict.fromkeys(m.group(1) for m in _QUOTED_KEY.finditer(sentence)))
            if keys:
                return keys
    return []
