"""The ``openai`` SDK, an independent client, cannot tell the mock from a NIM.

It parses chat, streams, tool calls and the model listing into its typed objects, and raises its
typed errors for the error cassettes, all against one server holding every bundled cassette.
Expected values are read from the cassettes themselves, so the tests follow the recordings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from starlette.applications import Starlette

from nim_mock import Cassette, RunningServer, bundled_cassettes_dir, create_app, load_cassettes

BUNDLED = {cassette.name: cassette for cassette in load_cassettes([bundled_cassettes_dir()])}


@pytest.fixture(scope="module")
def mock() -> Iterator[tuple[Starlette, str]]:
    app = create_app(list(BUNDLED.values()))
    server = RunningServer(app)
    server.start()
    yield app, server.base_url
    server.stop()


@pytest.fixture
def client(mock: tuple[Starlette, str]) -> Iterator[openai.OpenAI]:
    app, base_url = mock
    app.state.matcher.reset()
    with openai.OpenAI(
        base_url=base_url + "/v1", api_key="not-a-real-key", max_retries=0, timeout=10.0
    ) as sdk:
        yield sdk


def _create(client: openai.OpenAI, name: str, index: int = 0) -> Any:
    """Send the recorded chat request through the SDK (stream flag as a parameter, the rest as extra_body)."""
    body = dict(BUNDLED[name].interactions[index].request.body)
    model, messages = body.pop("model"), body.pop("messages")
    stream = body.pop("stream", None)
    if stream is None:
        return client.chat.completions.create(model=model, messages=messages, extra_body=body)
    return client.chat.completions.create(model=model, messages=messages, stream=stream, extra_body=body)


def _recorded_json(cassette: Cassette, index: int = 0) -> Any:
    return json.loads(cassette.interactions[index].response.body)


def _recorded_chunks(cassette: Cassette) -> list[dict[str, Any]]:
    events = cassette.interactions[0].response.events or ()
    payloads = [event.raw.decode().removeprefix("data: ").strip() for event in events]
    return [json.loads(p) for p in payloads if p and p != "[DONE]"]


def test_chat_completion_parses(client: openai.OpenAI) -> None:
    completion = _create(client, "chat/plain")
    recorded = _recorded_json(BUNDLED["chat/plain"])
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    assert completion.id == recorded["id"]
    assert completion.choices[0].message.content == recorded["choices"][0]["message"]["content"]
    assert completion.usage is not None
    assert completion.usage.total_tokens == recorded["usage"]["total_tokens"]


def test_stream_parses_into_chunks_with_usage(client: openai.OpenAI) -> None:
    chunks = list(_create(client, "chat/stream_usage"))
    recorded = _recorded_chunks(BUNDLED["chat/stream_usage"])
    assert len(chunks) == len(recorded)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(r["choices"][0]["delta"].get("content") or "" for r in recorded if r["choices"])
    assert text
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == recorded[-1]["usage"]["completion_tokens"]


def test_tool_call_parses(client: openai.OpenAI) -> None:
    completion = _create(client, "tools/auto")
    recorded = _recorded_json(BUNDLED["tools/auto"])["choices"][0]["message"]["tool_calls"]
    calls = completion.choices[0].message.tool_calls
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        (r["id"], r["function"]["name"], json.loads(r["function"]["arguments"])) for r in recorded
    ]
    assert completion.choices[0].finish_reason == "tool_calls"


def test_streamed_tool_call_fragments_join_into_valid_arguments(client: openai.OpenAI) -> None:
    arguments: dict[int, str] = {}
    names: dict[int, str] = {}
    for chunk in _create(client, "tools/stream_auto"):
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or ():
                if call.function and call.function.name:
                    names[call.index] = call.function.name
                if call.function and call.function.arguments:
                    arguments[call.index] = arguments.get(call.index, "") + call.function.arguments
    assert names
    assert set(arguments) == set(names)
    assert all(isinstance(json.loads(text), dict) for text in arguments.values())


def test_model_listing_parses_and_names_every_served_model(client: openai.OpenAI) -> None:
    """Every model a recording served is listed; one the recorded server said does not exist is not
    added (unless a recorded listing itself names it)."""
    listed = [model.id for model in client.models.list()]
    interactions = [i for cassette in BUNDLED.values() for i in cassette.interactions]
    served = {i.request.model for i in interactions if i.request.model and i.response.status != 404}
    recorded_listings = {
        entry["id"]
        for i in interactions
        if i.request.path == "/v1/models"
        for entry in json.loads(i.response.body)["data"]
    }
    unknown = {i.request.model for i in interactions if i.request.model and i.response.status == 404}
    never_listed = unknown - served - recorded_listings
    assert served <= set(listed)
    assert never_listed
    assert not never_listed & set(listed)
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("errors/nim1_unknown_model", openai.NotFoundError),
        ("errors/gateway_401", openai.AuthenticationError),
        ("errors/gateway_403", openai.PermissionDeniedError),
        ("errors/gateway_404", openai.NotFoundError),
        ("errors/gateway_429_retry", openai.RateLimitError),
        ("errors/gateway_500", openai.InternalServerError),
        ("errors/vllm010_context_too_long", openai.BadRequestError),
    ],
)
def test_error_cassettes_raise_the_sdks_typed_errors(
    client: openai.OpenAI, name: str, error: type[openai.APIStatusError]
) -> None:
    with pytest.raises(error) as raised:
        _create(client, name)
    assert raised.value.status_code == BUNDLED[name].interactions[0].response.status


def test_mid_stream_error_event_raises_api_error(client: openai.OpenAI) -> None:
    stream = _create(client, "errors/midstream_vllm010")
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_a_miss_raises_not_found_with_the_mocks_explanation(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(
            model="meta/llama-3.1-8b-instruct", messages=[{"role": "user", "content": "never recorded"}]
        )
    assert "no recorded interaction matches POST /v1/chat/completions" in raised.value.message
    assert raised.value.response.headers["x-nim-mock-miss"] == "1"


def _interactions() -> list[tuple[str, int]]:
    """Every bundled exchange an SDK can make: not the malformed bodies nor the wrong methods recorded
    from vLLM (``test_server_replay`` replays those byte for byte)."""
    return [
        (name, index)
        for name, cassette in BUNDLED.items()
        for index, interaction in enumerate(cassette.interactions)
        if isinstance(interaction.request.body, dict)
        or (
            interaction.request.method == "GET"
            and interaction.request.raw_body is None
            and not _inference(interaction.request.path)
        )
    ]


def _inference(path: str) -> bool:
    return path in ("/v1/chat/completions", "/v1/completions")


@pytest.mark.parametrize(("name", "index"), _interactions(), ids=[f"{n}#{i + 1}" for n, i in _interactions()])
def test_every_bundled_interaction_goes_through_the_sdk(
    client: openai.OpenAI, mock: tuple[Starlette, str], name: str, index: int
) -> None:
    """Successes parse into SDK types; HTTP errors raise its status errors, in-band ones APIError."""
    app, base_url = mock
    cassette = BUNDLED[name]
    for earlier in range(index):  # earlier identical requests must be played first
        app.state.matcher.match(cassette.interactions[earlier].request, scope=name)
    interaction = cassette.interactions[index]
    request, recorded = interaction.request, interaction.response
    events = recorded.events or ()
    in_band_error = any(b'"error"' in event.raw for event in events)

    def call() -> Any:
        if request.path == "/v1/chat/completions":
            body = dict(request.body)
            model, messages, stream = body.pop("model"), body.pop("messages"), body.pop("stream", None)
            if stream:
                return list(
                    client.chat.completions.create(
                        model=model, messages=messages, stream=True, extra_body=body
                    )
                )
            return client.chat.completions.create(model=model, messages=messages, extra_body=body)
        if request.path == "/v1/completions":
            body = dict(request.body)
            model, prompt, stream = body.pop("model"), body.pop("prompt"), body.pop("stream", None)
            if stream:
                return list(
                    client.completions.create(model=model, prompt=prompt, stream=True, extra_body=body)
                )
            return client.completions.create(model=model, prompt=prompt, extra_body=body)
        if request.path == "/v1/models":
            return list(client.models.list())
        if request.path == "/v1/embeddings":
            body = dict(request.body)
            model, texts = body.pop("model"), body.pop("input")
            return client.embeddings.create(model=model, input=texts, extra_body=body)
        if request.method == "POST":  # a reranking route: the SDK has no method for it
            return client.post(base_url + request.path, body=request.body, cast_to=object)
        return client.get(base_url + request.path, cast_to=object)  # e.g. the NVCF status route

    if recorded.status >= 400:
        with pytest.raises(openai.APIStatusError) as raised:
            call()
        assert raised.value.status_code == recorded.status
    elif in_band_error:
        with pytest.raises(openai.APIError):
            call()
    else:
        result = call()
        if recorded.events is not None:
            assert result  # parsed chunks
            assert all(hasattr(chunk, "choices") for chunk in result)
        elif request.path == "/v1/chat/completions" and recorded.status == 200:
            assert result.id == json.loads(recorded.body)["id"]
        elif request.path == "/v1/embeddings":
            assert len(result.data) == len(request.body["input"])
            assert result.usage.total_tokens == json.loads(recorded.body)["usage"]["total_tokens"]
