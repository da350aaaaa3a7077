"""NVIDIAEmbeddings over respx: request bodies, batching, answers good and bad, errors, settings."""

from __future__ import annotations

import base64
import json
import struct
import warnings

import httpx
import pytest
from chat_fakes import router
from hypothesis import given
from hypothesis import strategies as st
from nim_harness import BadRequestError, NVIDIAEmbeddings, RateLimitError, ResponseFormatError
from nim_harness._embeddings import parse_embeddings
from retrieval_fakes import EMBED_MODEL, embedder, embeddings_answer, text_vector, vector_from_request


def _sent(mock) -> list[dict]:
    return [json.loads(call.request.content) for call in mock.calls]


def test_embed_documents_sends_the_published_body_and_returns_vectors_in_order() -> None:
    with router() as mock:
        mock.post("/embeddings").mock(side_effect=vector_from_request)
        vectors = embedder(mock).embed_documents(["alpha", "be"])
    assert vectors == [text_vector("alpha"), text_vector("be")]
    assert _sent(mock) == [
        {
            "input": ["alpha", "be"],
            "model": EMBED_MODEL,
            "encoding_format": "float",
            "input_type": "passage",
            "truncate": "NONE",
        }
    ]


def test_embed_query_is_a_query_with_truncate_and_dimensions() -> None:
    with router() as mock:
        mock.post("/embeddings").mock(side_effect=vector_from_request)
        vector = embedder(mock, truncate="END", dimensions=384).embed_query("what is NIM?")
    assert vector == text_vector("what is NIM?")
    (body,) = _sent(mock)
    assert body["input"] == ["what is NIM?"]
    assert body["input_type"] == "query"
    assert (body["truncate"], body["dimensions"]) == ("END", 384)


def test_model_type_fixes_the_input_type_for_both_methods() -> None:
    with router() as mock:
        mock.post("/embeddings").mock(side_effect=vector_from_request)
        model = embedder(mock, model_type="query")
        model.embed_documents(["a"])
        model.embed_query("b")
    assert [body["input_type"] for body in _sent(mock)] == ["query", "query"]


async def test_async_twins_send_the_same_requests() -> None:
    with router() as mock:
        mock.post("/embeddings").mock(side_effect=vector_from_request)
        model = embedder(mock, max_batch_size=2)
        assert await model.aembed_documents(["a", "bb", "ccc"]) == [
            text_vector(t) for t in ("a", "bb", "ccc")
        ]
        assert await model.aembed_query("q") == text_vector("q")
    assert [body["input"] for body in _sent(mock)] == [["a", "bb"], ["ccc"], ["q"]]
    assert [body["input_type"] for body in _sent(mock)] == ["passage", "passage", "query"]


@given(
    texts=st.lists(st.text(max_size=12), max_size=40),
    size=st.integers(min_value=1, max_value=12),
)
def test_batching_keeps_order_and_sends_one_request_per_batch(texts: list[str], size: int) -> None:
    with router() as mock:
        mock.post("/embeddings").mock(side_effect=vector_from_request)
        vectors = embedder(mock, max_batch_size=size).embed_documents(texts)
        batches = [body["input"] for body in _sent(mock)]
    assert vectors == [text_vector(text) for text in texts]
    assert [text for batch in batches for text in batch] == texts
    assert len(batches) == -(-len(texts) // size)
    assert all(1 <= len(batch) <= size for batch in batches)


def test_no_texts_no_request() -> None:
    with router() as mock:
        assert embedder(mock).embed_documents([]) == []
    assert mock.calls.call_count == 0


def test_base64_vectors_are_decoded_to_floats() -> None:
    packed = base64.b64encode(struct.pack("<3f", 0.5, -1.0, 2.25)).decode()
    answer = {"object": "list", "data": [{"index": 0, "embedding": packed, "object": "embedding"}]}
    with router() as mock:
        mock.post("/embeddings").respond(200, json=answer)
        vector = embedder(mock, encoding_format="base64").embed_query("x")
    assert vector == [0.5, -1.0, 2.25]
    assert _sent(mock)[0]["encoding_format"] == "base64"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"object": "list"}, "no 'data' list"),
        (embeddings_answer([[1.0]]), "1 vectors for 2 inputs"),
        ({"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [2.0]}]}, "index 0"),
        ({"data": [{"index": 5, "embedding": [1.0]}, {"index": 1, "embedding": [2.0]}]}, "index 5"),
        ({"data": [{"index": 0, "embedding": "%%"}, {"index": 1, "embedding": [2.0]}]}, "base64"),
        ({"data": [{"index": 0, "embedding": [True]}, {"index": 1, "embedding": [2.0]}]}, "numbers"),
    ],
)
def test_answers_that_cannot_be_paired_with_the_inputs_are_refused(answer: dict, problem: str) -> None:
    with pytest.raises(ResponseFormatError, match=problem):
        parse_embeddings(answer, 2)


def test_a_too_long_input_is_a_typed_bad_request() -> None:
    detail = {
        "object": "error",
        "message": "Input length 600 exceeds maximum allowed token size 512",
        "code": 400,
    }
    with router() as mock:
        mock.post("/embeddings").respond(400, json=detail)
        with pytest.raises(BadRequestError, match="exceeds maximum allowed token size"):
            embedder(mock).embed_query("long " * 600)


def test_rate_limits_are_retried_like_chat() -> None:
    with router() as mock:
        route = mock.post("/embeddings")
        route.side_effect = [
            httpx.Response(429, headers={"retry-after": "0"}, json={"status": 429}),
            httpx.Response(200, json=embeddings_answer([[1.0]])),
        ]
        assert embedder(mock).embed_query("x") == [1.0]
        assert route.call_count == 2
        route.side_effect = None
        route.respond(429, json={"status": 429})
        with pytest.raises(RateLimitError):
            embedder(mock, max_retries=0).embed_query("x")


def test_a_local_nim_without_model_is_asked_which_it_serves() -> None:
    with router() as mock:
        mock.get("/models").respond(200, json={"data": [{"id": "nvidia/nv-embed-v1"}]})
        mock.post("/embeddings").mock(side_effect=vector_from_request)
        model = embedder(mock, model=None)
        model.embed_query("x")
        model.embed_query("y")
    assert [call.request.method for call in mock.calls] == ["GET", "POST", "POST"]
    posted = [json.loads(call.request.content) for call in mock.calls[1:]]
    assert [body["model"] for body in posted] == ["nvidia/nv-embed-v1"] * 2


def test_hosted_defaults_and_per_model_endpoints_follow_the_published_client() -> None:
    assert NVIDIAEmbeddings(api_key="nvapi-x").model == "nvidia/llama-nemotron-embed-1b-v2"
    with router() as mock:
        hosted = "https://ai.api.nvidia.com/v1/retrieval/nvidia/embeddings"
        mock.post(hosted).respond(200, json=embeddings_answer([[1.0]]))
        model = embedder(mock, model="NV-Embed-QA", base_url="https://integrate.api.nvidia.com/v1")
        assert model.embed_query("x") == [1.0]
        assert str(mock.calls.last.request.url) == hosted


def test_published_constructor_spellings_are_taken() -> None:
    model = NVIDIAEmbeddings(
        nvidia_base_url="http://localhost:8000",
        nvidia_api_key="nvapi-k",
        trucate="START",
        model="m",
    )
    assert (model.base_url, model.truncate) == ("http://localhost:8000/v1", "START")
    assert model.api_key is not None
    assert model.api_key.get_secret_value() == "nvapi-k"
    assert (
        NVIDIAEmbeddings(model="m", base_url="http://h/v1", trucate="START", truncate="END").truncate == "END"
    )


def test_an_unknown_argument_is_ignored_with_a_warning_naming_the_field() -> None:
    with pytest.warns(UserWarning, match="'max_batch'.*did you mean 'max_batch_size'"):
        model = NVIDIAEmbeddings(model="m", base_url="http://h/v1", max_batch=3)
    assert model.max_batch_size == 50


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_batch_size": 0}, "max_batch_size"),
        ({"dimensions": 0}, "dimensions"),
        ({"truncate": "MIDDLE"}, "truncate"),
    ],
)
def test_bad_settings_are_refused_at_construction(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        NVIDIAEmbeddings(model="m", base_url="http://h/v1", **kwargs)


@pytest.mark.parametrize("texts", ["one string", ["a", 3], None])
def test_texts_that_are_not_a_list_of_strings_are_refused(texts: object) -> None:
    with router() as mock, pytest.raises(ValueError, match="list of strings"):
        embedder(mock).embed_documents(texts)  # type: ignore[arg-type]


def test_model_kwargs_travel_in_the_body() -> None:
    with router() as mock:
        mock.post("/embeddings").mock(side_effect=vector_from_request)
        embedder(mock, model_kwargs={"user": "tester"}).embed_query("x")
    assert _sent(mock)[0]["user"] == "tester"


def test_listing_on_a_hosted_api_adds_the_catalogue_embedding_models() -> None:
    with router() as mock, warnings.catch_warnings():
        warnings.simplefilter("error")
        mock.get("https://integrate.api.nvidia.com/v1/models").respond(
            200, json={"data": [{"id": "meta/llama-3.1-8b-instruct"}]}
        )
        models = embedder(mock, base_url="https://integrate.api.nvidia.com/v1").available_models
    assert {model.client for model in models} == {"NVIDIAEmbeddings"}
    assert "nvidia/nv-embedqa-e5-v5" in {model.id for model in models}
