"""Server-state endpoints: health, version, model listing and metrics, recorded or NIM's own."""

from __future__ import annotations

import json
from typing import Any

import httpx
from bundled_cassettes import NIM_MODEL_CARD_KEYS

from nim_mock import RecordedRequest, RecordedResponse
from nim_mock.app import harness_version
from nim_mock.cassette import compact_json
from nim_mock.wire.identity import NIM1

HOSTED_ENTRY = {
    "id": "meta/llama-3.3-70b-instruct",
    "object": "model",
    "created": 735790403,
    "owned_by": "meta",
}
NIM_ENTRY = {
    "id": "meta/llama-3.1-8b-instruct",
    "object": "model",
    "created": 1,
    "owned_by": "system",
    "root": "meta/llama-3.1-8b-instruct",
    "parent": None,
    "max_model_len": 131072,
    "permission": [],
}


def _listing_cassette(build: Any, entry: dict[str, Any], name: str = "models/list") -> Any:
    request = RecordedRequest("GET", "/v1/models", {"accept": "application/json"})
    return build.cassette(name, (request, build.json_response({"object": "list", "data": [entry]})))


def test_health_answers_exactly_like_nim(serve: Any, http: httpx.Client) -> None:
    base_url = serve([])
    for path, message in (("/v1/health/ready", "Service is ready."), ("/v1/health/live", "Service is live.")):
        response = http.get(base_url + path)
        assert response.status_code == 200
        assert response.content == compact_json({"object": "health.response", "message": message})
        assert [k for k, _ in response.headers.raw] == [
            b"date",
            b"server",
            b"system-health",
            b"content-length",
            b"content-type",
        ]
        assert response.headers["system-health"] == "True"


def test_recorded_health_is_replayed_in_order_then_nim_default(
    serve: Any, http: httpx.Client, build: Any
) -> None:
    warming = RecordedResponse(
        503,
        (("content-type", "application/json"),),
        compact_json(
            {
                "object": "error",
                "message": "Service is starting",
                "type": "ServiceUnavailableError",
                "param": None,
                "code": 503,
            }
        ),
    )
    cassette = build.cassette("warmup", (RecordedRequest("GET", "/v1/health/ready"), warming))
    base_url = serve([cassette])
    first = http.get(base_url + "/v1/health/ready")
    assert (first.status_code, first.content) == (503, warming.body)
    # The only recorded answer was played; the matcher starts over, as for every cassette.
    assert http.get(base_url + "/v1/health/ready").status_code == 503


def test_version_reports_the_servers_release_not_the_harness_version(serve: Any, http: httpx.Client) -> None:
    response = http.get(serve([]) + "/v1/version")
    assert response.content == compact_json({"release": NIM1.release, "api": "1.0.0"})
    assert NIM1.release != harness_version()


def test_listing_without_a_recording_is_a_nim_model_list(serve: Any, http: httpx.Client, build: Any) -> None:
    other = build.plain_chat("chat/other")
    other_body = dict(other.interactions[0].request.body, model="nvidia/nemotron-mini-4b-instruct")
    second = build.cassette("chat/second", (build.post(other_body), other.interactions[0].response))
    base_url = serve([build.plain_chat(), second])
    listing = http.get(base_url + "/v1/models").json()
    assert listing["object"] == "list"
    assert [m["id"] for m in listing["data"]] == [
        "meta/llama-3.1-8b-instruct",
        "nvidia/nemotron-mini-4b-instruct",
    ]
    first = listing["data"][0]
    assert list(first) == NIM_MODEL_CARD_KEYS
    assert (first["owned_by"], first["root"], first["parent"]) == ("system", first["id"], None)
    assert first["permission"][0]["object"] == "model_permission"
    assert http.get(base_url + "/v1/models").json() == listing  # stable between calls


def test_recorded_hosted_listing_gains_the_other_cassettes_models_in_its_shape(
    serve: Any, http: httpx.Client, build: Any
) -> None:
    base_url = serve([_listing_cassette(build, HOSTED_ENTRY), build.plain_chat()])
    response = http.get(base_url + "/v1/models")
    data = response.json()["data"]
    assert data[0] == HOSTED_ENTRY
    assert data[1] == {
        "id": "meta/llama-3.1-8b-instruct",
        "object": "model",
        "created": 735790403,
        "owned_by": "meta",
    }
    assert response.headers["content-length"] == str(len(response.content))


def test_recorded_nim_listing_gains_models_with_root_and_system_owner(
    serve: Any, http: httpx.Client, build: Any
) -> None:
    other_body = dict(build.chat_body("Hi"), model="mistralai/mixtral-8x7b-instruct-v0.1")
    chat = build.cassette(
        "chat/mixtral", (build.post(other_body), build.plain_chat().interactions[0].response)
    )
    base_url = serve([_listing_cassette(build, NIM_ENTRY), chat])
    data = http.get(base_url + "/v1/models").json()["data"]
    assert data[1] == dict(
        NIM_ENTRY, id="mistralai/mixtral-8x7b-instruct-v0.1", root="mistralai/mixtral-8x7b-instruct-v0.1"
    )


def test_listing_leaves_out_models_the_recorded_server_said_do_not_exist(
    serve: Any, http: httpx.Client, build: Any
) -> None:
    unknown = build.cassette(
        "errors/unknown_model",
        (
            build.post(dict(build.chat_body("Hi"), model="nobody/no-such-model")),
            build.json_response({"error": {"message": "The model does not exist."}}, status=404),
        ),
    )
    default = build.cassette(
        "chat/default_model",
        (build.post(dict(build.chat_body("Hi"), model="")), build.plain_chat().interactions[0].response),
    )
    cassette = _listing_cassette(build, NIM_ENTRY)
    base_url = serve([cassette, unknown, default])
    assert http.get(base_url + "/v1/models").content == cassette.interactions[0].response.body
    built = http.get(serve([unknown, default, build.plain_chat()]) + "/v1/models").json()
    assert [entry["id"] for entry in built["data"]] == ["meta/llama-3.1-8b-instruct"]


def test_recorded_listing_naming_every_model_is_replayed_byte_for_byte(
    serve: Any, http: httpx.Client, build: Any
) -> None:
    cassette = _listing_cassette(build, NIM_ENTRY)
    base_url = serve([cassette, build.plain_chat()])
    assert http.get(base_url + "/v1/models").content == cassette.interactions[0].response.body


def test_metrics_count_routes_statuses_and_matches(serve: Any, http: httpx.Client, build: Any) -> None:
    base_url = serve([build.plain_chat()])
    http.post(base_url + "/v1/chat/completions", json=build.chat_body("Hi"))
    http.post(base_url + "/v1/chat/completions", json=build.chat_body("unrecorded"))
    http.get(base_url + "/nowhere")
    response = http.get(base_url + "/v1/metrics")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"  # NIM 1.x's media_type
    text = response.text
    value = build.metric_value
    assert (
        value(text, 'nim_mock_requests_total{method="POST",route="/v1/chat/completions",status="200"}') == 1
    )
    assert (
        value(text, 'nim_mock_requests_total{method="POST",route="/v1/chat/completions",status="404"}') == 1
    )
    assert value(text, 'nim_mock_requests_total{method="GET",route="unknown",status="404"}') == 1
    assert value(text, "nim_mock_replay_matched_total") == 1
    assert value(text, "nim_mock_replay_unmatched_total") == 1
    assert json.loads(http.get(base_url + "/v1/version").content)["api"] == "1.0.0"
