"""The retrieval routes a mock NIM answers: embeddings and reranking, self-hosted and hosted paths.

A self-hosted embedding or reranking NIM serves ``POST /v1/embeddings`` or ``POST /v1/ranking``;
the hosted catalogue serves the same bodies under ``ai.api.nvidia.com``: ``/v1/retrieval/nvidia/
embeddings``, ``/v1/retrieval/nvidia/reranking``, and one path per reranking model such as
``/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking`` (langchain-nvidia-ai-endpoints 1.5.0,
``_statics.py`` ``endpoint=``). Each route is matched against the cassettes like chat is; only a
miss on a mock that synthesizes reaches :func:`synthesize_retrieval`.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from nim_mock.cassette import RecordedResponse
from nim_mock.wire.errors import Problem

__all__ = [
    "EMBEDDINGS",
    "HOSTED_EMBEDDINGS",
    "HOSTED_MODEL_RERANKING",
    "HOSTED_RERANKING",
    "RANKING",
    "RETRIEVAL_ROUTES",
    "RetrievalKind",
    "synthesize_retrieval",
]

RetrievalKind = Literal["embeddings", "ranking"]

EMBEDDINGS: Final = "/v1/embeddings"
RANKING: Final = "/v1/ranking"
HOSTED_EMBEDDINGS: Final = "/v1/retrieval/nvidia/embeddings"
HOSTED_RERANKING: Final = "/v1/retrieval/nvidia/reranking"
HOSTED_MODEL_RERANKING: Final = "/v1/retrieval/{org}/{model}/reranking"
"""A route template: the request's ``route`` (its metrics label) is this template, never the model's path."""

RETRIEVAL_ROUTES: dict[str, RetrievalKind] = {
    EMBEDDINGS: "embeddings",
    RANKING: "ranking",
    HOSTED_EMBEDDINGS: "embeddings",
    HOSTED_RERANKING: "ranking",
    HOSTED_MODEL_RERANKING: "ranking",
}


def synthesize_retrieval(route: str, body: dict[str, Any]) -> RecordedResponse | Problem:
    """The stand-in's answer to a checked JSON object sent to one of :data:`RETRIEVAL_ROUTES`.

    The synthesis modules load with the first retrieval miss, as the chat engine does."""
    if RETRIEVAL_ROUTES[route] == "embeddings":
        from nim_mock.synth.embed import synthesize_embeddings

        return synthesize_embeddings(body)
    from nim_mock.synth.rank import synthesize_ranking

    return synthesize_ranking(body)
