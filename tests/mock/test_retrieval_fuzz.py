"""Whatever an embeddings or ranking request holds, the stand-in answers 200 or a 4xx, never a 5xx.

Hypothesis draws the inputs a retrieval client can send (empty strings, any unicode, long texts,
batches from empty to past the model's limit, options of the wrong type) and posts them to one real
server; a 200 must have NIM's shape, a refusal NIM's error body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nim_mock import RunningServer, create_app
from nim_mock.synth.retrieval_models import EMBEDDING_MODELS, RANKING_MODELS

TEXT = st.one_of(
    st.text(max_size=200),
    st.just(""),
    st.builds(lambda word, n: (word + " ") * n, st.text(min_size=1, max_size=12), st.integers(0, 3000)),
)
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)


def option(*values: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(values), ODD)


def maybe(body: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts holding any subset of ``body``'s keys, each drawn from its strategy."""
    return st.fixed_dictionaries({}, optional=body)


EMBEDDING_BODIES = maybe(
    {
        "model": option(*EMBEDDING_MODELS, "acme/unknown"),
        "input": st.one_of(TEXT, st.lists(TEXT, max_size=60), st.lists(ODD, max_size=3), ODD),
        "input_type": option("query", "passage"),
        "encoding_format": option("float", "base64"),
        "truncate": option("NONE", "START", "END"),
        "dimensions": option(384, 1024, 2048, 4096),
        "user": ODD,
    }
)
PASSAGE = st.one_of(st.builds(lambda text: {"text": text}, TEXT), ODD, st.fixed_dictionaries({"image": ODD}))
RANKING_BODIES = maybe(
    {
        "model": option(*RANKING_MODELS, "acme/unknown"),
        "query": st.one_of(st.builds(lambda text: {"text": text}, TEXT), ODD),
        "passages": st.one_of(st.lists(PASSAGE, max_size=40), ODD),
        "truncate": option("NONE", "END"),
    }
)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    server = RunningServer(create_app([], on_miss="synthesize"))
    with httpx.Client(base_url=server.start(), timeout=30) as http:
        yield http
    server.stop()


def assert_answered(answer: httpx.Response, shape: tuple[str, ...]) -> None:
    assert answer.status_code < 500, answer.text
    body = answer.json()
    if answer.status_code == 200:
        assert tuple(body) == shape
    else:
        assert tuple(body) == ("object", "message", "type", "param", "code")
        assert body["code"] == answer.status_code


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=EMBEDDING_BODIES)
def test_no_embeddings_request_gets_a_server_error(client: httpx.Client, body: dict[str, Any]) -> None:
    assert_answered(client.post("/v1/embeddings", json=body), ("object", "data", "model", "usage"))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=RANKING_BODIES)
def test_no_ranking_request_gets_a_server_error(client: httpx.Client, body: dict[str, Any]) -> None:
    assert_answered(client.post("/v1/ranking", json=body), ("rankings",))
