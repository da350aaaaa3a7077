"""The published ``NVIDIAEmbeddings`` and ``NVIDIARerank`` (langchain-nvidia-ai-endpoints 1.5.0)
pointed at the mock with ``base_url``: against a recording and against the stand-in.

The replay cassette holds the exact bodies the published clients send (``encoding_format``,
``input_type``, ``truncate`` always present for embeddings; ``query``/``passages`` for ranking), so
a change in what the client sends shows up here as a miss rather than as silent synthesis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_nvidia_ai_endpoints import NVIDIAEmbeddings, NVIDIARerank

from nim_mock import RunningServer, bundled_cassettes_dir, create_app, load_cassettes

E5 = "nvidia/nv-embedqa-e5-v5"
RERANK = "nvidia/llama-3.2-nv-rerankqa-1b-v2"
DOCUMENTS = [
    "Paris is lovely in the spring.",
    "The H100 GPU has 3 TB/s of memory bandwidth.",
    "Bananas grow on large herbaceous plants.",
]


@pytest.fixture(scope="module")
def standin() -> Iterator[str]:
    server = RunningServer(create_app([], on_miss="synthesize"))
    yield server.start() + "/v1"
    server.stop()


def cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def test_published_embeddings_work_against_the_stand_in(standin: str) -> None:
    embedder = NVIDIAEmbeddings(base_url=standin, model=E5)
    query = embedder.embed_query("What is the memory bandwidth of the H100?")
    documents = embedder.embed_documents(DOCUMENTS)
    assert len(query) == 1024
    assert [len(d) for d in documents] == [1024] * 3
    best = max(range(3), key=lambda i: cosine(query, documents[i]))
    assert best == 1


def test_published_embeddings_batch_past_fifty_and_keep_order(standin: str) -> None:
    embedder = NVIDIAEmbeddings(base_url=standin, model="baai/bge-m3")
    texts = [f"document number {i}" for i in range(120)]
    vectors = embedder.embed_documents(texts)
    assert vectors[117] == embedder.embed_documents([texts[117]])[0]


async def test_published_async_embeddings_match_the_sync_ones(standin: str) -> None:
    embedder = NVIDIAEmbeddings(base_url=standin, model=E5)
    assert await embedder.aembed_query("same") == embedder.embed_query("same")


def test_published_embeddings_see_dimensions_and_the_token_limit(standin: str) -> None:
    small = NVIDIAEmbeddings(base_url=standin, model="nvidia/llama-3.2-nv-embedqa-1b-v2", dimensions=384)
    assert len(small.embed_query("x")) == 384
    strict = NVIDIAEmbeddings(base_url=standin, model=E5)
    with pytest.raises(Exception, match="exceeds maximum allowed token size 512"):
        strict.embed_query("word " * 600)
    cutting = NVIDIAEmbeddings(base_url=standin, model=E5, truncate="END")
    assert len(cutting.embed_query("word " * 600)) == 1024


def test_published_rerank_works_against_the_stand_in(standin: str) -> None:
    ranker = NVIDIARerank(base_url=standin, model=RERANK, top_n=2)
    ranked = ranker.compress_documents(
        [Document(page_content=text) for text in DOCUMENTS], "memory bandwidth of the H100 GPU"
    )
    assert ranked[0].page_content == DOCUMENTS[1]
    assert len(ranked) == 2
    scores = [d.metadata["relevance_score"] for d in ranked]
    assert scores == sorted(scores, reverse=True)


def test_published_clients_replay_a_recording(serve: Callable[..., str], build: Any) -> None:
    embed_body = {
        "input": ["hello"],
        "model": E5,
        "encoding_format": "float",
        "input_type": "query",
        "truncate": "NONE",
    }
    embed_answer = {
        "object": "list",
        "data": [{"index": 0, "embedding": [0.6, 0.8], "object": "embedding"}],
        "model": E5,
        "usage": {"prompt_tokens": 3, "total_tokens": 3},
    }
    rank_body = {"model": RERANK, "query": {"text": "q"}, "passages": [{"text": "a"}, {"text": "b"}]}
    rank_answer = {"rankings": [{"index": 1, "logit": 1.5}, {"index": 0, "logit": -2.0}]}
    cassette = build.cassette(
        "retrieval/published",
        (build.post(embed_body, "/v1/embeddings"), build.json_response(embed_answer)),
        (build.post(rank_body, "/v1/ranking"), build.json_response(rank_answer)),
    )
    base_url = serve([cassette]) + "/v1"
    assert NVIDIAEmbeddings(base_url=base_url, model=E5).embed_query("hello") == [0.6, 0.8]
    ranked = NVIDIARerank(base_url=base_url, model=RERANK).compress_documents(
        [Document(page_content="a"), Document(page_content="b")], "q"
    )
    assert [(d.page_content, d.metadata["relevance_score"]) for d in ranked] == [("b", 1.5), ("a", -2.0)]


@pytest.fixture(scope="module")
def bundled() -> Iterator[str]:
    retrieval = [c for c in load_cassettes([bundled_cassettes_dir()]) if c.name.startswith("retrieval/")]
    server = RunningServer(create_app(retrieval))
    yield server.start() + "/v1"
    server.stop()


BUNDLED_QUERY = "What is the memory bandwidth of the H100 GPU?"
BUNDLED_PASSAGES = [
    "The H100 SXM GPU delivers 3.35 TB/s of memory bandwidth from 80 GB of HBM3.",
    "Paris is lovely in the spring, when the chestnut trees along the boulevards bloom.",
    "The A100 80GB offers over 2 TB/s of memory bandwidth for the largest models.",
]


def test_the_bundled_cassettes_retrieve_the_right_passage_for_the_published_clients(bundled: str) -> None:
    embedder = NVIDIAEmbeddings(base_url=bundled, model=E5)
    query = embedder.embed_query(BUNDLED_QUERY)
    passages = embedder.embed_documents(BUNDLED_PASSAGES)
    by_similarity = sorted(range(3), key=lambda i: -cosine(query, passages[i]))
    assert by_similarity == [0, 2, 1]
    ranked = NVIDIARerank(base_url=bundled, model=RERANK).compress_documents(
        [Document(page_content=text) for text in BUNDLED_PASSAGES], BUNDLED_QUERY
    )
    assert [d.page_content for d in ranked] == [BUNDLED_PASSAGES[i] for i in (0, 2, 1)]
