"""Embeddings: NVIDIAEmbeddings against a NIM embedding endpoint, in mock, record and live mode.

What is checked holds for any embedding model: one finite vector per text, every vector of the
same dimension, equal texts embedded (nearly) equally, a query closer to the passage that answers
it than to an unrelated one, ``dimensions`` and ``base64`` honoured, an input over the model's
limit refused with ``truncate=NONE``. Values are never compared with a recording. A real server
that lacks one of these (no ``dimensions``, no ``truncate``, a model without semantic similarity)
skips that check, saying so (``contract_checks.require``).

Live against vLLM (``--runner pooling --convert embed`` on ``../shared/live-target-vllm``'s tiny
model, served as ``nvidia/nv-embedqa-e5-v5``): vectors, batches and base64 pass; ``dimensions``
(no Matryoshka), ``truncate=END`` (vLLM ignores NIM's ``truncate``) and the similarity check
(an untrained embedding) skip with vLLM's reasons.

Live and record runs need the model to ask for: ``NIM_EMBED_MODEL`` (or
``--nim-harness-embed-model``); without it they skip, saying so. The cassettes under
``cassettes/retrieval-contract/`` were recorded by this suite (``--nim-mode=record``) from the nim-mock
stand-in (``nim-mock serve --on-miss synthesize``), which follows NeMo Retriever's embedding NIM.
"""

from __future__ import annotations

import math

import pytest
from contract_checks import require
from nim_harness import BadRequestError

PASSAGES = [
    "The H100 SXM GPU delivers 3.35 terabytes per second of memory bandwidth.",
    "Banana bread needs ripe bananas, flour, butter, sugar and an hour in the oven.",
    "NVIDIA NIM packages optimized inference engines behind an OpenAI-compatible API.",
]
QUERY = "How much memory bandwidth does an H100 have?"
OTHER_QUERY = "Which GPU moves data out of its memory fastest?"


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def require_closer_to_the_answer(query: list[float], documents: list[list[float]], mode: str) -> None:
    """The query lands closer to the passage that answers it than to an unrelated one.

    Every trained embedding model does this, and the cassettes recorded one that does; a live
    server whose model does not (vLLM's tiny test model, converted from a chat model) skips,
    quoting the similarities, once the shapes above have been checked."""
    answer, unrelated = cosine(query, documents[0]), cosine(query, documents[1])
    require(
        answer > unrelated,
        mode,
        f"places the query no closer to its answer than to an unrelated passage (cosine {answer:.3f} vs "
        f"{unrelated:.3f}): its model has no semantic similarity",
    )


def assert_vectors(vectors: list[list[float]], count: int) -> int:
    """``count`` non-zero vectors of finite floats, all of one dimension; returns the dimension."""
    assert len(vectors) == count
    dimensions = {len(vector) for vector in vectors}
    assert len(dimensions) == 1, f"vectors of several dimensions: {sorted(dimensions)}"
    (dimension,) = dimensions
    assert dimension > 0
    for vector in vectors:
        assert all(isinstance(x, float) and math.isfinite(x) for x in vector)
        assert any(x != 0.0 for x in vector)
    return dimension


@pytest.mark.nim(cassette="retrieval-contract/embed_documents_and_query")
def test_documents_and_query(nim_harness_embeddings, nim_harness_mode) -> None:
    embedder = nim_harness_embeddings()
    documents = embedder.embed_documents(PASSAGES)
    query = embedder.embed_query(QUERY)
    dimension = assert_vectors(documents, len(PASSAGES))
    assert len(query) == dimension
    require_closer_to_the_answer(query, documents, nim_harness_mode)


@pytest.mark.nim(cassette="retrieval-contract/embed_documents_and_query")
async def test_async_documents_and_query(nim_harness_embeddings, nim_harness_mode) -> None:
    embedder = nim_harness_embeddings()
    documents = await embedder.aembed_documents(PASSAGES)
    query = await embedder.aembed_query(QUERY)
    assert len(query) == assert_vectors(documents, len(PASSAGES))
    require_closer_to_the_answer(query, documents, nim_harness_mode)


@pytest.mark.nim(cassette="retrieval-contract/embed_batches")
def test_batches_keep_the_order_and_equal_texts_embed_equally(nim_harness_embeddings) -> None:
    texts = [*PASSAGES, PASSAGES[0], "A fifth text, about nothing much."]
    vectors = nim_harness_embeddings(max_batch_size=2).embed_documents(texts)
    assert_vectors(vectors, len(texts))
    assert cosine(vectors[0], vectors[3]) > 0.999, "the same text in two batches embedded differently"
    assert cosine(vectors[0], vectors[1]) < 0.999


@pytest.mark.nim(cassette="retrieval-contract/embed_base64")
def test_base64_vectors_equal_float_ones(nim_harness_embeddings) -> None:
    as_floats = nim_harness_embeddings().embed_query(OTHER_QUERY)
    as_base64 = nim_harness_embeddings(encoding_format="base64").embed_query(OTHER_QUERY)
    assert len(as_base64) == len(as_floats)
    assert cosine(as_floats, as_base64) > 0.9999


@pytest.mark.nim(cassette="retrieval-contract/embed_dimensions")
def test_dimensions_shorten_the_vectors(nim_harness_embeddings, nim_harness_mode) -> None:
    try:
        vectors = nim_harness_embeddings(dimensions=384).embed_documents(PASSAGES[:2])
    except BadRequestError as error:
        require(False, nim_harness_mode, f"refuses dimensions=384: {error.message[:160]}")
    require(len(vectors[0]) == 384, nim_harness_mode, f"ignores dimensions=384 (length {len(vectors[0])})")
    assert_vectors(vectors, 2)


@pytest.mark.nim(cassette="retrieval-contract/embed_too_long")
def test_too_long_input_is_refused_unless_truncated(nim_harness_embeddings, nim_harness_mode) -> None:
    long_text = "memory bandwidth " * 4500
    with pytest.raises(BadRequestError) as refused:
        nim_harness_embeddings(truncate="NONE").embed_query(long_text)
    assert refused.value.status == 400
    try:
        vector = nim_harness_embeddings(truncate="END").embed_query(long_text)
    except BadRequestError as error:
        require(False, nim_harness_mode, f"refuses truncate=END: {error.message[:160]}")
    assert_vectors([vector], 1)
