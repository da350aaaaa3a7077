"""Embeddings and ranking on a real uvicorn server: replay, the stand-in, refusals, faults, listing.

One synthesizing server per module answers every stand-in test; replay tests start their own
server from an in-code cassette so the exact recorded bytes sit next to the assertions.
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from nim_mock import RunningServer, create_app
from nim_mock.cassette import RecordedResponse, compact_json
from nim_mock.synth.retrieval_models import EMBEDDING_MODELS, RANKING_MODELS
from nim_mock.synth.tokens import count_tokens

E5 = "nvidia/nv-embedqa-e5-v5"
LLAMA_EMBED = "nvidia/llama-3.2-nv-embedqa-1b-v2"
RERANK = "nvidia/llama-3.2-nv-rerankqa-1b-v2"
SYNTH = "x-nim-mock-synthesized"


@pytest.fixture(scope="module")
def standin() -> Iterator[str]:
    server = RunningServer(create_app([], on_miss="synthesize"))
    yield server.start()
    server.stop()


def embed(base_url: str, **body: Any) -> httpx.Response:
    return httpx.post(base_url + "/v1/embeddings", json=body, timeout=10)


def rank(base_url: str, path: str = "/v1/ranking", **body: Any) -> httpx.Response:
    return httpx.post(base_url + path, json=body, timeout=10)


def error_message(response: httpx.Response) -> str:
    message: str = response.json()["message"]
    return message


def assert_refused(answer: httpx.Response, status: int, wanted: str) -> None:
    """A NIM 1.x flat error body with ``status`` whose message holds ``wanted``."""
    assert answer.status_code == status
    error = answer.json()
    assert list(error) == ["object", "message", "type", "param", "code"]
    assert error["code"] == status
    assert wanted in error["message"]


# -- stand-in embeddings ----------------------------------------------------------------------


@pytest.mark.parametrize("model", sorted(EMBEDDING_MODELS))
def test_every_known_model_embeds_at_its_real_dimension_with_unit_norm(standin: str, model: str) -> None:
    answer = embed(standin, model=model, input=["the first text", "a second one"], input_type="passage")
    assert answer.status_code == 200
    assert answer.headers[SYNTH] == "1"
    body = answer.json()
    assert list(body) == ["object", "data", "model", "usage"]
    assert body["object"] == "list"
    assert body["model"] == model
    assert [list(item) for item in body["data"]] == [["index", "embedding", "object"]] * 2
    assert [item["index"] for item in body["data"]] == [0, 1]
    for item in body["data"]:
        vector = item["embedding"]
        assert item["object"] == "embedding"
        assert len(vector) == EMBEDDING_MODELS[model].dimension
        assert math.isclose(math.fsum(v * v for v in vector), 1.0, rel_tol=1e-5)


def test_a_string_input_is_one_text_and_usage_counts_its_tokens(standin: str) -> None:
    text = "How many tokens does this sentence have?"
    body = embed(standin, model=E5, input=text, input_type="query").json()
    assert len(body["data"]) == 1
    assert body["usage"] == {"prompt_tokens": count_tokens(text), "total_tokens": count_tokens(text)}


def test_equal_texts_embed_equally_across_requests_and_input_types(standin: str) -> None:
    first = embed(standin, model=E5, input=["same words"], input_type="query").json()["data"][0]
    second = embed(standin, model=E5, input=["other", "same words"], input_type="passage").json()["data"][1]
    assert first["embedding"] == second["embedding"]


def test_base64_is_little_endian_float32_of_the_float_vector(standin: str) -> None:
    floats = embed(standin, model=E5, input=["encode me"], input_type="query").json()["data"][0]["embedding"]
    encoded = embed(standin, model=E5, input=["encode me"], input_type="query", encoding_format="base64")
    raw = base64.b64decode(encoded.json()["data"][0]["embedding"])
    assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == floats


def test_dimensions_is_honoured_where_the_model_allows_it(standin: str) -> None:
    for size in (384, 1000, 2048):
        vector = embed(standin, model=LLAMA_EMBED, input=["x"], input_type="query", dimensions=size).json()
        assert len(vector["data"][0]["embedding"]) == size


@pytest.mark.parametrize(
    ("model", "dimensions", "wanted"),
    [
        (E5, 512, "does not support dynamic embedding dimensions"),
        (LLAMA_EMBED, 383, "between 384 and 2048"),
        (LLAMA_EMBED, 4096, "between 384 and 2048"),
        (LLAMA_EMBED, "512", "must be an integer, got a string"),
        (LLAMA_EMBED, True, "must be an integer, got a boolean"),
    ],
)
def test_dimensions_the_model_cannot_give_are_a_400(
    standin: str, model: str, dimensions: Any, wanted: str
) -> None:
    answer = embed(standin, model=model, input=["x"], input_type="query", dimensions=dimensions)
    assert answer.status_code == 400
    assert wanted in error_message(answer)


def test_input_type_is_required_by_asymmetric_models_only(standin: str) -> None:
    refused = embed(standin, model=E5, input=["x"])
    assert refused.status_code == 400
    assert error_message(refused).startswith("'input_type' parameter is required for asymmetric models")
    assert embed(standin, model="baai/bge-m3", input=["x"]).status_code == 200


def test_a_mode_suffix_on_the_model_stands_for_input_type(standin: str) -> None:
    suffixed = embed(standin, model="NV-Embed-QA-query", input=["openai clients"])
    assert suffixed.status_code == 200
    assert suffixed.json()["model"] == "NV-Embed-QA-query"
    plain = embed(standin, model="NV-Embed-QA", input=["openai clients"], input_type="query").json()
    assert suffixed.json()["data"] == plain["data"]
    assert embed(standin, model="NV-Embed-QA-document", input=["x"]).status_code == 404


def test_truncate_none_refuses_an_input_over_the_limit_with_nim_wording(standin: str) -> None:
    long_text = "word " * 600
    answer = embed(standin, model=E5, input=["short", long_text], input_type="passage")
    assert answer.status_code == 400
    assert error_message(answer).startswith(
        f"Input length {count_tokens(long_text)} exceeds maximum allowed token size 512"
    )


def test_truncate_end_and_start_cut_to_the_limit_from_their_side(standin: str) -> None:
    head, tail = "alpha " * 512, "omega " * 300
    text = head + tail
    end = embed(standin, model=E5, input=[text, head], input_type="passage", truncate="END").json()
    assert end["usage"]["prompt_tokens"] == 1024
    assert end["data"][0]["embedding"] == end["data"][1]["embedding"]
    start = embed(standin, model=E5, input=[text], input_type="passage", truncate="START").json()
    assert start["data"][0]["embedding"] != end["data"][0]["embedding"]


@pytest.mark.parametrize(
    ("body", "status", "wanted"),
    [
        ({"input": ["x"]}, 400, "Field required: 'model'"),
        ({"model": 7, "input": ["x"]}, 400, "'model' must be a string"),
        (
            {"model": "acme/unknown-embedder", "input": ["x"]},
            404,
            "The model `acme/unknown-embedder` does not exist",
        ),
        ({"model": E5, "input_type": "query"}, 400, "Field required: 'input'"),
        ({"model": E5, "input": [], "input_type": "query"}, 400, "at least one string"),
        (
            {"model": E5, "input": ["a", 3], "input_type": "query"},
            400,
            "'input.1' must be a string, got a number",
        ),
        ({"model": E5, "input": {"text": "a"}, "input_type": "query"}, 400, "a string or a list of strings"),
        ({"model": E5, "input": ["a"] * 51, "input_type": "query"}, 400, "Batch size 51 exceeds"),
        ({"model": E5, "input": ["a"], "input_type": "document"}, 400, "'input_type' must be one of"),
        (
            {"model": E5, "input": ["a"], "input_type": "query", "truncate": "MIDDLE"},
            400,
            "'truncate' must be",
        ),
        (
            {"model": E5, "input": ["a"], "input_type": "query", "encoding_format": "int8"},
            400,
            "'encoding_format'",
        ),
    ],
)
def test_bad_embedding_requests_get_nim_error_bodies(
    standin: str, body: dict[str, Any], status: int, wanted: str
) -> None:
    assert_refused(embed(standin, **body), status, wanted)


def test_the_hosted_embeddings_path_answers_like_the_local_one(standin: str) -> None:
    body = {"model": E5, "input": ["hosted"], "input_type": "query"}
    local = httpx.post(standin + "/v1/embeddings", json=body, timeout=10)
    hosted = httpx.post(standin + "/v1/retrieval/nvidia/embeddings", json=body, timeout=10)
    assert hosted.status_code == 200
    assert hosted.content == local.content


# -- stand-in ranking -------------------------------------------------------------------------


PASSAGES = [
    {"text": "The weather in Paris is mild in spring."},
    {"text": "H100 GPUs offer 3 TB/s of memory bandwidth per GPU."},
    {"text": "GPU memory bandwidth matters for large models; memory bandwidth is measured in TB/s."},
]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/ranking",
        "/v1/retrieval/nvidia/reranking",
        "/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking",
    ],
)
def test_rankings_cover_every_passage_sorted_by_logit(standin: str, path: str) -> None:
    answer = rank(standin, path, model=RERANK, query={"text": "GPU memory bandwidth"}, passages=PASSAGES)
    assert answer.status_code == 200
    assert answer.headers[SYNTH] == "1"
    rankings = answer.json()["rankings"]
    assert sorted(r["index"] for r in rankings) == [0, 1, 2]
    assert all(list(r) == ["index", "logit"] for r in rankings)
    logits = [r["logit"] for r in rankings]
    assert logits == sorted(logits, reverse=True)
    assert rankings[-1]["index"] == 0  # shares no word with the query
    assert rankings[-1]["logit"] < 0 < rankings[0]["logit"]


def test_a_pair_scores_the_same_in_any_batch(standin: str) -> None:
    query = {"text": "memory bandwidth"}
    alone = rank(standin, model=RERANK, query=query, passages=PASSAGES[2:]).json()["rankings"][0]["logit"]
    together = rank(standin, model=RERANK, query=query, passages=PASSAGES).json()["rankings"]
    assert {r["index"]: r["logit"] for r in together}[2] == alone


def test_ranking_truncate_none_refuses_a_long_pair_and_end_cuts_it(standin: str) -> None:
    model = "nvidia/nv-rerankqa-mistral-4b-v3"  # 512 tokens
    passages = [{"text": "bandwidth " * 600}]
    refused = rank(standin, model=model, query={"text": "bandwidth"}, passages=passages)
    assert refused.status_code == 400
    assert "exceeds maximum allowed token size 512" in error_message(refused)
    cut = rank(standin, model=model, query={"text": "bandwidth"}, passages=passages, truncate="END")
    assert cut.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "wanted"),
    [
        ({"query": {"text": "q"}, "passages": [{"text": "p"}]}, 400, "Field required: 'model'"),
        (
            {"model": "acme/ranker", "query": {"text": "q"}, "passages": [{"text": "p"}]},
            404,
            "does not exist",
        ),
        ({"model": RERANK, "passages": [{"text": "p"}]}, 400, "Field required: 'query'"),
        ({"model": RERANK, "query": "q", "passages": [{"text": "p"}]}, 400, "'query' must be an object"),
        (
            {"model": RERANK, "query": {"text": 1}, "passages": [{"text": "p"}]},
            400,
            "'query.text' must be a string",
        ),
        ({"model": RERANK, "query": {"text": "q"}}, 400, "Field required: 'passages'"),
        ({"model": RERANK, "query": {"text": "q"}, "passages": []}, 400, "at least one passage"),
        ({"model": RERANK, "query": {"text": "q"}, "passages": ["p"]}, 400, "'passages.0' must be an object"),
        (
            {"model": RERANK, "query": {"text": "q"}, "passages": [{"text": "p"}] * 513},
            400,
            "513 passages exceed",
        ),
        (
            {"model": RERANK, "query": {"text": "q"}, "passages": [{"text": "p"}], "truncate": "START"},
            400,
            "'truncate'",
        ),
    ],
)
def test_bad_ranking_requests_get_nim_error_bodies(
    standin: str, body: dict[str, Any], status: int, wanted: str
) -> None:
    assert_refused(rank(standin, **body), status, wanted)


# -- server state -----------------------------------------------------------------------------


def test_the_stand_in_lists_the_retrieval_models(standin: str) -> None:
    listed = {m["id"] for m in httpx.get(standin + "/v1/models", timeout=10).json()["data"]}
    assert set(EMBEDDING_MODELS) <= listed
    assert set(RANKING_MODELS) <= listed


def test_the_wrong_method_on_a_retrieval_route_is_a_405(standin: str) -> None:
    answer = httpx.get(standin + "/v1/ranking", timeout=10)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"


def test_metrics_count_retrieval_requests_by_route(standin: str, build: Any) -> None:
    embed(standin, model=E5, input=["counted"], input_type="query")
    rank(
        standin,
        "/v1/retrieval/nvidia/nv-rerankqa-mistral-4b-v3/reranking",
        model=RERANK,
        query={"text": "q"},
        passages=PASSAGES,
    )
    text = httpx.get(standin + "/v1/metrics", timeout=10).text
    assert (
        build.metric_value(text, 'nim_mock_requests_total{method="POST",route="/v1/embeddings",status="200"}')
        >= 1
    )
    templated = (
        'nim_mock_requests_total{method="POST",route="/v1/retrieval/{org}/{model}/reranking",status="200"}'
    )
    assert build.metric_value(text, templated) >= 1


@pytest.mark.parametrize("fault", ["429", "503", "latency;ms=1"])
def test_faults_apply_to_retrieval_routes(standin: str, fault: str) -> None:
    body = {"model": E5, "input": ["x"], "input_type": "query"}
    answer = httpx.post(
        standin + "/v1/embeddings", json=body, headers={"x-nim-mock-fault": fault}, timeout=10
    )
    expected = int(fault) if fault.isdigit() else 200
    assert answer.status_code == expected


# -- replay -----------------------------------------------------------------------------------

RECORDED_EMBEDDING = {
    "object": "list",
    "data": [{"index": 0, "embedding": [0.25, -0.5, 0.75, 0.353553], "object": "embedding"}],
    "model": E5,
    "usage": {"prompt_tokens": 4, "total_tokens": 4},
}
RECORDED_RANKING = {"rankings": [{"index": 1, "logit": 2.5}, {"index": 0, "logit": -7.25}]}


@pytest.mark.parametrize("on_miss", ["error", "synthesize"])
@pytest.mark.parametrize(
    ("path", "body", "answer"),
    [
        ("/v1/embeddings", {"input": ["recorded"], "model": E5, "input_type": "query"}, RECORDED_EMBEDDING),
        (
            "/v1/retrieval/nvidia/embeddings",
            {"input": ["recorded"], "model": E5, "input_type": "query"},
            RECORDED_EMBEDDING,
        ),
        (
            "/v1/ranking",
            {"model": RERANK, "query": {"text": "q"}, "passages": [{"text": "a"}, {"text": "b"}]},
            RECORDED_RANKING,
        ),
        (
            "/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking",
            {"model": RERANK, "query": {"text": "q"}, "passages": [{"text": "a"}, {"text": "b"}]},
            RECORDED_RANKING,
        ),
    ],
)
def test_a_recording_replays_byte_for_byte_with_keys_in_any_order(
    serve: Callable[..., str], build: Any, path: str, body: dict[str, Any], answer: Any, on_miss: str
) -> None:
    recorded = build.json_response(answer)
    base_url = serve([build.cassette("retrieval/one", (build.post(body, path), recorded))], on_miss=on_miss)
    reordered = dict(reversed(list(body.items())))
    replayed = httpx.post(base_url + path, json=reordered, timeout=10)
    assert replayed.status_code == 200
    assert replayed.content == compact_json(answer)
    assert SYNTH not in replayed.headers
    assert replayed.headers["server"] == "uvicorn"


def test_a_miss_without_the_stand_in_is_a_404_naming_the_difference(
    serve: Callable[..., str], build: Any
) -> None:
    body = {"input": ["recorded"], "model": E5, "input_type": "query"}
    base_url = serve(
        [
            build.cassette(
                "retrieval/one", (build.post(body, "/v1/embeddings"), build.json_response(RECORDED_EMBEDDING))
            )
        ]
    )
    missed = httpx.post(base_url + "/v1/embeddings", json={**body, "input": ["other"]}, timeout=10)
    assert missed.status_code == 404
    assert missed.headers["x-nim-mock-miss"] == "1"
    assert "input" in error_message(missed)


def test_a_recorded_refusal_replays_though_the_stand_in_would_answer(
    serve: Callable[..., str], build: Any
) -> None:
    body = {"input": ["x"], "model": E5}
    refusal = RecordedResponse(
        400,
        (("content-type", "application/json"),),
        b'{"error":"\'input_type\' parameter is required for asymmetric models"}',
    )
    base_url = serve(
        [build.cassette("retrieval/refusal", (build.post(body, "/v1/embeddings"), refusal))],
        on_miss="synthesize",
    )
    answer = httpx.post(base_url + "/v1/embeddings", json=body, timeout=10)
    assert answer.status_code == 400
    assert answer.content == refusal.body
