"""Shared helpers for the NVIDIAEmbeddings / NVIDIARerank tests: answers, and clients on a respx router.

As in ``chat_fakes``, nothing is patched: every client gets ``http_client``/``http_async_client``
built on ``httpx.MockTransport(router.handler)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
import respx
from chat_fakes import BASE
from nim_harness import NVIDIAEmbeddings, NVIDIARerank

EMBED_MODEL = "nvidia/nv-embedqa-e5-v5"
RERANK_MODEL = "nvidia/llama-3.2-nv-rerankqa-1b-v2"

__all__ = [
    "BASE",
    "EMBED_MODEL",
    "RERANK_MODEL",
    "embedder",
    "embeddings_answer",
    "ranker",
    "rankings_answer",
    "text_vector",
    "vector_from_request",
]


def _clients(mock: respx.MockRouter) -> dict[str, Any]:
    transport = httpx.MockTransport(mock.handler)
    return {
        "http_client": httpx.Client(transport=transport),
        "http_async_client": httpx.AsyncClient(transport=transport),
    }


def embedder(mock: respx.MockRouter, **kwargs: Any) -> NVIDIAEmbeddings:
    kwargs.setdefault("model", EMBED_MODEL)
    kwargs.setdefault("api_key", None)
    kwargs.setdefault("base_url", BASE)
    return NVIDIAEmbeddings(**_clients(mock), **kwargs)


def ranker(mock: respx.MockRouter, **kwargs: Any) -> NVIDIARerank:
    kwargs.setdefault("model", RERANK_MODEL)
    kwargs.setdefault("api_key", None)
    kwargs.setdefault("base_url", BASE)
    return NVIDIARerank(**_clients(mock), **kwargs)


def text_vector(text: str) -> list[float]:
    """A vector that identifies its text (length and code point sum), so order mix-ups show."""
    return [float(len(text)), float(sum(map(ord, text)))]


def embeddings_answer(vectors: Sequence[Sequence[float]], *, reverse: bool = False) -> dict[str, Any]:
    data = [{"index": i, "embedding": list(v), "object": "embedding"} for i, v in enumerate(vectors)]
    return {
        "object": "list",
        "data": data[::-1] if reverse else data,
        "model": EMBED_MODEL,
        "usage": {"prompt_tokens": 3, "total_tokens": 3},
    }


def vector_from_request(request: httpx.Request) -> httpx.Response:
    """A respx side effect: embeds each input with :func:`text_vector`, answered in reverse order."""
    texts = json.loads(request.content)["input"]
    return httpx.Response(200, json=embeddings_answer([text_vector(t) for t in texts], reverse=True))


def rankings_answer(logits: Sequence[float]) -> dict[str, Any]:
    """Rankings of passages ``0..n-1`` with these logits, sorted best first as a NIM sends them."""
    order = sorted(range(len(logits)), key=lambda i: logits[i], reverse=True)
    return {"rankings": [{"index": i, "logit": logits[i]} for i in order]}
