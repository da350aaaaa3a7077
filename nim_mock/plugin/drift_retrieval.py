"""Drift for embeddings and rankings: what the shape comparison cannot see in their answers.

``drift.compare_shape`` already reports a changed status, layout or key type. For a retrieval
answer the values matter too, because they are what an index was built from:

- embeddings: the number of vectors and their **dimension** (a vector store fixes it when the
  index is created: a new dimension breaks every stored index), and, for the same texts, the
  **cosine similarity** of each live vector with its recorded one. Embedding models are
  deterministic up to float noise, so a similarity below :data:`COSINE_FLOOR` means another model
  or model version, whose vectors cannot be mixed with the recorded ones;
- rankings: the **order** of the passages (what a reranker is for). Logits are left alone: a new
  model version shifts them without changing which passage wins.

Pure: two ``Interaction`` objects in, sentences out (empty when nothing drifted).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from collections.abc import Sequence
from typing import Any, Final

from nim_mock.cassette import Interaction, RecordedResponse
from nim_mock.plugin.modes import service_of

__all__ = ["COSINE_FLOOR", "retrieval_differences"]

COSINE_FLOOR: Final = 0.99
"""The least cosine similarity of a live vector with the recorded one for the same text."""


def _answer(response: RecordedResponse) -> dict[str, Any] | None:
    if response.status != 200 or response.streamed:
        return None
    try:
        payload = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _vector(value: object) -> list[float] | None:
    if isinstance(value, list) and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        return [float(x) for x in value]
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) % 4 == 0:
            return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return None


def _vectors(answer: dict[str, Any]) -> list[list[float]] | None:
    """The vectors of an embeddings answer in input order; ``None`` when it does not hold them."""
    data = answer.get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        return None
    ordered = sorted(data, key=lambda item: item.get("index") if isinstance(item.get("index"), int) else 0)
    vectors = [_vector(item.get("embedding")) for item in ordered]
    return None if any(vector is None for vector in vectors) else [v for v in vectors if v is not None]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norms if norms else 0.0


def _dimensions(vectors: list[list[float]]) -> str:
    sizes = sorted({len(vector) for vector in vectors})
    return "/".join(map(str, sizes)) or "-"


def _embedding_differences(recorded: Interaction, live: Interaction) -> list[str]:
    old = _answer(recorded.response)
    new = _answer(live.response)
    old_vectors = _vectors(old) if old is not None else None
    new_vectors = _vectors(new) if new is not None else None
    if old_vectors is None or new_vectors is None:
        return []  # nothing to compare beyond the shape (an error, or a body the shape check reports)
    if len(old_vectors) != len(new_vectors) or _dimensions(old_vectors) != _dimensions(new_vectors):
        return [
            f"embeddings: recorded {len(old_vectors)} vector(s) of dimension {_dimensions(old_vectors)}, "
            f"live {len(new_vectors)} of dimension {_dimensions(new_vectors)}"
        ]
    if _inputs(recorded) != _inputs(live):
        return []  # other texts: their vectors are not meant to agree
    out = []
    for index, (a, b) in enumerate(zip(old_vectors, new_vectors, strict=True)):
        similarity = _cosine(a, b)
        if similarity < COSINE_FLOOR:
            out.append(
                f"embeddings: vector {index} has cosine similarity {similarity:.3f} with the recorded one "
                f"(below {COSINE_FLOOR}): another model or model version answered"
            )
    return out


def _inputs(interaction: Interaction) -> object:
    body = interaction.request.body
    return body.get("input") if isinstance(body, dict) else None


def _order(answer: dict[str, Any] | None) -> list[object] | None:
    rankings = answer.get("rankings") if answer is not None else None
    if not isinstance(rankings, list) or not all(isinstance(entry, dict) for entry in rankings):
        return None
    return [entry.get("index") for entry in rankings]


def _ranking_differences(recorded: Interaction, live: Interaction) -> list[str]:
    old, new = _order(_answer(recorded.response)), _order(_answer(live.response))
    if old is None or new is None or old == new:
        return []
    return [f"rankings: recorded passage order {old}, live {new}"]


def retrieval_differences(recorded: Interaction, live: Interaction) -> list[str]:
    """Value-level drift of an embeddings or ranking answer; nothing for any other request."""
    service = service_of(live.request.path)
    if service == "embeddings":
        return _embedding_differences(recorded, live)
    if service == "ranking":
        return _ranking_differences(recorded, live)
    return []
