"""ChatNVIDIA end to end over respx: invoke, stream, batch and their async twins; settings; listing."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from chat_fakes import BASE, MODEL, chunk, completion, llm, router, sent_json, sse_response, text_stream
from langchain_core.messages import AIMessageChunk, HumanMessage
from nim_harness import AuthenticationError, ChatNVIDIA, RateLimitError, ServerError


def test_invoke_returns_message_usage_and_metadata() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion("Hi there", system_fingerprint=None))
        message = llm(mock).invoke("Hello")
    assert message.content == "Hi there"
    assert message.usage_metadata == {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}
    assert message.response_metadata["model_name"] == MODEL
    assert message.response_metadata["id"] == "chatcmpl-abc"
    assert message.response_metadata["finish_reason"] == "stop"
    assert sent_json(mock) == {"messages": [{"role": "user", "content": "Hello"}], "model": MODEL}


def test_usage_details_cached_and_reasoning_tokens() -> None:
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 7,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion(usage=usage))
        message = llm(mock).invoke("x")
    assert message.usage_metadata == {
        "input_tokens": 10,
        "output_tokens": 7,
        "total_tokens": 17,
        "input_token_details": {"cache_read": 4},
        "output_token_details": {"reasoning": 3},
    }


def test_n_and_logprobs_keep_every_choice() -> None:
    body = completion("one")
    logprobs = {"content": [{"token": "one", "logprob": -0.1, "bytes": [111, 110, 101], "top_logprobs": []}]}
    body["choices"][0]["logprobs"] = logprobs
    body["choices"].append(
        {"index": 1, "message": {"role": "assistant", "content": "two"}, "finish_reason": "length"}
    )
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=body)
        model = llm(mock, n=2, logprobs=True, top_logprobs=1)
        result = model.generate([[HumanMessage("x")]])
        assert sent_json(mock)["n"] == 2
        assert sent_json(mock)["logprobs"] is True
    first, second = result.generations[0]
    assert (first.text, second.text) == ("one", "two")
    assert first.message.response_metadata["logprobs"] == logprobs
    assert second.generation_info == {"finish_reason": "length"}


def test_stream_yields_tokens_and_sums_to_message() -> None:
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(text_stream("Hel", "lo", "!")))
        chunks = list(llm(mock).stream("Hi"))
        body = sent_json(mock)
    assert [c.content for c in chunks if c.content] == ["Hel", "lo", "!"]
    total = sum(chunks[1:], chunks[0])
    assert isinstance(total, AIMessageChunk)
    assert total.content == "Hello!"
    assert total.usage_metadata == {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}
    assert total.response_metadata["finish_reason"] == "stop"
    assert total.response_metadata["model_name"] == MODEL
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_stream_usage_off_sends_no_stream_options_and_reads_none() -> None:
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(text_stream("a")))
        total = None
        for piece in llm(mock, stream_usage=False).stream("Hi"):
            total = piece if total is None else total + piece
        assert "stream_options" not in sent_json(mock)
    assert total is not None
    assert total.usage_metadata is None


def test_usage_only_final_chunk_and_missing_done() -> None:
    events = [chunk({"role": "assistant"}), chunk({"content": "ok"}), chunk({}, finish_reason="stop")]
    events.append(chunk(None, usage={"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}))
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(events, done=False))
        chunks = list(llm(mock).stream("Hi"))
    with_usage = [c for c in chunks if c.usage_metadata]
    assert [(c.content, c.usage_metadata) for c in with_usage] == [
        ("", {"input_tokens": 2, "output_tokens": 1, "total_tokens": 3})
    ]
    assert "".join(str(c.content) for c in chunks) == "ok"


def test_cumulative_usage_on_every_chunk_is_counted_once() -> None:
    def usage(done: int) -> dict[str, int]:
        return {"prompt_tokens": 4, "completion_tokens": done, "total_tokens": 4 + done}

    events = [chunk({"content": c}, usage=usage(i + 1)) for i, c in enumerate("abc")]
    events.append(chunk({}, finish_reason="stop", usage=usage(3)))
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(events))
        chunks = list(llm(mock).stream("Hi"))
    total = sum(chunks[1:], chunks[0])
    assert total.usage_metadata == {"input_tokens": 4, "output_tokens": 3, "total_tokens": 7}


async def test_ainvoke_and_astream() -> None:
    with router() as mock:
        route = mock.post("/chat/completions")
        route.side_effect = [
            httpx.Response(200, json=completion("async")),
            sse_response(text_stream("x", "y")),
        ]
        model = llm(mock)
        message = await model.ainvoke("Hi")
        pieces = [c.content async for c in model.astream("Hi")]
    assert message.content == "async"
    assert "".join(str(p) for p in pieces) == "xy"


def test_batch_reuses_the_pooled_client() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion("same"))
        model = llm(mock)
        answers = model.batch(["a", "b", "c"])
        assert [a.content for a in answers] == ["same"] * 3
        assert mock.calls.call_count == 3
    assert model._http() is model.http_client


async def test_abatch() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion("same"))
        answers = await llm(mock).abatch(["a", "b"])
    assert [a.content for a in answers] == ["same", "same"]


def test_no_authorization_header_without_key_and_bearer_with_one() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock).invoke("x")
        assert "authorization" not in mock.calls.last.request.headers
        llm(mock, api_key="nvapi-test").invoke("x")
        assert mock.calls.last.request.headers["authorization"] == "Bearer nvapi-test"


def test_typed_errors_reach_the_caller() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(401, json={"status": 401, "title": "Unauthorized"})
        with pytest.raises(AuthenticationError):
            llm(mock).invoke("x")
        mock.post("/chat/completions").respond(429, json={"status": 429, "title": "Too Many Requests"})
        with pytest.raises(RateLimitError):
            llm(mock, max_retries=0).invoke("x")


def test_in_stream_error_is_raised_typed() -> None:
    error = {"error": {"object": "error", "message": "boom", "type": "InternalServerError", "code": 500}}
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response([chunk({"content": "a"}), error]))
        with pytest.raises(ServerError, match="boom"):
            list(llm(mock).stream("x"))


def test_unknown_argument_goes_to_model_kwargs_naming_the_closest_field() -> None:
    with pytest.warns(UserWarning, match="did you mean 'temperature'"):
        assert ChatNVIDIA(model=MODEL, temprature=0.5).model_kwargs == {"temprature": 0.5}
    with pytest.warns(UserWarning, match=r"model_kwargs\['completely_unrelated_thing'\]$"):
        ChatNVIDIA(model=MODEL, completely_unrelated_thing=1)


def test_model_kwargs_cannot_shadow_fields() -> None:
    with pytest.raises(ValueError, match="temperature"):
        ChatNVIDIA(model=MODEL, model_kwargs={"temperature": 1})


def test_max_completion_tokens_alias() -> None:
    assert ChatNVIDIA(model=MODEL, max_completion_tokens=7).max_tokens == 7
    assert ChatNVIDIA(model=MODEL, max_tokens=9).max_tokens == 9


def test_environment_is_read_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-env")
    monkeypatch.setenv("NVIDIA_BASE_URL", "http://127.0.0.1:8000")
    model = ChatNVIDIA(model=MODEL)
    monkeypatch.delenv("NVIDIA_API_KEY")
    assert model.api_key is not None
    assert model.api_key.get_secret_value() == "nvapi-env"
    assert model.base_url == "http://127.0.0.1:8000/v1"


def test_bad_base_url_in_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NVIDIA_BASE_URL", "http://127.0.0.1:8000/v1/chat/completions")
    with pytest.raises(ValueError, match="NVIDIA_BASE_URL"):
        ChatNVIDIA(model=MODEL)


def test_hosted_catalogue_without_a_model_uses_the_published_default() -> None:
    hosted = "https://integrate.api.nvidia.com/v1"
    with router() as mock:
        mock.get(f"{hosted}/models").respond(200, json={"data": [{"id": MODEL}]})
        chat = mock.post(f"{hosted}/chat/completions").respond(200, json=completion())
        transport = httpx.MockTransport(mock.handler)
        model = ChatNVIDIA(base_url=hosted, api_key="nvapi-x", http_client=httpx.Client(transport=transport))
        assert model.model == "nvidia/nemotron-3-nano-30b-a3b"
        assert MODEL in [m.id for m in model.get_available_models()]
        model.invoke("x")
        assert json.loads(chat.calls.last.request.content)["model"] == "nvidia/nemotron-3-nano-30b-a3b"


def test_local_nim_without_model_uses_the_one_served(caplog: pytest.LogCaptureFixture) -> None:
    listing = {"object": "list", "data": [{"id": "local/only", "object": "model", "owned_by": "system"}]}
    with router() as mock:
        mock.get("/models").respond(200, json=listing)
        mock.post("/chat/completions").respond(200, json=completion())
        model = llm(mock, model=None)
        with caplog.at_level(logging.INFO, logger="nim_harness"):
            model.invoke("a")
            model.invoke("b")
        assert sent_json(mock)["model"] == "local/only"
        assert [r.getMessage() for r in caplog.records].count(
            f"ChatNVIDIA: no model given; using local/only, the model served at {BASE}"
        ) == 1
        assert len(mock.calls) == 3  # one listing, two chats


def test_local_nim_serving_several_models_asks_for_one() -> None:
    listing = {"data": [{"id": "a"}, {"id": "b"}]}
    with router() as mock:
        mock.get("/models").respond(200, json=listing)
        with pytest.raises(ValueError, match="serves several"):
            llm(mock, model=None).invoke("x")


def test_available_models_merge_catalogue() -> None:
    listing = {"data": [{"id": MODEL, "owned_by": "meta"}, {"id": "someone/new-model", "owned_by": "x"}]}
    with router() as mock:
        mock.get("/models").respond(200, json=listing)
        models = llm(mock).available_models
    known, unknown = models
    assert (known.id, known.known, known.supports_tools, known.supports_structured_output) == (
        MODEL,
        True,
        True,
        True,
    )
    assert (unknown.known, unknown.supports_tools, unknown.owned_by) == (False, False, "x")


async def test_aget_available_models() -> None:
    with router() as mock:
        mock.get("/models").respond(200, json={"data": [{"id": "nvidia/nemotron-3-nano-30b-a3b"}]})
        (model,) = await llm(mock).aget_available_models()
    assert model.supports_thinking


def test_stop_from_call_overrides_field() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock, stop=["a"]).invoke("x", stop=["b"])
        assert sent_json(mock)["stop"] == ["b"]


def test_payload_is_compact_json() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock).invoke("é")
        raw = mock.calls.last.request.content
    assert raw == json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode()


def test_streaming_several_answers_is_refused_before_sending() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        with pytest.raises(ValueError, match="n=2"):
            list(llm(mock, n=2).stream("x"))
        assert mock.calls.call_count == 0


def test_streaming_flag_makes_invoke_stream() -> None:
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(text_stream("a", "b")))
        message = llm(mock, streaming=True).invoke("x")
        assert sent_json(mock)["stream"] is True
    assert message.content == "ab"
    assert message.usage_metadata == {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}


def test_model_override_per_call() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock).invoke("x", model="other/model")
        assert sent_json(mock)["model"] == "other/model"


def test_stream_usage_per_call() -> None:
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(text_stream("a")))
        chunks = list(llm(mock).stream("x", stream_usage=False))
        body = sent_json(mock)
    assert "stream_options" not in body
    assert "stream_usage" not in body
    assert all(c.usage_metadata is None for c in chunks)
