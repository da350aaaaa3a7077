"""Drift of embeddings and rankings: dimension, cosine similarity for the same texts, passage order."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nim_mock import Interaction, RecordedRequest, RecordedResponse
from nim_mock.cassette import compact_json
from nim_mock.plugin.drift import compare_shape
from nim_mock.plugin.drift_retrieval import COSINE_FLOOR, retrieval_differences

TEXTS = ["alpha", "beta"]


def _embeddings(vectors: list[Any], texts: list[str] = TEXTS, status: int = 200) -> Interaction:
    request = RecordedRequest("POST", "/v1/embeddings", {}, {"model": "m", "input": texts})
    data = [{"index": i, "embedding": v, "object": "embedding"} for i, v in enumerate(vectors)]
    body = {
        "object": "list",
        "data": data[::-1],
        "model": "m",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    return Interaction(request, RecordedResponse(status, (), compact_json(body)))


def _rankings(order: list[int], path: str = "/v1/ranking") -> Interaction:
    request = RecordedRequest("POST", path, {}, {"model": "m", "query": {"text": "q"}, "passages": []})
    body = {"rankings": [{"index": i, "logit": 5.0 - rank} for rank, i in enumerate(order)]}
    return Interaction(request, RecordedResponse(200, (), compact_json(body)))


def test_the_same_vectors_are_no_drift() -> None:
    recorded = _embeddings([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert compare_shape(recorded, recorded) == []


def test_float_noise_is_no_drift_but_another_model_is() -> None:
    recorded = _embeddings([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    noisy = _embeddings([[0.999, 0.001, 0.0], [0.0, 1.0, 0.0001]])
    other = _embeddings([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    assert retrieval_differences(recorded, noisy) == []
    (line,) = retrieval_differences(recorded, other)
    assert line.startswith("embeddings: vector 0 has cosine similarity 0.000")
    assert str(COSINE_FLOOR) in line


def test_a_new_dimension_is_drift_whatever_the_texts() -> None:
    recorded = _embeddings([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    live = _embeddings([[1.0, 0.0], [0.0, 1.0]], texts=["other", "texts"])
    assert retrieval_differences(recorded, live) == [
        "embeddings: recorded 2 vector(s) of dimension 3, live 2 of dimension 2"
    ]


def test_vectors_of_other_texts_are_not_compared() -> None:
    recorded = _embeddings([[1.0, 0.0], [0.0, 1.0]])
    live = _embeddings([[0.0, 1.0], [1.0, 0.0]], texts=["gamma", "delta"])
    assert retrieval_differences(recorded, live) == []


def test_base64_vectors_compare_with_float_ones() -> None:
    packed = [base64.b64encode(struct.pack("<2f", *v)).decode() for v in ([1.0, 0.0], [0.0, 1.0])]
    assert retrieval_differences(_embeddings([[1.0, 0.0], [0.0, 1.0]]), _embeddings(packed)) == []


def test_errors_are_left_to_the_shape_comparison() -> None:
    refused = Interaction(_embeddings([]).request, RecordedResponse(400, (), b'{"detail":"too long"}'))
    assert retrieval_differences(refused, _embeddings([[1.0], [2.0]])) == []


@pytest.mark.parametrize(
    "path", ["/v1/ranking", "/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"]
)
def test_a_new_passage_order_is_drift_new_logits_are_not(path: str) -> None:
    recorded = _rankings([2, 0, 1], path)
    shifted_logits = Interaction(
        recorded.request,
        RecordedResponse(
            200,
            (),
            b'{"rankings":[{"index":2,"logit":9.5},{"index":0,"logit":1.0},{"index":1,"logit":-3.0}]}',
        ),
    )
    assert retrieval_differences(recorded, shifted_logits) == []
    assert retrieval_differences(recorded, _rankings([0, 2, 1], path)) == [
        "rankings: recorded passage order [2, 0, 1], live [0, 2, 1]"
    ]


def test_chat_answers_are_not_its_business() -> None:
    chat = Interaction(
        RecordedRequest("POST", "/v1/chat/completions", {}, {}), RecordedResponse(200, (), b"{}")
    )
    assert retrieval_differences(chat, chat) == []


@given(
    st.lists(
        st.floats(min_value=-1e3, max_value=1e3, allow_nan=False).filter(lambda x: abs(x) > 1e-3),
        min_size=1,
        max_size=16,
    )
)
def test_a_vector_always_matches_itself_scaled(vector: list[float]) -> None:
    scaled = [x * 2.5 for x in vector]
    assert retrieval_differences(_embeddings([vector, vector]), _embeddings([scaled, scaled])) == []
