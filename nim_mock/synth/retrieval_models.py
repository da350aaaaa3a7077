"""The embedding and reranking models a stand-in NIM knows: their real sizes and limits.

A stand-in vector is only useful to a client if it has the length the real model's has (vector
stores fix the dimension when an index is created) and if the stand-in refuses what the real model
refuses: a missing ``input_type`` on an asymmetric model, ``dimensions`` on a model without dynamic
embedding sizes, an input over the model's token limit with ``truncate: NONE``.

Sources (embedding): the support matrices of NeMo Retriever Text Embedding NIM 1.5.0 and
Embedding NIM 2.2.0 (docs.nvidia.com/nim/nemo-retriever/text-embedding/<version>/support-matrix.html:
model id, max tokens, embedding dimension, "dynamic embeddings supported"); the NIM API reference
("NV-Embed-QA and E5 models operate in passage or query mode, and thus require the input_type
parameter"); public 400 captures of ``'input_type' parameter is required for asymmetric models`` for
nv-embedqa-e5-v5 and llama-nemotron-embed-1b-v2. Dynamic sizes run from 384 to the full dimension.
Sources (ranking): the ids and hosted endpoints of langchain-nvidia-ai-endpoints 1.5.0
(``_statics.py`` ``RANKING_MODEL_TABLE``), token limits from the reranking NIM support matrix.

``max_batch`` (inputs per embedding request) and ``max_passages`` (passages per ranking request) are
the mock's documented caps, not read from a NIM: a NIM's batch limit depends on its deployment
profile. 50 is the batch langchain-nvidia-ai-endpoints' ``NVIDIAEmbeddings`` sends at most.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "EMBEDDING_MODELS",
    "MIN_DYNAMIC_DIMENSION",
    "RANKING_MODELS",
    "RETRIEVAL_MODEL_IDS",
    "EmbeddingModel",
    "RankingModel",
]

MIN_DYNAMIC_DIMENSION = 384
"""The smallest ``dimensions`` a model with dynamic embedding sizes accepts."""


@dataclass(frozen=True, slots=True)
class EmbeddingModel:
    """One embedding model: vector length, token limit per input, and what requests it accepts."""

    id: str
    dimension: int
    max_tokens: int
    input_type_required: bool
    dynamic_dimensions: bool = False
    max_batch: int = 50

    def accepts_dimensions(self, dimensions: int) -> bool:
        return self.dynamic_dimensions and MIN_DYNAMIC_DIMENSION <= dimensions <= self.dimension


@dataclass(frozen=True, slots=True)
class RankingModel:
    """One reranking model: the token limit of a query and passage together, and the passages per request."""

    id: str
    max_tokens: int
    max_passages: int = 512


def _by_id(*models: EmbeddingModel) -> dict[str, EmbeddingModel]:
    return {model.id: model for model in models}


EMBEDDING_MODELS: dict[str, EmbeddingModel] = _by_id(
    EmbeddingModel("nvidia/nv-embedqa-e5-v5", 1024, 512, input_type_required=True),
    EmbeddingModel("NV-Embed-QA", 1024, 512, input_type_required=True),
    EmbeddingModel("nvidia/nv-embedqa-mistral-7b-v2", 4096, 512, input_type_required=True),
    EmbeddingModel("nvidia/nv-embed-v1", 4096, 4096, input_type_required=False),
    EmbeddingModel(
        "nvidia/llama-3.2-nv-embedqa-1b-v2", 2048, 8192, input_type_required=True, dynamic_dimensions=True
    ),
    EmbeddingModel(
        "nvidia/llama-nemotron-embed-1b-v2", 2048, 8192, input_type_required=True, dynamic_dimensions=True
    ),
    EmbeddingModel("nvidia/nemotron-3-embed-1b", 2048, 4096, input_type_required=False),
    EmbeddingModel("snowflake/arctic-embed-l", 1024, 512, input_type_required=False),
    EmbeddingModel("baai/bge-m3", 1024, 8192, input_type_required=False),
    EmbeddingModel("baai/bge-large-zh-v1.5", 1024, 512, input_type_required=False),
)

RANKING_MODELS: dict[str, RankingModel] = {
    model.id: model
    for model in (
        RankingModel("nvidia/llama-nemotron-rerank-1b-v2", 8192),
        RankingModel("nvidia/llama-3.2-nv-rerankqa-1b-v2", 8192),
        RankingModel("nvidia/llama-3.2-nv-rerankqa-1b-v1", 512),
        RankingModel("nvidia/nv-rerankqa-mistral-4b-v3", 512),
        RankingModel("nv-rerank-qa-mistral-4b:1", 512),
    )
}

RETRIEVAL_MODEL_IDS: tuple[str, ...] = (*EMBEDDING_MODELS, *RANKING_MODELS)
"""What a stand-in's ``GET /v1/models`` lists besides the chat catalogue."""
