"""NVIDIARerank over respx: request bodies, top_n, batching and merging, scores, bad answers, settings."""

from __future__ import annotations

import json

import httpx
import pytest
from chat_fakes import router
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.documents import Document
from nim_harness import NotFoundError, NVIDIARerank, ResponseFormatError
from nim_harness._rerank import parse_rankings
from retrieval_fakes import BASE, RERANK_MODEL, ranker, rankings_answer

QUERY = "What is the memory bandwidth of H100?"


def _docs(*texts: str) -> list[Document]:
    return [Document(page_content=text, metadata={"n": i}) for i, text in enumerate(texts)]


def _logit_of(text: str) -> float:
    """A deterministic score that differs for every test text: how many 'a' it holds, then its length."""
    return text.count("a") + len(text) / 1000


def _rank_by_text(request: httpx.Request) -> httpx.Response:
    passages = json.loads(request.content)["passages"]
    return httpx.Response(200, json=rankings_answer([_logit_of(p["text"]) for p in passages]))


def test_compress_documents_sends_the_published_body_and_returns_the_best_first() -> None:
    with router() as mock:
        mock.post("/ranking").respond(200, json=rankings_answer([0.5, 3.25, -1.0]))
        docs = _docs("A100 has 2 TB/s.", "H100 has 3 TB/s.", "The weather is sunny.")
        ranked = ranker(mock, top_n=2).compress_documents(docs, QUERY)
    assert [doc.page_content for doc in ranked] == ["H100 has 3 TB/s.", "A100 has 2 TB/s."]
    assert [doc.metadata for doc in ranked] == [
        {"n": 1, "relevance_score": 3.25},
        {"n": 0, "relevance_score": 0.5},
    ]
    assert docs[1].metadata == {"n": 1}, "the documents passed in are not changed"
    assert json.loads(mock.calls.last.request.content) == {
        "model": RERANK_MODEL,
        "query": {"text": QUERY},
        "passages": [{"text": doc.page_content} for doc in docs],
    }


async def test_acompress_documents_is_the_same() -> None:
    with router() as mock:
        mock.post("/ranking").respond(200, json=rankings_answer([0.5, 3.25]))
        ranked = await ranker(mock, truncate="END").acompress_documents(_docs("a", "b"), QUERY)
    assert [doc.page_content for doc in ranked] == ["b", "a"]
    assert json.loads(mock.calls.last.request.content)["truncate"] == "END"


def test_nothing_to_rank_or_nothing_wanted_sends_nothing() -> None:
    with router() as mock:
        assert ranker(mock).compress_documents([], QUERY) == []
        assert ranker(mock, top_n=0).compress_documents(_docs("a"), QUERY) == []
    assert mock.calls.call_count == 0


@given(
    texts=st.lists(st.text(alphabet="ab ", max_size=8), min_size=1, max_size=30),
    size=st.integers(min_value=1, max_value=8),
    top_n=st.integers(min_value=1, max_value=35),
)
def test_batches_are_merged_by_score(texts: list[str], size: int, top_n: int) -> None:
    docs = _docs(*texts)
    with router() as mock:
        mock.post("/ranking").mock(side_effect=_rank_by_text)
        ranked = ranker(mock, max_batch_size=size, top_n=top_n).compress_documents(docs, QUERY)
        batches = [json.loads(call.request.content)["passages"] for call in mock.calls]
    assert [p["text"] for batch in batches for p in batch] == texts
    assert all(1 <= len(batch) <= size for batch in batches)
    expected = sorted(docs, key=lambda doc: _logit_of(doc.page_content), reverse=True)[:top_n]
    assert [doc.metadata["n"] for doc in ranked] == [doc.metadata["n"] for doc in expected]
    assert [doc.metadata["relevance_score"] for doc in ranked] == [
        _logit_of(d.page_content) for d in expected
    ]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"data": []}, "no 'rankings' list"),
        ({"rankings": [{"index": 2, "logit": 1.0}]}, "index 2"),
        ({"rankings": [{"index": True, "logit": 1.0}]}, "index True"),
        ({"rankings": [{"index": 0, "logit": "high"}]}, "no numeric logit"),
    ],
)
def test_rankings_that_name_no_passage_are_refused(answer: dict, problem: str) -> None:
    with pytest.raises(ResponseFormatError, match=problem):
        parse_rankings(answer, 2)


def test_hosted_models_go_to_their_own_endpoint() -> None:
    endpoint = "https://ai.api.nvidia.com/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    with router() as mock:
        mock.post(endpoint).respond(200, json=rankings_answer([1.0]))
        with pytest.warns(UserWarning, match="deprecated"):
            model = ranker(mock, base_url="https://integrate.api.nvidia.com/v1")
        model.compress_documents(_docs("a"), QUERY)
    assert str(mock.calls.last.request.url) == endpoint
    assert NVIDIARerank(api_key="nvapi-x").model == "nvidia/llama-nemotron-rerank-1b-v2"


def test_a_wrong_endpoint_is_a_typed_not_found() -> None:
    with router() as mock:
        mock.post("/ranking").respond(404, json={"detail": "Not Found"})
        with pytest.raises(NotFoundError):
            ranker(mock).compress_documents(_docs("a"), QUERY)


def test_images_travel_with_their_passage_and_bad_ones_are_refused() -> None:
    image = "data:image/png;base64,iVBORw0KGgo="
    with router() as mock:
        mock.post("/ranking").respond(200, json=rankings_answer([1.0]))
        doc = Document(page_content="a cat", metadata={"image": image})
        ranker(mock, model="nvidia/llama-nemotron-rerank-vl-1b-v2").compress_documents([doc], "cat")
        assert json.loads(mock.calls.last.request.content)["passages"] == [{"text": "a cat", "image": image}]
        with pytest.warns(UserWarning, match="not known to take images"):
            ranker(mock).compress_documents([doc], "cat")
        with pytest.raises(ValueError, match="data:image"):
            ranker(mock).compress_documents(
                [Document(page_content="x", metadata={"image": "/tmp/x.png"})], "q"
            )


def test_extra_headers_is_the_deprecated_spelling_of_default_headers() -> None:
    with router() as mock:
        mock.post("/ranking").respond(200, json=rankings_answer([1.0]))
        with pytest.warns(DeprecationWarning, match="default_headers"):
            model = ranker(mock, extra_headers={"X-Team": "search"})
        model.compress_documents(_docs("a"), QUERY)
    assert mock.calls.last.request.headers["x-team"] == "search"


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"top_n": -1}, "top_n"), ({"max_batch_size": 0}, "max_batch_size")]
)
def test_bad_settings_are_refused_at_construction(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        NVIDIARerank(model="m", base_url="http://h/v1", **kwargs)


def test_get_available_models_on_the_class_lists_a_local_nim_as_it_is() -> None:
    listing = {"data": [{"id": RERANK_MODEL, "object": "model"}, {"id": "org/unknown", "object": "model"}]}
    with router() as mock:
        mock.get("/models").respond(200, json=listing)
        client = ranker(mock)
        models = type(client).get_available_models(
            model=RERANK_MODEL, base_url=BASE, api_key=None, http_client=client.http_client
        )
    assert [(m.id, m.client, m.known) for m in models] == [
        (RERANK_MODEL, "NVIDIARerank", True),
        ("org/unknown", None, False),
    ]
