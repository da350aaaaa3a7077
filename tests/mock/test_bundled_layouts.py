"""Each bundled cassette holds to the byte layout of the server its headers say produced it.

NIM 1.x / vLLM 0.9.2 (``server: uvicorn``), vLLM >= 0.10 errors, the hosted gateway (``nvcf-reqid`` or
``www-authenticate``, no ``server``) and ``transformers serve`` (``x-request-id``); every rule is a fact
from ../shared/nim-wire-facts.md or the vllm==0.9.2 source it cites. The recordings of vLLM 0.32
(``server: uvicorn`` and ``vary: Origin``) are checked against the few rules every vLLM answer keeps;
the battery's snapshot (tests/conformance) pins the rest.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from bundled_cassettes import (
    CHAT_ID,
    CMPL_ID,
    DONE,
    FLAT_ERROR_KEYS,
    GATEWAY,
    NAMES,
    NESTED_ERROR_KEYS,
    NIM_CHAT_KEYS,
    NIM_CHOICE_KEYS,
    NIM_JSON,
    NIM_MESSAGE_KEYS,
    NIM_MODEL_CARD_KEYS,
    NIM_STREAM_IDS,
    NIM_STREAMS,
    NIM_USAGE_KEYS,
    TOOL_ID,
    UUID4,
    VLLM,
    check_retrieval_answer,
    chunks,
    header,
    interactions,
    is_retrieval,
)

from nim_mock.cassette import compact_json


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
        assert len(token_chunks) < usage["completion_tokens"] <= 4 * len(token_chunks)


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
    if is_retrieval(request_["path"]):
        check_retrieval_answer(request_, body)
        return
    if request_["path"] == "/v1/models":
        assert list(body) == ["object", "data"]
        for card in body["data"]:
            assert list(card) == NIM_MODEL_CARD_KEYS
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


@pytest.mark.parametrize(("name", "request_", "response"), GATEWAY, ids=[n for n, _, _ in GATEWAY])
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
        if is_retrieval(request_["path"]):
            check_retrieval_answer(request_, body)
        elif "choices" in body:
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
        if "json" in response and isinstance(response["json"].get("error"), str):
            # refused by a retrieval NIM behind the gateway: a bare message (public 400 captures)
            assert list(response["json"]) == ["error"]
            assert is_retrieval(request_["path"])
        elif "json" in response and "error" in response["json"]:
            # refused by the model behind the gateway: its vLLM error passes through (facts 2.5)
            assert list(response["json"]["error"]) == ["message", "type", "param", "code"]
            assert response["json"]["error"]["code"] == status
        elif "json" in response:
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


@pytest.mark.parametrize(("name", "request_", "response"), VLLM, ids=[n for n, _, _ in VLLM])
def test_vllm_recording_layout(name: str, request_: dict[str, Any], response: dict[str, Any]) -> None:
    """Compact JSON, errors nested with ``code`` = status (FastAPI's ``detail`` for a route), every
    stream event one ``data:`` line and ``[DONE]`` last, usage that adds up."""
    assert name.startswith("vllm/")
    assert response["headers"][0][0] == "server"
    if "events" in response:
        assert header(response, "content-type") == "text/event-stream; charset=utf-8"
        assert response["events"][-1]["raw"] == DONE
        assert all("data" in event for event in response["events"][:-1])
        bodies = chunks(response)
    else:
        assert header(response, "content-type") == "application/json"
        bodies = [response["json"]]
    for body in bodies:
        if response["status"] >= 400:
            assert list(body) in (["error"], ["detail"])
            if "error" in body:
                assert list(body["error"]) == NESTED_ERROR_KEYS
                assert body["error"]["code"] == response["status"]
            continue
        assert body["model"] == request_["json"]["model"]
        usage = body.get("usage")
        if usage is not None:
            assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
