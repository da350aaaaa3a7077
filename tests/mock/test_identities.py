"""One identity per server: headers, listing, health, version, metrics and errors agree within it.

Each identity's server runs on a real socket (uvicorn); what a client, a probe and a scraper see
of it is compared with what the real server sends (nim-wire-facts.md, the vLLM live target).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from nim_mock import create_app, load_cassettes, serve_in_thread
from nim_mock.cassettes.persist import bundled_cassettes_dir
from nim_mock.synth.config import SynthConfig
from nim_mock.wire.identity import IDENTITIES, NIM1, NIM2, check_identity

MODEL = "meta/llama-3.1-8b-instruct"
CHAT = "/v1/chat/completions"
SECOND = "nvidia/llama-3.3-nemotron-super-49b-v1"
NOT_SERVED = "The model `no/such` does not exist."
FAMILY = re.compile(r"^# TYPE (\S+) ", re.MULTILINE)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """A stand-in per identity serving two models, for the whole module (the tests only read state)."""
    config = SynthConfig(models=(MODEL, SECOND), max_model_len=4096, served_only=True)
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(
                serve_in_thread(create_app([], on_miss="synthesize", synth=config, identity=name))
            )
            for name in IDENTITIES
        }


def _families(text: str) -> set[str]:
    return set(FAMILY.findall(text))


def test_every_answer_the_mock_builds_carries_the_servers_headers(servers: dict[str, str]) -> None:
    with httpx.Client(timeout=30) as http:
        for name, base_url in servers.items():
            answers = [
                http.get(base_url + "/v1/models"),
                http.get(base_url + "/v1/metrics"),
                http.post(
                    base_url + CHAT, json={"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
                ),
                http.post(
                    base_url + CHAT, json={"model": "no/such", "messages": [{"role": "user", "content": "x"}]}
                ),
                http.get(base_url + "/v1/nowhere"),
            ]
            for answer in answers:
                if name == "hosted":
                    assert "server" not in answer.headers
                    assert answer.headers["access-control-expose-headers"] == "nvcf-reqid"
                    expected = "fulfilled" if answer.status_code < 400 else "errored"
                    assert answer.headers["nvcf-status"] == expected
                    assert answer.headers["vary"] == "Origin"
                else:
                    assert answer.headers["server"] == "uvicorn", (name, answer.request.url)
                    assert ("vary" in answer.headers) == (name == "nim2")


def test_nvcf_request_ids_differ_per_answer(servers: dict[str, str]) -> None:
    with httpx.Client(timeout=30) as http:
        ids = {http.get(servers["hosted"] + "/v1/models").headers["nvcf-reqid"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("name", IDENTITIES)
def test_the_listing_is_stable_and_filled_as_the_server_fills_it(servers: dict[str, str], name: str) -> None:
    with httpx.Client(timeout=30) as http:
        first, second = (http.get(servers[name] + "/v1/models") for _ in range(2))
    assert first.content == second.content  # a client picks the same default model every time
    data = first.json()["data"]
    assert [entry["id"] for entry in data] == [MODEL, "nvidia/llama-3.3-nemotron-super-49b-v1"]
    if name == "hosted":
        assert [sorted(entry) for entry in data] == [["created", "id", "object", "owned_by"]] * 2
        assert [entry["owned_by"] for entry in data] == ["meta", "nvidia"]
        assert data[0]["created"] != data[1]["created"]
        return
    identity = check_identity(name)
    assert {entry["owned_by"] for entry in data} == {identity.owned_by}
    assert {entry["max_model_len"] for entry in data} == {4096}
    assert [entry["root"] for entry in data] == [entry["id"] for entry in data]
    permissions = [entry["permission"][0]["id"] for entry in data]
    assert len(set(permissions)) == 2
    assert all(re.fullmatch(r"modelperm-[0-9a-f]{16}", p) for p in permissions)


def test_a_listing_never_shows_a_model_the_server_refused(serve: Any, http: httpx.Client) -> None:
    recorded = load_cassettes([bundled_cassettes_dir() / "errors"])
    listed = {entry["id"] for entry in http.get(serve(recorded) + "/v1/models").json()["data"]}
    # models some recording answered with a success (a 202 to poll, a 200 after a 429) are listed
    assert listed == {"meta/llama-3.1-8b-instruct", "meta/llama-3.3-70b-instruct"}
    # those only ever refused (403, 404 "does not exist", 500) are not
    assert not listed & {
        "minimaxai/minimax-m2.7",
        "moonshotai/kimi-k2-instruct",
        "qwen/qwen3-235b-a22b",
        "meta/llama3-8b",
    }


def test_health_and_version_are_the_servers_own(servers: dict[str, str], snapshot: Any) -> None:
    seen: dict[str, dict[str, Any]] = {}
    with httpx.Client(timeout=30) as http:
        for name, base_url in servers.items():
            for path in ("/v1/health/ready", "/v1/health/live", "/health", "/v1/version", "/version"):
                answer = http.get(base_url + path)
                seen[f"{name} {path}"] = {
                    "status": answer.status_code,
                    "system-health": answer.headers.get("system-health"),
                    "content-type": answer.headers.get("content-type"),
                    "body": answer.text,
                }
    assert seen == snapshot
    assert json.loads(seen["nim1 /v1/version"]["body"])["release"] == NIM1.release
    assert json.loads(seen["nim2 /version"]["body"]) == {"version": "0.32.0"}


def test_metrics_use_the_servers_names(servers: dict[str, str]) -> None:
    with httpx.Client(timeout=30) as http:
        for base_url in servers.values():  # something to count
            http.post(base_url + CHAT, json={"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]})
        nim1 = http.get(servers["nim1"] + "/metrics").text
        nim2_engine = http.get(servers["nim2"] + "/metrics")
        nim2_nim = http.get(servers["nim2"] + "/v1/metrics").text
        hosted = http.get(servers["hosted"] + "/metrics").text
    assert {"num_requests_running", "prompt_tokens_total", "time_to_first_token_seconds"} <= _families(nim1)
    assert f'prompt_tokens_total{{model_name="{MODEL}"}}' in nim1
    assert nim2_engine.headers["content-type"] == "text/plain; version=1.0.0; charset=utf-8"
    engine = _families(nim2_engine.text)
    assert {
        "vllm:num_requests_running",
        "vllm:generation_tokens_total",
        "vllm:e2e_request_latency_seconds",
    } <= engine
    assert {"http_requests_total", "process_resident_memory_bytes", "python_info"} <= engine
    assert not any(family.startswith("nim_mock_") for family in engine)  # vLLM's own route
    assert "nim_mock_requests_total" in _families(nim2_nim)
    assert engine <= _families(nim2_nim)
    success = re.search(
        rf'^vllm:request_success_total{{engine="0",finished_reason="stop",model_name="{re.escape(MODEL)}"}}'
        r" (\S+)$",
        nim2_nim,
        re.MULTILINE,
    )
    assert success is not None
    assert float(success[1]) >= 1
    assert {family for family in _families(hosted) if not family.startswith("nim_mock_")} == set()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "nim1",
            {"object": "error", "message": NOT_SERVED, "type": "NotFoundError", "param": None, "code": 404},
        ),
        (
            "nim2",
            {
                "error": {
                    "message": f"{NOT_SERVED} Valid aliases: {MODEL}, {SECOND}.",
                    "type": "NotFoundError",
                    "param": "model",
                    "code": 404,
                }
            },
        ),
        ("hosted", {"status": 404, "title": "Not Found", "detail": NOT_SERVED}),
    ],
)
def test_an_unserved_model_is_a_404_in_the_servers_layout(
    servers: dict[str, str], name: str, expected: dict[str, Any]
) -> None:
    body = {"model": "no/such", "messages": [{"role": "user", "content": "Hi"}]}
    with httpx.Client(timeout=30) as http:
        answer = http.post(servers[name] + CHAT, json=body)
    assert (answer.status_code, answer.json()) == (404, expected)


def test_routes_a_server_lacks_are_answered_as_that_server_does(servers: dict[str, str]) -> None:
    with httpx.Client(timeout=30) as http:
        nim2_missing = http.get(servers["nim2"] + "/v1/nowhere")
        nim2_method = http.get(servers["nim2"] + CHAT)
        hosted_missing = http.get(servers["hosted"] + "/v1/health/ready")
    assert (nim2_missing.status_code, nim2_missing.content) == (404, b'{"detail":"Not Found"}')
    assert (nim2_method.status_code, nim2_method.content) == (405, b'{"detail":"Method Not Allowed"}')
    assert nim2_method.headers["allow"] == "POST"
    assert (hosted_missing.status_code, hosted_missing.text) == (404, "404 page not found\n")


def test_nim1_refuses_a_content_type_with_parameters_as_nim_1x_does(servers: dict[str, str]) -> None:
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]})
    with httpx.Client(timeout=30) as http:
        answers = {
            name: http.post(
                servers[name] + CHAT,
                content=body,
                headers={"content-type": "application/json; charset=utf-8"},
            )
            for name in ("nim1", "nim2")
        }
    assert answers["nim1"].status_code == 415
    assert answers["nim1"].json()["message"] == (
        "Unsupported media type: application/json; charset=utf-8. It must be application/json"
    )
    assert answers["nim2"].status_code == 200  # vLLM compares the media type only


def test_nim2_bodies_are_vllm_032s(servers: dict[str, str]) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
    with httpx.Client(timeout=30) as http:
        nim1 = http.post(servers["nim1"] + CHAT, json=body).json()
        nim2 = http.post(servers["nim2"] + CHAT, json=body).json()
    assert nim2["system_fingerprint"] == "vllm-0.32.0-ef8bd71f"
    assert "tool_calls" not in nim2["choices"][0]["message"]  # vLLM 0.32 leaves it out of plain messages
    assert list(nim2["choices"][0]["message"]) == [
        "role", "content", "refusal", "annotations", "audio", "function_call", "reasoning",
    ]  # fmt: skip
    assert nim1["choices"][0]["message"]["tool_calls"] == []  # vLLM 0.9.2 sends the empty list
    assert "system_fingerprint" not in nim1


def test_the_hosted_identity_refuses_empty_assistant_content_beside_tool_calls(
    serve: Any, http: httpx.Client
) -> None:
    recorded = load_cassettes([bundled_cassettes_dir() / "errors"])
    (cassette,) = [c for c in recorded if c.name == "gateway_empty_assistant_content"]
    interaction = cassette.interactions[0]
    config = SynthConfig(models=(str(interaction.request.model),), served_only=True)
    base_url = serve([], on_miss="synthesize", synth=config, identity="hosted")
    answer = http.post(base_url + CHAT, json=interaction.request.body)
    assert answer.status_code == interaction.response.status == 400
    assert answer.json() == json.loads(interaction.response.body)
    assert answer.headers["nvcf-status"] == "errored"
    fixed = json.loads(json.dumps(interaction.request.body))
    fixed["messages"][1]["content"] = None  # the gateway accepts null
    assert http.post(base_url + CHAT, json=fixed).status_code == 200
    nim1 = serve([], on_miss="synthesize", synth=config)
    assert http.post(nim1 + CHAT, json=interaction.request.body).status_code == 200  # a rule of hosted only


def test_error_layout_is_a_deprecated_name_for_an_identity() -> None:
    assert create_app([], error_layout="vllm").state.identity == NIM2
    assert create_app([], error_layout="nim").state.identity == NIM1
    assert create_app([]).state.identity == NIM1
    with pytest.raises(ValueError, match="contradicts identity 'hosted'"):
        create_app([], identity="hosted", error_layout="nim")
    with pytest.raises(ValueError, match="choose one of: nim1, nim2, hosted"):
        create_app([], identity="nim3")


def test_the_stand_in_rules_for_the_battery_exist() -> None:
    rules = Path(__file__).resolve().parents[1] / "conformance" / "stand_in_rules.json"
    assert json.loads(rules.read_text(encoding="utf-8")) == {"default": "Hello from the tiny test model."}


def test_nim1_stands_in_for_any_model_until_the_served_ones_are_named(serve: Any, http: httpx.Client) -> None:
    body = {"model": "someone/new-model", "messages": [{"role": "user", "content": "Hi"}]}
    anything = serve([], on_miss="synthesize")
    assert http.post(anything + CHAT, json=body).json()["model"] == "someone/new-model"
    named = serve([], on_miss="synthesize", synth=SynthConfig(models=(MODEL,), served_only=True))
    assert http.post(named + CHAT, json=body).status_code == 404
    nim2 = serve([], on_miss="synthesize", identity="nim2")  # vLLM serves only what it loaded
    assert http.post(nim2 + CHAT, json=body).status_code == 404
