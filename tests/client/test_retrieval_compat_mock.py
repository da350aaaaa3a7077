"""The published NVIDIAEmbeddings / NVIDIARerank and ours, side by side against the mock on real uvicorn.

Both are pointed at the mock with ``base_url`` and must give the same vectors and the same ranked
documents, from the contract suite's recordings (replay, ``retrieval-contract/``) and from the
stand-in (synthesized answers). Hypothesis then throws arbitrary texts at ours through the stand-in:
an answer or a typed 4xx, never a 5xx.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document
from langchain_nvidia_ai_endpoints import NVIDIAEmbeddings as PublishedEmbeddings
from langchain_nvidia_ai_endpoints import NVIDIARerank as PublishedRerank
from nim_harness import BadRequestError, NVIDIAEmbeddings, NVIDIARerank

from nim_mock import bundled_cassettes_dir, create_app, load_cassettes, serve_in_thread

EMBED = "nvidia/nv-embedqa-e5-v5"
RERANK = "nvidia/llama-3.2-nv-rerankqa-1b-v2"
# the texts tests/contract recorded (retrieval-contract/embed_documents_and_query, .../rerank)
PASSAGES = [
    "The H100 SXM GPU delivers 3.35 terabytes per second of memory bandwidth.",
    "Banana bread needs ripe bananas, flour, butter, sugar and an hour in the oven.",
    "NVIDIA NIM packages optimized inference engines behind an OpenAI-compatible API.",
]
QUERY = "How much memory bandwidth does an H100 have?"
RANK_QUERY = "What is the memory bandwidth of the H100 GPU?"
RANKED = [
    "Banana bread needs ripe bananas, flour, butter, sugar and an hour in the oven.",
    "The H100 SXM GPU delivers 3.35 terabytes per second of memory bandwidth.",
    "NVIDIA NIM packages optimized inference engines behind an OpenAI-compatible API.",
    "The A100 GPU offers up to 2 terabytes per second of memory bandwidth.",
    "Paris is the capital of France.",
]


def _serve(on_miss: str) -> Iterator[str]:
    recorded = [
        c for c in load_cassettes([bundled_cassettes_dir()]) if c.name.startswith("retrieval-contract/")
    ]
    with serve_in_thread(create_app(recorded, speed=0, on_miss=on_miss)) as url:
        yield f"{url}/v1"


@pytest.fixture(scope="module")
def replay() -> Iterator[str]:
    """The recordings only: a request either client builds differently is a 404, not an answer."""
    yield from _serve("error")


@pytest.fixture(scope="module")
def stand_in() -> Iterator[str]:
    yield from _serve("synthesize")


def published(cls: type, base_url: str, **fields: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its telemetry notice and model checks are not outcomes
        return cls(base_url=base_url, usage_telemetry_enabled=False, **fields)


def ours(cls: type, base_url: str, **fields: Any) -> Any:
    return cls(base_url=base_url, api_key=None, **fields)


def documents(texts: list[str]) -> list[Document]:
    return [Document(page_content=text, metadata={"n": i}) for i, text in enumerate(texts)]


def ranked(result: Any) -> list[tuple[str, float]]:
    return [(doc.page_content, doc.metadata["relevance_score"]) for doc in result]


@pytest.mark.parametrize("server", ["replay", "stand_in"])
def test_the_same_vectors(server: str, request: pytest.FixtureRequest) -> None:
    base = request.getfixturevalue(server)
    theirs, mine = (
        published(PublishedEmbeddings, base, model=EMBED),
        ours(NVIDIAEmbeddings, base, model=EMBED),
    )
    assert mine.embed_documents(PASSAGES) == theirs.embed_documents(PASSAGES)
    assert mine.embed_query(QUERY) == theirs.embed_query(QUERY)
    assert len(mine.embed_query(QUERY)) == 1024


async def test_the_same_vectors_async(stand_in: str) -> None:
    theirs = published(PublishedEmbeddings, stand_in, model=EMBED)
    mine = ours(NVIDIAEmbeddings, stand_in, model=EMBED)
    assert await mine.aembed_documents(PASSAGES) == await theirs.aembed_documents(PASSAGES)
    assert await mine.aembed_query(QUERY) == await theirs.aembed_query(QUERY)


def test_the_same_batches_from_the_recording(replay: str) -> None:
    texts = [*PASSAGES, PASSAGES[0], "A fifth text, about nothing much."]
    theirs = published(PublishedEmbeddings, replay, model=EMBED, max_batch_size=2)
    mine = ours(NVIDIAEmbeddings, replay, model=EMBED, max_batch_size=2)
    assert mine.embed_documents(texts) == theirs.embed_documents(texts)


@pytest.mark.parametrize("server", ["replay", "stand_in"])
def test_the_same_ranking(server: str, request: pytest.FixtureRequest) -> None:
    base = request.getfixturevalue(server)
    theirs = published(PublishedRerank, base, model=RERANK, top_n=3)
    mine = ours(NVIDIARerank, base, model=RERANK, top_n=3)
    expected = ranked(theirs.compress_documents(documents(RANKED), RANK_QUERY))
    assert ranked(mine.compress_documents(documents(RANKED), RANK_QUERY)) == expected
    assert expected[0][0] == RANKED[1]


async def test_the_same_ranking_async_and_batched(stand_in: str) -> None:
    theirs = published(PublishedRerank, stand_in, model=RERANK, top_n=4, max_batch_size=2)
    mine = ours(NVIDIARerank, stand_in, model=RERANK, top_n=4, max_batch_size=2)
    expected = ranked(await theirs.acompress_documents(documents(RANKED), RANK_QUERY))
    assert ranked(await mine.acompress_documents(documents(RANKED), RANK_QUERY)) == expected


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(
        st.text(max_size=40) | st.sampled_from(["", " ", "🦙 ünïcode", "word " * 700]), max_size=7
    ),
    size=st.integers(min_value=1, max_value=4),
)
def test_any_texts_get_vectors_or_a_typed_refusal(stand_in: str, texts: list[str], size: int) -> None:
    embedder = ours(NVIDIAEmbeddings, stand_in, model=EMBED, max_batch_size=size)
    try:
        vectors = embedder.embed_documents(texts)
    except BadRequestError as error:  # an empty or over-long text: NIM refuses it, and so does the mock
        status = error.status
    else:
        status = 200
        assert [len(v) for v in vectors] == [1024] * len(texts)
    assert status in (200, 400)
