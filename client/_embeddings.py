"""``NVIDIAEmbeddings``: LangChain's ``Embeddings`` for NVIDIA NIM, on ChatNVIDIA's HTTP path.

A drop-in for the published ``langchain_nvidia_ai_endpoints.NVIDIAEmbeddings``: the same
constructor arguments (``model``, ``nvidia_api_key``/``api_key``, ``base_url``/``nvidia_base_url``,
``truncate`` and its published misspelling ``trucate``, ``dimensions``, ``max_batch_size``,
``default_headers``, ``verify_ssl``), the same default model on the hosted API, the same
per-model hosted endpoints and the same request body. ``embed_documents`` sends ``input_type:
passage`` and ``embed_query`` ``input_type: query``, as NeMo Retriever models need to tell
the two apart; ``model_type`` fixes one for both. README.md's compatibility table lists where we
differ on purpose.

Building the body and reading the answer are pure functions (:func:`embedding_payload`,
:func:`parse_embeddings`), so the sync and async methods cannot disagree and tests call them
directly.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from langchain_core.embeddings import Embeddings
from pydantic import Field

from ._catalogue import default_batch_size
from ._errors import ResponseFormatError
from ._service import NIMService, batched, is_index

__all__ = ["NVIDIAEmbeddings", "embedding_payload", "parse_embeddings"]

InputType = Literal["passage", "query"]
EncodingFormat = Literal["float", "base64"]
Truncate = Literal["NONE", "START", "END"]

_CLIENT = "NVIDIAEmbeddings"


def embedding_payload(
    texts: Sequence[str],
    *,
    model: str,
    input_type: InputType,
    truncate: Truncate | None,
    dimensions: int | None,
    encoding_format: EncodingFormat,
) -> dict[str, Any]:
    """The ``POST /v1/embeddings`` body, field for field what the published client sends."""
    payload: dict[str, Any] = {
        "input": list(texts),
        "model": model,
        "encoding_format": encoding_format,
        "input_type": input_type,
    }
    if truncate:
        payload["truncate"] = truncate
    if dimensions is not None:
        payload["dimensions"] = dimensions
    return payload


def _vector(value: object, position: int) -> list[float]:
    """One embedding as floats: a JSON list of numbers, or base64 of little-endian float32s."""
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b"\0"  # not base64: reported below with the rest of the bad shapes
        if len(raw) % 4 == 0:
            return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    elif isinstance(value, list) and all(
        isinstance(number, int | float) and not isinstance(number, bool) for number in value
    ):
        return [float(number) for number in value]
    raise ResponseFormatError(
        f"embedding {position} of the answer is neither a list of numbers nor base64 float32 data "
        f"(got {type(value).__name__})"
    )


def parse_embeddings(answer: Mapping[str, Any], count: int) -> list[list[float]]:
    """The vectors of an embeddings answer, in input order (``data`` is sorted by ``index``).

    Raises ``ResponseFormatError`` unless the answer holds exactly one embedding for each of the
    ``count`` inputs: a vector missing, doubled or out of range would silently pair texts with
    the wrong vectors.
    """
    data = answer.get("data")
    if not isinstance(data, list):
        raise ResponseFormatError(
            f"the embeddings answer has no 'data' list (got keys {sorted(answer)}); is base_url an "
            "embedding NIM?"
        )
    vectors: dict[int, list[float]] = {}
    for position, item in enumerate(data):
        index = item.get("index") if isinstance(item, Mapping) else None
        if not is_index(index, count) or index in vectors:
            raise ResponseFormatError(
                f"entry {position} of the embeddings answer has index {index!r}; expected each of "
                f"0..{count - 1} once, for the {count} inputs sent"
            )
        vectors[index] = _vector(item.get("embedding"), position)
    if len(vectors) != count:
        raise ResponseFormatError(f"the embeddings answer holds {len(vectors)} vectors for {count} inputs")
    return [vectors[index] for index in range(count)]


def _texts(texts: object) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise ValueError(f"`texts` must be a list of strings, given: {texts!r}")
    if not all(isinstance(text, str) for text in texts):
        raise ValueError(f"`texts` must be a list of strings, given: {texts!r}")
    return list(texts)


def _text(text: object) -> str:
    if not isinstance(text, str):
        raise ValueError(f"embed_query takes one string, given: {text!r}")
    return text


class NVIDIAEmbeddings(NIMService, Embeddings):
    """Embeddings from an NVIDIA NIM or the hosted NVIDIA API catalogue.

    >>> embedder = NVIDIAEmbeddings(model="nvidia/nv-embedqa-e5-v5", base_url="http://localhost:8000/v1")

    ``embed_documents`` sends ``max_batch_size`` texts per request, in order, one request after
    the other; the vectors come back in the order of the texts.
    """

    client_name: ClassVar[str] = _CLIENT
    endpoint_path: ClassVar[str] = "embeddings"
    published_spellings: ClassVar[Mapping[str, str]] = {"trucate": "truncate"}

    truncate: Truncate = "NONE"
    """What the server does with an input longer than the model takes: ``NONE`` refuses it (a 400),
    ``START``/``END`` cut tokens from that end."""
    dimensions: int | None = Field(default=None, gt=0)
    """Ask for shorter vectors (only models trained for it, such as llama-3.2-nv-embedqa-1b-v2)."""
    max_batch_size: int = Field(default=default_batch_size(_CLIENT), ge=1)
    """Texts per request in ``embed_documents``; 50 is what the hosted API accepts."""
    model_type: InputType | None = None
    """Send this ``input_type`` for queries and documents alike; ``None`` (the default) sends
    ``query`` from ``embed_query`` and ``passage`` from ``embed_documents``."""
    encoding_format: EncodingFormat = "float"
    """How vectors travel: JSON numbers, or ``base64`` (float32: about a quarter of the bytes of a
    dense vector as JSON); either way the methods return lists of floats."""

    def _payload(self, texts: Sequence[str], model: str, input_type: InputType) -> dict[str, Any]:
        return embedding_payload(
            texts,
            model=model,
            input_type=self.model_type or input_type,
            truncate=self.truncate,
            dimensions=self.dimensions,
            encoding_format=self.encoding_format,
        )

    def _embed(self, texts: list[str], input_type: InputType) -> list[list[float]]:
        if not texts:
            return []
        model = self._model_name()
        vectors: list[list[float]] = []
        for batch in batched(texts, self.max_batch_size):
            answer = self._post(model, self._payload(batch, model, input_type))
            vectors.extend(parse_embeddings(answer, len(batch)))
        return vectors

    async def _aembed(self, texts: list[str], input_type: InputType) -> list[list[float]]:
        if not texts:
            return []
        model = await self._amodel_name()
        vectors: list[list[float]] = []
        for batch in batched(texts, self.max_batch_size):
            answer = await self._apost(model, self._payload(batch, model, input_type))
            vectors.extend(parse_embeddings(answer, len(batch)))
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text (``input_type: passage``), in order; no request for no texts."""
        return self._embed(_texts(texts), "passage")

    def embed_query(self, text: str) -> list[float]:
        """The vector of one search query (``input_type: query``)."""
        return self._embed([_text(text)], "query")[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """The async twin of :meth:`embed_documents`."""
        return await self._aembed(_texts(texts), "passage")

    async def aembed_query(self, text: str) -> list[float]:
        """The async twin of :meth:`embed_query`."""
        return (await self._aembed([_text(text)], "query"))[0]
