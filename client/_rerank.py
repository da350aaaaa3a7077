"""``NVIDIARerank``: LangChain's ``BaseDocumentCompressor`` on a NIM reranking model.

A drop-in for the published ``langchain_nvidia_ai_endpoints.NVIDIARerank``: the same constructor
arguments (``model``, ``nvidia_api_key``/``api_key``, ``base_url``/``nvidia_base_url``,
``top_n``, ``truncate``, ``max_batch_size``, ``default_headers`` and the deprecated
``extra_headers``), the same default model and per-model hosted endpoints
(``https://ai.api.nvidia.com/v1/retrieval/nvidia/.../reranking``), the same request body, and the
same result: the ``top_n`` most relevant documents, best first, each a copy carrying the model's
logit as ``metadata["relevance_score"]``. Documents with ``metadata["image"]`` (an http(s) or
``data:image`` URL) are sent with their image, for the vision rerankers.

More documents than ``max_batch_size`` are ranked batch by batch and the results merged by
score. Building the body, checking the answer and merging are pure functions
(:func:`ranking_payload`, :func:`parse_rankings`, :func:`top_documents`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from langchain_core.callbacks import Callbacks
from langchain_core.documents import Document
from langchain_core.documents.compressor import BaseDocumentCompressor
from pydantic import Field

from ._catalogue import default_batch_size, lookup
from ._errors import ResponseFormatError
from ._service import NIMService, batched, is_index
from ._warnings import warn_user

__all__ = ["NVIDIARerank", "parse_rankings", "ranking_payload", "top_documents"]

_CLIENT = "NVIDIARerank"
_VISION_TYPE = "ranking-vlm"


def _passage(document: Document) -> dict[str, Any]:
    passage: dict[str, Any] = {"text": document.page_content}
    image = document.metadata.get("image")
    if image:
        if not isinstance(image, str) or not image.lower().startswith(("http://", "https://", "data:image")):
            raise ValueError(
                f"metadata['image'] of a document must be an http(s) URL or a data:image/...;base64 URI, "
                f"got {str(image)[:60]!r}; read a local file yourself and pass it as a data URI"
            )
        passage["image"] = image
    return passage


def ranking_payload(
    query: str, documents: Sequence[Document], *, model: str, truncate: str | None
) -> dict[str, Any]:
    """The ``POST /v1/ranking`` body, field for field what the published client sends."""
    payload: dict[str, Any] = {
        "model": model,
        "query": {"text": query},
        "passages": [_passage(document) for document in documents],
    }
    if truncate:
        payload["truncate"] = truncate
    return payload


def parse_rankings(answer: Mapping[str, Any], count: int) -> list[tuple[int, float]]:
    """``(index, logit)`` pairs of a ranking answer, checked against the ``count`` passages sent.

    Raises ``ResponseFormatError`` for an answer without a ``rankings`` list, or with an entry
    whose index is not one of the passages (it would pick a document that was never ranked).
    """
    rankings = answer.get("rankings")
    if not isinstance(rankings, list):
        raise ResponseFormatError(
            f"the ranking answer has no 'rankings' list (got keys {sorted(answer)}); is base_url a "
            "reranking NIM?"
        )
    pairs: list[tuple[int, float]] = []
    for position, entry in enumerate(rankings):
        index = entry.get("index") if isinstance(entry, Mapping) else None
        logit = entry.get("logit") if isinstance(entry, Mapping) else None
        if not is_index(index, count):
            raise ResponseFormatError(
                f"ranking {position} of the answer has index {index!r}, not one of the {count} passages sent"
            )
        if not isinstance(logit, int | float) or isinstance(logit, bool):
            raise ResponseFormatError(f"ranking {position} of the answer has no numeric logit: {logit!r}")
        pairs.append((index, float(logit)))
    return pairs


def top_documents(scored: Iterable[tuple[Document, float]], top_n: int) -> list[Document]:
    """The ``top_n`` best-scored documents, best first (ties keep their order), each a copy with
    ``metadata["relevance_score"]``; the documents passed in are not changed."""
    ranked = sorted(scored, key=lambda pair: pair[1], reverse=True)[:top_n]
    return [
        document.model_copy(update={"metadata": {**document.metadata, "relevance_score": score}})
        for document, score in ranked
    ]


def _query(query: object) -> str:
    if not isinstance(query, str):
        raise ValueError(f"query must be a string, given: {query!r}")
    return query


class NVIDIARerank(NIMService, BaseDocumentCompressor):
    """Reorder documents by their relevance to a query, with an NVIDIA NIM reranking model.

    >>> ranker = NVIDIARerank(model="nvidia/llama-3.2-nv-rerankqa-1b-v2", base_url="http://localhost:8000/v1")
    >>> best = ranker.compress_documents(documents, query="What is NIM?")
    """

    client_name: ClassVar[str] = _CLIENT
    endpoint_path: ClassVar[str] = "ranking"

    top_n: int = Field(default=5, ge=0)
    """How many documents to return (0 returns none, without a request)."""
    truncate: Literal["NONE", "END"] | None = None
    """``END`` cuts passages the model cannot take whole; ``NONE`` refuses them; unset leaves it
    to the server (most NIMs refuse)."""
    max_batch_size: int = Field(default=default_batch_size(_CLIENT), ge=1)
    """Passages per request; more documents are ranked in several requests and merged by score."""
    extra_headers: dict[str, str] = Field(default_factory=dict)
    """Deprecated spelling of ``default_headers``, used when that is empty (with a warning)."""

    def model_post_init(self, context: Any, /) -> None:
        if self.extra_headers and not self.default_headers:
            warnings.warn(
                "NVIDIARerank(extra_headers=...) is deprecated: pass default_headers=... instead",
                DeprecationWarning,
                stacklevel=2,
            )
            self.default_headers = dict(self.extra_headers)
        super().model_post_init(context)

    def _payload(self, query: str, documents: Sequence[Document], model: str) -> dict[str, Any]:
        payload = ranking_payload(query, documents, model=model, truncate=self.truncate)
        entry = lookup(model)
        has_image = any("image" in passage for passage in payload["passages"])
        if has_image and entry is not None and entry.model_type != _VISION_TYPE:
            warn_user(
                f"documents carry metadata['image'], but the reranking model {model!r} is not known to "
                f"take images; use a {_VISION_TYPE} model such as nvidia/llama-nemotron-rerank-vl-1b-v2"
            )
        return payload

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """The ``top_n`` documents most relevant to ``query``, best first, with their scores."""
        query = _query(query)
        if not documents or self.top_n < 1:
            return []
        model = self._model_name()
        scored: list[tuple[Document, float]] = []
        for batch in batched(documents, self.max_batch_size):
            answer = self._post(model, self._payload(query, batch, model))
            scored.extend((batch[index], logit) for index, logit in parse_rankings(answer, len(batch)))
        return top_documents(scored, self.top_n)

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """The async twin of :meth:`compress_documents`."""
        query = _query(query)
        if not documents or self.top_n < 1:
            return []
        model = await self._amodel_name()
        scored: list[tuple[Document, float]] = []
        for batch in batched(documents, self.max_batch_size):
            answer = await self._apost(model, self._payload(query, batch, model))
            scored.extend((batch[index], logit) for index, logit in parse_rankings(answer, len(batch)))
        return top_documents(scored, self.top_n)
