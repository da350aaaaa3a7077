"""Reranking: NVIDIARerank against a NIM reranking endpoint, in mock, record and live mode.

What is checked holds for any reranking model: the passage that answers the query comes first,
scores are floats in non-increasing order, ``top_n`` is honoured, the input documents are left as
they were, and ranking in batches gives the order ranking at once gives. Values are never compared
with a recording.

Live and record runs need the model: ``NIM_RERANK_MODEL`` (or ``--nim-harness-rerank-model``);
without it they skip. The cassettes were recorded by this suite from the nim-mock stand-in (see
test_contract_embeddings.py).
"""

from __future__ import annotations

import math

import pytest
from langchain_core.documents import Document

QUERY = "What is the memory bandwidth of the H100 GPU?"
BATCHED_QUERY = "Which GPU moves data out of its memory fastest?"
PASSAGES = [
    "Banana bread needs ripe bananas, flour, butter, sugar and an hour in the oven.",
    "The H100 SXM GPU delivers 3.35 terabytes per second of memory bandwidth.",
    "NVIDIA NIM packages optimized inference engines behind an OpenAI-compatible API.",
    "The A100 GPU offers up to 2 terabytes per second of memory bandwidth.",
    "Paris is the capital of France.",
]


def documents() -> list[Document]:
    return [Document(page_content=text, metadata={"source": i}) for i, text in enumerate(PASSAGES)]


def assert_ranked(ranked: list[Document], count: int) -> list[float]:
    assert len(ranked) == count
    scores = [doc.metadata["relevance_score"] for doc in ranked]
    assert all(isinstance(s, float) and math.isfinite(s) for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert len({doc.metadata["source"] for doc in ranked}) == count
    return scores


@pytest.mark.nim(cassette="retrieval-contract/rerank")
def test_the_answering_passage_comes_first(nim_harness_rerank) -> None:
    docs = documents()
    ranked = list(nim_harness_rerank(top_n=3).compress_documents(docs, QUERY))
    assert_ranked(ranked, 3)
    assert ranked[0].page_content == PASSAGES[1]
    assert all("relevance_score" not in doc.metadata for doc in docs)


@pytest.mark.nim(cassette="retrieval-contract/rerank")
async def test_async_is_the_same(nim_harness_rerank) -> None:
    ranked = list(await nim_harness_rerank(top_n=3).acompress_documents(documents(), QUERY))
    assert_ranked(ranked, 3)
    assert ranked[0].page_content == PASSAGES[1]


@pytest.mark.nim(cassette="retrieval-contract/rerank_batches")
def test_batches_rank_as_one_request_does(nim_harness_rerank) -> None:
    ranker = nim_harness_rerank(top_n=5)
    at_once = list(ranker.compress_documents(documents(), BATCHED_QUERY))
    batched = list(
        nim_harness_rerank(top_n=5, max_batch_size=2).compress_documents(documents(), BATCHED_QUERY)
    )
    assert_ranked(batched, 5)
    assert [d.metadata["source"] for d in batched] == [d.metadata["source"] for d in at_once]
    for one, other in zip(at_once, batched, strict=True):
        assert math.isclose(one.metadata["relevance_score"], other.metadata["relevance_score"], abs_tol=1e-3)


@pytest.mark.nim(cassette="retrieval-contract/rerank_truncate")
def test_truncate_end_ranks_a_passage_longer_than_the_model_takes(nim_harness_rerank) -> None:
    docs = [*documents()[:2], Document(page_content="bandwidth " * 9000, metadata={"source": 9})]
    ranked = list(nim_harness_rerank(top_n=3, truncate="END").compress_documents(docs, QUERY))
    assert_ranked(ranked, 3)
