"""The stand-in's retrieval answers as pure functions: vector properties, ranking order, exact bytes."""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nim_mock.cassette import RecordedResponse
from nim_mock.synth.embed import synthesize_embeddings
from nim_mock.synth.rank import relevance_logit, synthesize_ranking
from nim_mock.synth.vectors import embed_text, float32_base64

DIMENSIONS = st.sampled_from([384, 1024, 2048, 4096])
# Two disjoint alphabets: a text from one shares no character trigram or word with a text from the other.
LEFT = st.text(alphabet="abcdefghijklm ", min_size=12, max_size=300).filter(lambda t: len(t.strip()) >= 12)
RIGHT = st.text(alphabet="nopqrstuvwxyz0123456789", min_size=12, max_size=300)


def cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


@given(st.text(max_size=2000), DIMENSIONS)
def test_every_text_embeds_to_a_unit_vector_of_the_asked_dimension(text: str, dimension: int) -> None:
    vector = embed_text(text, dimension)
    assert len(vector) == dimension
    assert math.isclose(math.fsum(v * v for v in vector), 1.0, rel_tol=1e-5)


@given(st.text(max_size=500), DIMENSIONS)
def test_equal_texts_embed_equally(text: str, dimension: int) -> None:
    assert embed_text(text, dimension) == embed_text(str(text), dimension)
    assert embed_text(text.upper(), dimension) == embed_text(text.casefold().upper(), dimension)


@given(LEFT, RIGHT, st.data())
def test_a_near_duplicate_lands_closer_than_an_unrelated_text(
    original: str, unrelated: str, data: Any
) -> None:
    position = data.draw(st.integers(0, len(original) - 1))
    typo = original[:position] + data.draw(st.sampled_from("abcdefghijklm")) + original[position + 1 :]
    base = embed_text(original, 1024)
    assert cosine(base, embed_text(typo, 1024)) > cosine(base, embed_text(unrelated, 1024))


def test_similar_sentences_score_far_above_unrelated_ones() -> None:
    query = embed_text("What is the memory bandwidth of the H100 GPU?", 1024)
    related = embed_text("The H100 GPU has a memory bandwidth of 3 TB/s.", 1024)
    shares_only_little_words = embed_text("Paris is lovely in the spring.", 1024)
    unrelated = embed_text("Bananas grow on large herbaceous plants.", 1024)
    assert cosine(query, related) > 0.6
    assert cosine(query, related) > cosine(query, shares_only_little_words) + 0.3
    assert cosine(query, unrelated) < 0.15


def test_base64_carries_the_same_float32_values() -> None:
    vector = embed_text("bytes", 384)
    raw = base64.b64decode(float32_base64(vector))
    assert len(raw) == 4 * 384
    assert list(struct.unpack("<384f", raw)) == vector


@given(st.text(max_size=200), st.text(max_size=400))
def test_a_logit_is_finite_and_a_query_from_the_passage_scores_above_none(query: str, passage: str) -> None:
    logit = relevance_logit(query, passage)
    assert math.isfinite(logit)
    assert -7.0 < logit < 7.0
    assert relevance_logit(query + " " + passage, passage) >= relevance_logit("", passage)


def test_more_of_the_query_in_a_passage_ranks_it_higher() -> None:
    query = "gpu memory bandwidth"
    assert (
        relevance_logit(query, "gpu memory bandwidth figures")
        > relevance_logit(query, "gpu figures")
        > relevance_logit(query, "nothing relevant here")
    )


def body_text(answer: object) -> str:
    assert isinstance(answer, RecordedResponse)
    return answer.body.decode("utf-8")


def test_an_embeddings_answer_is_byte_exact(snapshot: Any) -> None:
    answer = synthesize_embeddings(
        {
            "model": "nvidia/llama-3.2-nv-embedqa-1b-v2",
            "input": ["GPU memory bandwidth", ""],
            "input_type": "query",
            "dimensions": 384,
            "encoding_format": "base64",
        }
    )
    assert body_text(answer) == snapshot


def test_a_ranking_answer_is_byte_exact(snapshot: Any) -> None:
    answer = synthesize_ranking(
        {
            "model": "nvidia/llama-3.2-nv-rerankqa-1b-v2",
            "query": {"text": "GPU memory bandwidth"},
            "passages": [
                {"text": "Paris is lovely in the spring."},
                {"text": "The H100 GPU has 3 TB/s of memory bandwidth."},
                {"text": "GPU prices"},
            ],
        }
    )
    assert body_text(answer) == snapshot


@pytest.mark.parametrize("size", [1, 50])
def test_usage_adds_up_over_a_batch(size: int) -> None:
    answer = synthesize_embeddings({"model": "baai/bge-m3", "input": ["four tokens in here"] * size})
    assert isinstance(answer, RecordedResponse)
    assert b'"usage":{"prompt_tokens":%d,"total_tokens":%d}' % (4 * size, 4 * size) in answer.body
