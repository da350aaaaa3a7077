"""A recording wins, whatever was recorded: the mock matches before it validates.

A cassette of a real server refusing a bad request (a 500 for a missing ``messages``, a 422 for
broken JSON, a 415 for the wrong content type) replays that refusal over a real socket; only a
request no recording answers gets the mock's own 400. Any interaction a cassette can hold either
replays or ``nim-mock check`` says why it cannot.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from strategies import cassettes

from nim_mock import Cassette, RecordedRequest, RecordedResponse, save_cassette
from nim_mock.cassettes.check import check_folders

CHAT = "/v1/chat/completions"
JSON_CT = {"content-type": "application/json"}
VLLM_500 = {"object": "error", "message": "'messages'", "type": "InternalServerError", "code": 500}
FASTAPI_422 = {"detail": [{"type": "json_invalid", "loc": ["body", 14], "msg": "JSON decode error"}]}


def _refusals(build: Any) -> Cassette:
    no_messages = RecordedRequest("POST", CHAT, dict(JSON_CT), body={"model": "m"})
    broken = RecordedRequest("POST", CHAT, dict(JSON_CT), raw_body=b'{"model": "m",')
    wrong_type = RecordedRequest(
        "POST", CHAT, {"content-type": "text/plain"}, body={"model": "t", "messages": []}
    )
    return build.cassette(
        "refused",
        (no_messages, build.json_response(VLLM_500, 500)),
        (broken, build.json_response(FASTAPI_422, 422)),
        (wrong_type, build.json_response({"detail": "Unsupported media type"}, 415)),
    )


@pytest.mark.parametrize("on_miss", ["error", "synthesize"])
def test_a_recorded_refusal_replays_instead_of_the_mocks_own(
    on_miss: str, serve: Any, http: httpx.Client, build: Any
) -> None:
    base_url = serve([_refusals(build), build.plain_chat()], on_miss=on_miss)
    missing = http.post(base_url + CHAT, json={"model": "m"})
    assert (missing.status_code, missing.json()) == (500, VLLM_500)
    broken = http.post(base_url + CHAT, content=b'{"model": "m",', headers=JSON_CT)
    assert (broken.status_code, broken.json()) == (422, FASTAPI_422)
    wrong = http.post(
        base_url + CHAT, content=b'{"model":"t","messages":[]}', headers={"content-type": "text/plain"}
    )
    assert wrong.status_code == 415
    assert http.post(base_url + CHAT, json=build.chat_body("Hi")).json()["choices"][0]["message"]["content"]


def test_the_same_bad_requests_unrecorded_get_the_mocks_400(
    serve: Any, http: httpx.Client, build: Any
) -> None:
    base_url = serve([build.plain_chat()])
    assert http.post(base_url + CHAT, json={"model": "x"}).status_code == 400
    assert http.post(base_url + CHAT, content=b'{"model": "x",', headers=JSON_CT).status_code == 400
    assert (
        http.post(base_url + CHAT, content=b"{}", headers={"content-type": "text/plain"}).status_code == 415
    )


def test_recordings_of_any_method_and_of_server_state_replay(
    serve: Any, http: httpx.Client, build: Any
) -> None:
    report = {"object": "list", "data": []}
    metrics = RecordedResponse(
        200, (("content-type", "text/plain; version=0.0.4"),), b"vllm:num_requests 0\n"
    )
    cassette = build.cassette(
        "state",
        (RecordedRequest("PROPFIND", "/v1/files", {}), build.json_response(report, 207)),
        (build.recorded_get("/v1/metrics"), metrics),
        (RecordedRequest("GET", "/v1/health/ready", {}, body={"probe": 1}), build.json_response({"ok": 1})),
    )
    base_url = serve([cassette])
    assert http.request("PROPFIND", base_url + "/v1/files").status_code == 207
    assert http.get(base_url + "/v1/metrics").content == b"vllm:num_requests 0\n"
    probed = http.request("GET", base_url + "/v1/health/ready", content=b'{"probe": 1}', headers=JSON_CT)
    assert probed.json() == {"ok": 1}
    assert http.get(base_url + "/v1/health/ready").json()["message"] == "Service is ready."
    unknown = http.request("PROPFIND", base_url + "/v1/other")
    assert unknown.status_code == 404
    assert http.request("PROPFIND", base_url + "/v1/models").status_code == 405


def _resend(client: httpx.Client, base_url: str, request: RecordedRequest) -> httpx.Request:
    """The request as a client sends it again: method, path, and the body as JSON or as its bytes
    (headers are never matched, so none are sent)."""
    content: bytes | None = None
    if request.body is not None:
        content = json.dumps(request.body).encode("utf-8")
    elif request.raw_body is not None:
        content = request.raw_body
    return client.build_request(request.method, base_url + request.path, content=content)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cassette=cassettes(name="any"))
def test_every_interaction_replays_or_check_says_why_not(
    cassette: Cassette, serve: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("any")
    save_cassette(cassette, folder / "any.json")
    _, problems = check_folders([folder])
    unreplayable = {p.field.split(".")[0] for p in problems if "never replays" in p.problem}
    base_url = serve([cassette])
    with httpx.Client(timeout=10.0) as client:
        for index, interaction in enumerate(cassette.interactions):
            response = client.send(_resend(client, base_url, interaction.request), stream=True)
            try:
                body = b"".join(response.iter_raw())
            finally:
                response.close()
            recorded = interaction.response
            expected = (
                b"".join(e.raw for e in recorded.events) if recorded.events is not None else recorded.body
            )
            replayed = response.status_code == recorded.status and (
                recorded.status in (204, 304) or body == expected
            )
            assert replayed or f"interactions[{index}]" in unreplayable, (interaction, response.status_code)


@pytest.mark.parametrize(
    ("request_", "field", "needle"),
    [
        (RecordedRequest("POST", CHAT, {}, raw_body=b'{"model": "m"}'), "request.text", "store the body"),
        (RecordedRequest("GET", "/v1/./models", {}), "request.path", "'.' or '..' segment"),
        (RecordedRequest("GET", "/v1/a/../models", {}), "request.path", "'.' or '..' segment"),
        (RecordedRequest("GET", "/v1/models?", {}), "request.path", "empty query"),
    ],
)
def test_check_names_an_interaction_that_can_never_replay(
    request_: RecordedRequest, field: str, needle: str, build: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("never")
    save_cassette(build.cassette("never", (request_, build.json_response({}))), folder / "never.json")
    _, problems = check_folders([folder])
    assert [(p.field, needle in p.problem) for p in problems] == [(f"interactions[0].{field}", True)]


def test_check_passes_recorded_refusals_since_they_replay(
    build: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("refused")
    save_cassette(_refusals(build), folder / "refused.json")
    assert check_folders([folder]) == (1, [])
