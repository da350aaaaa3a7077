"""The bundled cassettes obey the wire facts they claim to show.

The cassettes in ``cassettes/`` are what the mock serves by default and what users copy, so a
wrong byte there teaches every client the wrong thing. These checks read the files as plain JSON
(independent of the loader, so a loader bug cannot hide a cassette bug) and hold each one to the
layout its response declares: NIM 1.x / vLLM (``server: uvicorn``, no ``x-request-id``), the hosted
gateway (``nvcf-reqid`` / ``www-authenticate``, no ``server``), or ``transformers serve``
(``x-request-id``). Sources for every rule: ../shared/nim-wire-facts.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nim_mock._persist import load_cassettes
from nim_mock.cassette import compact_json

ROOT = Path(__file__).resolve().parents[2]
CASSETTE_DIR = ROOT / "cassettes"
FILES = sorted(CASSETTE_DIR.rglob("*.json"))
NAMES = [p.relative_to(CASSETTE_DIR).with_suffix("").as_posix() for p in FILES]
DONE = "data: [DONE]\n\n"

CHAT_ID = re.compile(r"chatcmpl-[0-9a-f]{32}")
CMPL_ID = re.compile(r"cmpl-[0-9a-f]{32}")
TOOL_ID = re.compile(r"chatcmpl-tool-[0-9a-f]{32}")
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

NIM_CHAT_KEYS = [
    "id",
    "object",
    "created",
    "model",
    "choices",
    "usage",
    "prompt_logprobs",
    "kv_transfer_params",
]
NIM_CHOICE_KEYS = ["index", "message", "logprobs", "finish_reason", "stop_reason"]
NIM_MESSAGE_KEYS = ["role", "reasoning_content", "content", "tool_calls"]
NIM_USAGE_KEYS = ["prompt_tokens", "total_tokens", "completion_tokens"]
FLAT_ERROR_KEYS = ["object", "message", "type", "param", "code"]
NESTED_ERROR_KEYS = ["message", "type", "param", "code"]
NEVER_STORED = {"date", "content-length", "transfer-encoding", "connection"}


def load(name: str) -> Any:
    return json.loads((CASSETTE_DIR / f"{name}.json").read_text(encoding="utf-8"))


def interactions(name: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for interaction in load(name)["interactions"]:
        yield interaction["request"], interaction["response"]


def header(response: dict[str, Any], key: str) -> str | None:
    return next((v for k, v in response.get("headers", []) if k == key), None)


def layout(response: dict[str, Any]) -> str:
    """Which server produced the response, read from its headers (the description says the same)."""
    if header(response, "x-request-id") is not None:
        return "transformers"
    if header(response, "server") == "uvicorn":
        return "nim"
    if header(response, "nvcf-reqid") is not None or header(response, "www-authenticate") is not None:
        return "gateway"
    raise AssertionError(f"response headers match no known server: {response.get('headers')}")


def chunks(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["data"] for e in response["events"] if "data" in e]


def nim_streams() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for name in NAMES:
        for request, response in interactions(name):
            if "events" in response and layout(response) == "nim":
                yield name, request, response


NIM_STREAMS = list(nim_streams())
NIM_STREAM_IDS = [name for name, _, _ in NIM_STREAMS]


def test_the_bundle_covers_every_scenario_of_the_issue() -> None:
    # a guard against silently dropping a file: the issue lists these scenarios
    assert len(FILES) >= 35
    for folder in ("chat", "tools", "structured", "images", "reasoning", "completions", "models", "errors"):
        assert any(n.startswith(f"{folder}/") for n in NAMES), folder
    assert sum(1 for n in NAMES if n.startswith("transformers/")) in (2, 3)


# ------------------------------------------------------------------------------------------
# format v1 (cassettes/README.md), checked without the loader


@pytest.mark.parametrize("name", NAMES)
def test_file_follows_format_v1(name: str) -> None:
    doc = load(name)
    assert doc["format"] == "nim-harness.cassette"
    assert doc["version"] == 1
    assert isinstance(doc["description"], str)
    assert len(doc["description"]) > 40
    assert doc["interactions"], "at least one interaction"
    for request, response in interactions(name):
        assert request["method"] in {"GET", "POST"}
        assert request["path"].startswith("/")
        assert set(request) <= {"method", "path", "headers", "json", "text"}
        assert 100 <= response["status"] <= 599
        bodies = [k for k in ("json", "text", "base64", "events") if k in response]
        assert len(bodies) <= 1, bodies
        for key, value in response.get("headers", []):
            assert key == key.lower(), key
            assert key not in NEVER_STORED, key
            assert isinstance(value, str)
        if "events" in response:
            times = [e["t_ms"] for e in response["events"]]
            assert times == sorted(times), "t_ms must never go backwards"
            assert response["t_headers_ms"] <= times[0]
            for event in response["events"]:
                assert len(set(event) & {"data", "raw"}) == 1, event


@pytest.mark.parametrize("name", NAMES)
def test_timing_is_realistic(name: str) -> None:
    for request, response in interactions(name):
        t_headers = response["t_headers_ms"]
        if "events" not in response:
            assert 1 <= t_headers <= 5000
            continue
        assert 5 <= t_headers <= 80, "headers leave before generation starts"
        first = response["events"][0]["t_ms"]
        assert first <= 500, "first token"
        gaps = [
            b["t_ms"] - a["t_ms"] for a, b in zip(response["events"], response["events"][1:], strict=False)
        ]
        assert max(gaps) <= 250, "no stall between events (a held-back tool call is the longest)"
        assert request["method"] == "POST"


def test_no_secret_anywhere() -> None:
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        assert "nvapi-" not in text, path
        assert not re.search(r"Bearer [A-Za-z0-9._~+/-]{12,}", text), path
        for request, _ in interactions(path.relative_to(CASSETTE_DIR).with_suffix("").as_posix()):
            assert set(request.get("headers", {})) <= {"content-type", "accept"}, path


def canonical_request(request: dict[str, Any]) -> str:
    return json.dumps([request["method"], request["path"], request.get("json")], sort_keys=True)


def test_every_request_is_distinct_across_cassettes() -> None:
    """Matching must be unambiguous; only a cassette's own repeats (retries, polls) may coincide."""
    owners: dict[str, set[str]] = {}
    for name in NAMES:
        for request, _ in interactions(name):
            owners.setdefault(canonical_request(request), set()).add(name)
    shared = {key: names for key, names in owners.items() if len(names) > 1}
    assert not shared


def test_repeated_requests_live_in_one_cassette_on_purpose() -> None:
    repeats = {
        name: max(Counter(canonical_request(r) for r, _ in interactions(name)).values()) for name in NAMES
    }
    assert {n for n, count in repeats.items() if count > 1} == {
        "errors/gateway_429_retry",
        "errors/gateway_202_polling",
        "models/list",
    }


@pytest.mark.parametrize("name", NAMES)
def test_request_bodies_are_what_clients_send(name: str) -> None:
    for request, response in interactions(name):
        accept = request["headers"].get("accept")
        if request["method"] == "GET":
            assert "json" not in request
            continue
        body = request["json"]
        assert request["headers"]["content-type"] == "application/json"
        assert isinstance(body.get("model"), str)
        assert "/" in body["model"]
        if body.get("stream"):
            assert accept in {"text/event-stream", "*/*"}
            assert "events" in response or response["status"] >= 400
        else:
            assert accept in {"application/json", "*/*"}
            assert "events" not in response


# ------------------------------------------------------------------------------------------
# NIM 1.x / vLLM streams


@pytest.mark.parametrize(("name", "request_", "response"), NIM_STREAMS, ids=NIM_STREAM_IDS)
def test_nim_stream_framing(name: str, request_: dict[str, Any], response: dict[str, Any]) -> None:
    assert header(response, "content-type") == "text/event-stream; charset=utf-8"
    events = response["events"]
    assert events[-1] == {"t_ms": events[-1]["t_ms"], "raw": DONE}
    for event in events[:-1]:
        if "data" in event:
            wire = b"data: " + compact_json(event["data"]) + b"\n\n"
            assert wire.count(b"\n") == 2
        else:
            error_event(event["raw"])  # the only raw event before [DONE] is an in-stream error
    data = chunks(response)
    assert len({(c["id"], c["created"], c["model"], c["object"]) for c in data}) == 1
    first = data[0]
    assert first["model"] == request_["json"]["model"]
    assert 1_790_000_000 < first["created"] < 1_800_000_000
    if request_["path"] == "/v1/chat/completions":
        assert CHAT_ID.fullmatch(first["id"])
        assert first["object"] == "chat.completion.chunk"
        assert first["choices"] == [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
            }
        ]
    else:
        assert CMPL_ID.fullmatch(first["id"])
        assert first["object"] == "text_completion"


def error_event(raw: str) -> dict[str, Any]:
    """An in-stream error: one ``data:`` line rendered by json.dumps with its default spacing."""
    assert raw.startswith("data: ")
    assert raw.endswith("\n\n")
    body = json.loads(raw[len("data: ") : -2])
    assert raw == f"data: {json.dumps(body)}\n\n"
    assert list(body) == ["error"]
    assert list(body["error"]) in (FLAT_ERROR_KEYS, NESTED_ERROR_KEYS)
    if "object" in body["error"]:
        assert body["error"]["object"] == "error"
    return body


@pytest.mark.parametrize(("name", "request_", "response"), NIM_STREAMS, ids=NIM_STREAM_IDS)
def test_nim_stream_usage_and_finish(name: str, request_: dict[str, Any], response: dict[str, Any]) -> None:
    body = request_["json"]
    data = chunks(response)
    wants_usage = (body.get("stream_options") or {}).get("include_usage") is True
    usage_chunks = [c for c in data if c["choices"] == []]
    errored = any("raw" in e and e["raw"] != DONE for e in response["events"])
    if errored:
        assert not usage_chunks
        assert all(c["choices"][0]["finish_reason"] is None for c in data)
        return
    assert len(usage_chunks) == (1 if wants_usage else 0)
    token_chunks = [c for c in data if c["choices"]]
    chat = body.get("messages") is not None
    if chat:
        token_chunks = token_chunks[1:]  # the role chunk carries no token
    finals = [c for c in token_chunks if c["choices"][0]["finish_reason"] is not None]
    assert finals == [token_chunks[-1]]
    for chunk in token_chunks[:-1]:
        key = "stop_reason" in chunk["choices"][0]
        assert key is (not chat), "chat chunks carry stop_reason only when finished"
        assert "usage" not in chunk or chunk["usage"] is None
    if not wants_usage:
        return
    usage_chunk = usage_chunks[0]
    assert usage_chunk is data[-1]
    usage = usage_chunk["usage"]
    assert list(usage) == NIM_USAGE_KEYS
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    deltas = [c["choices"][0].get("delta", {}) for c in token_chunks]
    plain = all(set(d) <= {"content"} for d in deltas) or not chat
    if plain:
        assert usage["completion_tokens"] == len(token_chunks)
    else:  # tool parsers and reasoning parsers hold some tokens back, never the reverse
        assert len(token_chunks) <= usage["completion_tokens"] <= len(token_chunks) + 12


def test_streamed_tool_call_deltas_have_vllm_key_order() -> None:
    tool_streams = [r for _, _, r in NIM_STREAMS if any("tool_calls" in str(c) for c in chunks(r))]
    assert tool_streams
    for response in tool_streams:
        calls = [
            call
            for chunk in chunks(response)
            if chunk["choices"]
            for call in chunk["choices"][0]["delta"].get("tool_calls", [])
        ]
        head, rest = calls[0], calls[1:]
        assert list(head) == ["id", "type", "index", "function"]
        assert TOOL_ID.fullmatch(head["id"])
        assert head["type"] == "function"
        assert list(head["function"]) == ["name"], "the name chunk carries no arguments"
        for call in rest:
            assert list(call) == ["index", "function"]
            assert list(call["function"]) == ["arguments"]
        arguments = "".join(c["function"]["arguments"] for c in rest)
        assert json.loads(arguments)
        assert arguments == json.dumps(json.loads(arguments), ensure_ascii=False)
        final = chunks(response)[-2]["choices"][0]
        assert final["finish_reason"] == "tool_calls"


def test_reasoning_stream_sends_reasoning_then_content() -> None:
    response = next(r for n, _, r in NIM_STREAMS if n == "reasoning/stream")
    kinds = [next(iter(c["choices"][0]["delta"])) for c in chunks(response)[1:] if c["choices"]]
    first_content = kinds.index("content")
    assert first_content > 10
    assert set(kinds[:first_content]) == {"reasoning_content"}
    assert set(kinds[first_content:]) == {"content"}


# ------------------------------------------------------------------------------------------
# NIM 1.x / vLLM non-streamed bodies


def nim_json_responses() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for name in NAMES:
        for request, response in interactions(name):
            if "json" in response and layout(response) == "nim":
                yield name, request, response


NIM_JSON = list(nim_json_responses())


@pytest.mark.parametrize(("name", "request_", "response"), NIM_JSON, ids=[n for n, _, _ in NIM_JSON])
def test_nim_json_layout(name: str, request_: dict[str, Any], response: dict[str, Any]) -> None:
    assert header(response, "content-type") == "application/json"
    assert [k for k, _ in response["headers"]] == ["server", "content-type"]
    body = response["json"]
    if response["status"] >= 400:
        if "error" in body:
            assert list(body) == ["error"]
            assert list(body["error"]) == NESTED_ERROR_KEYS
            assert body["error"]["code"] == response["status"]
        else:
            assert list(body) == FLAT_ERROR_KEYS
            assert body["code"] == response["status"]
            assert body["object"] == "error"
        return
    if request_["path"] == "/v1/models":
        assert list(body) == ["object", "data"]
        for card in body["data"]:
            assert list(card) == [
                "id",
                "object",
                "created",
                "owned_by",
                "root",
                "parent",
                "max_model_len",
                "permission",
            ]
            assert card["owned_by"] == "system"
        return
    usage = body["usage"]
    assert list(usage) == [*NIM_USAGE_KEYS, "prompt_tokens_details"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert body["model"] == request_["json"]["model"]
    if request_["path"] == "/v1/completions":
        assert CMPL_ID.fullmatch(body["id"])
        assert body["object"] == "text_completion"
        assert list(body) == ["id", "object", "created", "model", "choices", "usage", "kv_transfer_params"]
        return
    assert list(body) == NIM_CHAT_KEYS
    assert CHAT_ID.fullmatch(body["id"])
    assert body["object"] == "chat.completion"
    assert [c["index"] for c in body["choices"]] == list(range(request_["json"].get("n", 1)))
    generated = 0
    for choice in body["choices"]:
        assert list(choice) == NIM_CHOICE_KEYS
        assert list(choice["message"]) == NIM_MESSAGE_KEYS
        for call in choice["message"]["tool_calls"]:
            assert list(call) == ["id", "type", "function"]
            assert TOOL_ID.fullmatch(call["id"])
            assert json.loads(call["function"]["arguments"]) is not None
        text = (choice["message"]["content"] or "") + (choice["message"]["reasoning_content"] or "")
        generated += len(text)
        if choice["finish_reason"] == "length":
            assert usage["completion_tokens"] == request_["json"]["max_tokens"]
    if generated:  # roughly 2-8 characters per token for English text and JSON
        assert generated / 8 <= usage["completion_tokens"] <= generated / 1.5


def test_tool_choice_finish_reasons_follow_vllm() -> None:
    by_name = {name: response["json"] for name, _, response in NIM_JSON}
    auto = by_name["tools/auto"]["choices"][0]
    assert auto["finish_reason"] == "tool_calls"
    assert auto["message"]["content"] is None
    for guided in ("tools/named", "tools/required"):
        choice = by_name[guided]["choices"][0]
        assert choice["finish_reason"] == "stop"
        assert choice["message"]["content"] == ""
    parallel = by_name["tools/parallel"]["choices"][0]["message"]["tool_calls"]
    assert len(parallel) == 2
    assert len({c["id"] for c in parallel}) == 2
    stop = by_name["chat/stop_sequence"]["choices"][0]
    assert stop["stop_reason"] == "4."
    assert "4." not in stop["message"]["content"]


def test_logprobs_entries_are_consistent() -> None:
    body = next(r["json"] for n, _, r in NIM_JSON if n == "chat/logprobs")
    choice = body["choices"][0]
    content = choice["logprobs"]["content"]
    assert len(content) == body["usage"]["completion_tokens"]
    assert "".join(e["token"] for e in content[:-1]) == choice["message"]["content"]
    for entry in content:
        assert list(entry) == ["token", "logprob", "bytes", "top_logprobs"]
        assert entry["bytes"] == list(entry["token"].encode("utf-8"))
        assert len(entry["top_logprobs"]) == 2
        assert entry["top_logprobs"][0]["token"] == entry["token"]
        assert -9999.0 <= entry["logprob"] <= 0


# ------------------------------------------------------------------------------------------
# hosted gateway and transformers serve


def gateway_responses() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for name in NAMES:
        for request, response in interactions(name):
            if layout(response) == "gateway":
                yield name, request, response


@pytest.mark.parametrize(
    ("name", "request_", "response"), list(gateway_responses()), ids=[n for n, _, _ in gateway_responses()]
)
def test_gateway_layout(name: str, request_: dict[str, Any], response: dict[str, Any]) -> None:
    assert header(response, "server") is None, "the gateway is not uvicorn"
    assert header(response, "retry-after") is None
    status = response["status"]
    if status == 401:
        assert "json" not in response
        assert "text" not in response
        assert 'error="invalid_token"' in (header(response, "www-authenticate") or "")
        return
    assert UUID4.fullmatch(header(response, "nvcf-reqid") or "")
    assert header(response, "access-control-expose-headers") == "nvcf-reqid"
    assert header(response, "vary") == "Origin"
    nvcf_status = header(response, "nvcf-status")
    if status == 202:
        assert response["json"] == {}
        assert nvcf_status == "pending-evaluation"
    elif status == 200:
        assert nvcf_status == "fulfilled"
        body = response["json"]
        if "choices" in body:
            assert re.fullmatch(r"chatcmpl-" + UUID4.pattern, body["id"])
            assert list(body["choices"][0]["message"]) == ["content", "role", "reasoning_content"]
            usage = body["usage"]
            assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        else:
            for entry in body["data"]:
                assert list(entry) == ["id", "object", "created", "owned_by"]
                assert entry["owned_by"] == entry["id"].split("/")[0]
                assert entry["created"] == 735790403
            assert len(body["data"]) >= 5
    else:
        assert nvcf_status == "errored"
        if "json" in response:
            assert list(response["json"])[:2] == ["status", "title"]
            assert response["json"]["status"] == status
        else:
            assert header(response, "content-type") is None


def test_polling_flow_points_at_its_request_id() -> None:
    steps = list(interactions("errors/gateway_202_polling"))
    assert [r["status"] for _, r in steps] == [202, 202, 200]
    reqid = header(steps[0][1], "nvcf-reqid")
    assert [q["path"] for q, _ in steps[1:]] == [f"/v2/nvcf/pexec/status/{reqid}"] * 2


@pytest.mark.parametrize("name", [n for n in NAMES if n.startswith("transformers/")])
def test_transformers_serve_layout(name: str) -> None:
    ((request, response),) = list(interactions(name))
    request_id = header(response, "x-request-id")
    assert request_id
    assert UUID4.fullmatch(request_id)
    bodies = [response["json"]] if "json" in response else chunks(response)
    for body in bodies:
        assert body["id"] == request_id
        assert body["model"] == request["json"]["model"] + "@main"
        assert list(body)[:2] == ["id", "choices"]
    if "events" in response:
        assert all("data" in e for e in response["events"]), "no [DONE] and no raw events"
        last = bodies[-1]
        assert last["choices"][0]["finish_reason"]
        assert list(last["usage"]) == [
            "completion_tokens",
            "prompt_tokens",
            "total_tokens",
        ]


# ------------------------------------------------------------------------------------------
# the project loader and the authoring script


def test_every_bundled_cassette_loads_with_the_project_loader() -> None:
    loaded = load_cassettes([CASSETTE_DIR])
    assert [c.name for c in loaded] == NAMES
    for cassette in loaded:
        raw = load(cassette.name)
        assert cassette.description == raw["description"]
        for interaction, (_, response) in zip(
            cassette.interactions, interactions(cassette.name), strict=True
        ):
            replayed = interaction.response
            assert replayed.status == response["status"]
            assert [list(h) for h in replayed.headers] == response.get("headers", [])
            if "events" in response:
                assert replayed.events is not None
                expected = [
                    b"data: " + compact_json(e["data"]) + b"\n\n" if "data" in e else e["raw"].encode()
                    for e in response["events"]
                ]
                assert [e.raw for e in replayed.events] == expected
            elif "json" in response:
                assert replayed.body == compact_json(response["json"])
            else:
                assert replayed.body == b""


def test_authoring_script_reproduces_the_files() -> None:
    """The JSON is generated; a hand edit that the script would undo is caught here."""
    script = ROOT / "tools" / "author_cassettes.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_table_lists_exactly_the_bundled_files() -> None:
    readme = (CASSETTE_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The bundled cassettes", 1)[1]
    listed = re.findall(r"^\| `([^`]+)\.json` \|", section, re.MULTILINE)
    assert sorted(listed) == NAMES


# ------------------------------------------------------------------------------------------
# a second opinion: the openai SDK's own response models accept every success body


def success_bodies() -> Iterator[tuple[str, str, Any]]:
    for name in NAMES:
        for request, response in interactions(name):
            if response["status"] != 200 or request["path"] not in {
                "/v1/chat/completions",
                "/v1/completions",
            }:
                continue
            if "events" in response:
                kind = "chunk" if request["path"] == "/v1/chat/completions" else "completion"
                for body in chunks(response):
                    # the SDK types a streamed completion's finish_reason as never null (it only
                    # constructs, never validates, stream chunks); check the rest of those chunks
                    if kind == "chunk" or all(c["finish_reason"] for c in body["choices"]):
                        yield name, kind, body
            elif "choices" in response["json"]:
                kind = "chat" if request["path"] == "/v1/chat/completions" else "completion"
                yield name, kind, response["json"]


def test_openai_sdk_models_validate_every_success_body() -> None:
    from openai.types import Completion
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    models = {"chat": ChatCompletion, "chunk": ChatCompletionChunk, "completion": Completion}
    seen: Counter[str] = Counter()
    for name, kind, body in success_bodies():
        body = dict(body)
        # fields the gateway and transformers serve leave out, which the SDK types require
        body.setdefault("object", {"chat": "chat.completion", "completion": "text_completion"}.get(kind))
        body.setdefault("created", 0)
        body.setdefault("model", "unknown")
        try:
            models[kind].model_validate(body, strict=False)
        except Exception as error:  # pragma: no cover - the message is the diagnosis
            raise AssertionError(f"{name}: {kind} body rejected by the openai SDK: {error}") from None
        seen[kind] += 1
    assert seen["chat"] >= 18
    assert seen["chunk"] >= 50
    assert seen["completion"] >= 2


@pytest.mark.parametrize("name", NAMES)
def test_description_names_the_layout_it_follows(name: str) -> None:
    description = load(name)["description"]
    for _, response in interactions(name):
        expected = {
            "nim": ("NIM 1.x", "vLLM"),
            "gateway": ("gateway", "catalogue", "NVCF"),
            "transformers": ("transformers serve",),
        }[layout(response)]
        assert any(word in description for word in expected), (name, expected)


def test_non_streamed_tool_arguments_use_json_dumps_spacing() -> None:
    for name, _, response in NIM_JSON:
        for choice in response["json"].get("choices", []):
            for call in choice.get("message", {}).get("tool_calls", []):
                arguments = call["function"]["arguments"]
                assert arguments == json.dumps(json.loads(arguments), ensure_ascii=False), name


def test_a_reasoning_model_streams_slower_than_an_8b_model() -> None:
    def mean_gap(name: str) -> float:
        times = [e["t_ms"] for owner, _, r in NIM_STREAMS if owner == name for e in r["events"]]
        return (times[-2] - times[1]) / (len(times) - 3)

    assert mean_gap("reasoning/stream") > 2 * mean_gap("chat/stream_usage")
