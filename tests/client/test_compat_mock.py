"""Drop-in compatibility with the published ChatNVIDIA, through the mock NIM on real uvicorn.

The same items as ``test_compat_wire.py``, now over real sockets against the mock in stand-in
mode (bundled cassettes, a synthesized answer where none matches) plus a few cassettes written
here for listings and endpoints the bundle does not hold. Requests go through a recording
transport (injected, nothing patched), so each test also sees the exact bytes that left the
client. The hosted API is reached by the same transport pointed at the mock: ``base_url`` stays
``integrate.api.nvidia.com`` (so hosted behaviour applies) while the bytes land on the mock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from nim_harness import BadRequestError, ChatNVIDIA, NotFoundError

from nim_mock import (
    Cassette,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    bundled_cassettes_dir,
    create_app,
    load_cassettes,
    serve_in_thread,
)
from nim_mock.cassette import compact_json

HOSTED = "https://integrate.api.nvidia.com/v1"
RECORDED = {"temperature": 0.2, "top_p": 0.7, "max_tokens": 1024}
MODEL = "meta/llama-3.1-8b-instruct"
# the tool the bundled tool cassettes were recorded with (tools/auto and the hosted refusal)
WEATHER_TOOL = json.loads((bundled_cassettes_dir() / "tools" / "auto.json").read_text(encoding="utf-8"))[
    "interactions"
][0]["request"]["json"]["tools"][0]


class Recorder(httpx.BaseTransport):
    """Sends each request over a real socket, to ``target`` when given, and keeps what was sent."""

    def __init__(self, target: str | None = None) -> None:
        self.sent: list[httpx.Request] = []
        self._target = httpx.URL(target) if target else None
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._target is not None:
            request.url = request.url.copy_with(
                scheme=self._target.scheme, host=self._target.host, port=self._target.port
            )
        request.read()
        self.sent.append(request)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()

    def body(self, index: int = -1) -> Any:
        return json.loads(self.sent[index].content)


def chat_answer(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-5d0c6f2b9a8e4f31b7c2a1d0e9f8a7b6",
        "object": "chat.completion",
        "created": 1735689600,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "reasoning_content": None,
                    "content": content,
                    "tool_calls": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
                "stop_reason": None,
            }
        ],
        "usage": {
            "prompt_tokens": 9,
            "total_tokens": 14,
            "completion_tokens": 5,
            "prompt_tokens_details": None,
        },
        "prompt_logprobs": None,
    }


def json_interaction(method: str, path: str, answer: Any, body: Any = None) -> Interaction:
    headers = {"content-type": "application/json"} if body is not None else {}
    response = RecordedResponse(
        200, (("server", "uvicorn"), ("content-type", "application/json")), body=compact_json(answer)
    )
    return Interaction(RecordedRequest(method, path, headers, body=body), response)


def mock(*extra: Cassette, bundled: bool = True) -> Iterator[str]:
    """The mock with ``extra``: in stand-in mode with the bundled cassettes, or (``bundled=False``)
    replaying only ``extra``, whose listings then hold exactly what they recorded."""
    cassettes = [*(load_cassettes([bundled_cassettes_dir()]) if bundled else []), *extra]
    app = create_app(cassettes, speed=0, on_miss="synthesize" if bundled else "error")
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def base() -> Iterator[str]:
    yield from mock()


def local(base: str, recorder: Recorder, **fields: Any) -> ChatNVIDIA:
    fields.setdefault("model", MODEL)
    return ChatNVIDIA(
        base_url=f"{base}/v1",
        api_key=None,
        max_retries=0,
        http_client=httpx.Client(transport=recorder),
        **fields,
    )


def hosted(recorder: Recorder, **fields: Any) -> ChatNVIDIA:
    return ChatNVIDIA(
        api_key="nvapi-test", max_retries=0, http_client=httpx.Client(transport=recorder), **fields
    )


# -- constructor arguments --------------------------------------------------------------------


def test_published_constructor_arguments_against_the_mock(base: str) -> None:
    recorder = Recorder()
    with pytest.warns(UserWarning, match="frequency_penalty"):
        model = ChatNVIDIA(
            model=MODEL,
            nvidia_base_url=f"{base}/v1",
            verify_ssl=False,
            usage_telemetry_enabled=False,
            stop="\n",
            frequency_penalty=0.1,
            http_client=httpx.Client(transport=recorder),
            **RECORDED,
        )
    answer = model.invoke("Hello")
    assert answer.content
    assert recorder.body()["stop"] == ["\n"]
    assert recorder.body()["frequency_penalty"] == 0.1
    assert [r.url.path for r in recorder.sent] == ["/v1/chat/completions"]


def test_stream_options_none_streams_without_usage(base: str) -> None:
    recorder = Recorder()
    chunks = list(local(base, recorder, stream_options=None, **RECORDED).stream("Name three primary colors."))
    assert "".join(str(c.content) for c in chunks)
    assert "stream_options" not in recorder.body()
    assert all(c.usage_metadata is None for c in chunks)


# -- listing -----------------------------------------------------------------------------------


LOCAL_LISTING = {
    "object": "list",
    "data": [{"id": MODEL, "object": "model", "owned_by": "system", "root": MODEL, "parent": None}],
}


def test_get_available_models_on_the_class_against_a_real_server() -> None:
    listing = Cassette("local/listing", (json_interaction("GET", "/v1/models", LOCAL_LISTING),))
    for url in mock(listing, bundled=False):
        on_class = ChatNVIDIA.get_available_models(base_url=f"{url}/v1")  # its own clients, closed after
        on_instance = ChatNVIDIA(model=MODEL, base_url=f"{url}/v1").get_available_models()
    assert [(m.id, m.owned_by, m.base_model, m.known) for m in on_class] == [(MODEL, "system", MODEL, True)]
    assert on_instance == on_class


def test_the_hosted_listing_through_the_mock_is_merged_and_filtered() -> None:
    for url in mock():
        recorder = Recorder(url)
        models = hosted(recorder, model=MODEL).get_available_models()
    ids = [m.id for m in models]
    assert str(recorder.sent[0].url).endswith("/v1/models")
    assert "nvidia/nv-embedqa-e5-v5" not in ids
    assert {"meta/llama-3.2-11b-vision-instruct", "google/paligemma", "mistralai/mistral-nemotron"} <= set(
        ids
    )
    assert len(ids) == len(set(ids))


def test_a_local_nim_with_lora_adapters_picks_the_base_through_the_mock() -> None:
    listing = {
        "object": "list",
        "data": [
            {"id": MODEL, "object": "model", "owned_by": "system", "root": "/models/llama", "parent": None},
            {
                "id": "math-lora",
                "object": "model",
                "owned_by": "system",
                "root": "/loras/math",
                "parent": MODEL,
            },
        ],
    }
    chat = {"messages": [{"role": "user", "content": "Hello"}], "model": MODEL}
    lora = Cassette(
        "local/lora",
        (
            json_interaction("GET", "/v1/models", listing),
            json_interaction("POST", "/v1/chat/completions", chat_answer(MODEL, "Hi!"), chat),
        ),
    )
    for url in mock(lora, bundled=False):
        recorder = Recorder()
        answer = local(url, recorder, model=None).invoke("Hello")
    assert [r.url.path for r in recorder.sent] == ["/v1/models", "/v1/chat/completions"]
    assert recorder.body()["model"] == MODEL
    assert answer.response_metadata["model_name"] == MODEL


# -- model resolution and routing ---------------------------------------------------------------


def test_a_hosted_alias_reaches_the_mock_as_its_current_id(base: str) -> None:
    recorder = Recorder(base)
    with pytest.warns(UserWarning, match="old name"):
        model = hosted(recorder, model="playground_mixtral_8x7b")
    answer = model.invoke("Hello")
    assert recorder.body()["model"] == "mistralai/mixtral-8x7b-instruct-v0.1"
    assert answer.response_metadata["model_name"] == "mistralai/mixtral-8x7b-instruct-v0.1"


def test_a_hosted_model_with_its_own_endpoint_is_answered_there() -> None:
    vision = "meta/llama-3.2-11b-vision-instruct"
    path = f"/v1/gr/{vision}/chat/completions"
    request = {"messages": [{"role": "user", "content": "Describe a sunset."}], "model": vision}
    endpoint = Cassette(
        "hosted/vision_endpoint",
        (json_interaction("POST", path, chat_answer(vision, "Orange sky."), request),),
    )
    for url in mock(endpoint):
        recorder = Recorder(url)
        answer = hosted(recorder, model=vision).invoke("Describe a sunset.")
    assert answer.content == "Orange sky."
    assert recorder.sent[-1].url.path == path


def test_the_hosted_default_model_reaches_the_mock(base: str) -> None:
    recorder = Recorder(base)
    hosted(recorder).invoke("Hello")
    assert recorder.body()["model"] == "nvidia/nemotron-3-nano-30b-a3b"


# -- metadata -------------------------------------------------------------------------------------


def test_token_usage_role_and_tool_calls_from_recorded_answers(base: str) -> None:
    plain = local(base, Recorder(), **RECORDED).invoke("In one sentence, what is NVIDIA NIM?")
    assert plain.response_metadata["role"] == "assistant"
    usage = plain.response_metadata["token_usage"]
    assert plain.usage_metadata is not None
    assert usage["total_tokens"] == plain.usage_metadata["total_tokens"] > 0
    model = local(base, Recorder(), model="meta/llama-3.3-70b-instruct", temperature=0.2, max_tokens=1024)
    called = model.bind_tools([WEATHER_TOOL], tool_choice="auto").invoke(
        "What's the weather like in Paris right now?"
    )
    assert isinstance(called, AIMessage)
    raw = called.additional_kwargs["tool_calls"]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in raw] == [
        ("get_weather", {"city": "Paris"})
    ]


def test_a_lone_closing_tag_splits_a_recorded_answer() -> None:
    r1 = "deepseek-ai/deepseek-r1"
    request = {"messages": [{"role": "user", "content": "Is 9 prime?"}], "model": r1}
    answer = chat_answer(r1, "9 = 3 * 3, so no.\n</think>\n\nNo: 9 is 3 squared.")
    cassette = Cassette(
        "reasoning/lone_close", (json_interaction("POST", "/v1/chat/completions", answer, request),)
    )
    for url in mock(cassette):
        message = local(url, Recorder(), model=r1).invoke("Is 9 prime?")
    assert message.content == "No: 9 is 3 squared."
    assert message.additional_kwargs["reasoning_content"] == "9 = 3 * 3, so no."


# -- thinking, tool-call turns, assets, other parts ---------------------------------------------------


def test_thinking_prefix_and_parameters_reach_the_mock(base: str) -> None:
    recorder = Recorder()
    super_49b = local(base, recorder, model="nvidia/llama-3.3-nemotron-super-49b-v1.5")
    super_49b.with_thinking_mode(False).invoke([SystemMessage("Be brief."), HumanMessage("Hello")])
    assert recorder.body()["messages"][0] == {"role": "system", "content": "Be brief.\n/no_think"}
    local(base, recorder, model="nvidia/nemotron-3-nano-30b-a3b").with_thinking_mode(True).invoke("Hello")
    assert recorder.body()["chat_template_kwargs"] == {"enable_thinking": True}


def conversation(content: str) -> list[Any]:
    call_id = "chatcmpl-tool-f5a12edc663174eeecd1ec7f5259837e"  # errors/gateway_empty_assistant_content
    return [
        HumanMessage("What's the weather in Oslo?"),
        AIMessage(content, tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": call_id}]),
        ToolMessage('{"temperature_c": 7, "condition": "rain", "humidity": 88}', tool_call_id=call_id),
    ]


def test_the_mock_refuses_empty_assistant_content_as_the_hosted_api_does(base: str) -> None:
    """A client that sends ``content: ""`` next to tool calls gets the hosted API's 400 from the mock."""
    recorder = Recorder(base)
    model = hosted(recorder, model="meta/llama-3.3-70b-instruct", **RECORDED).bind_tools([WEATHER_TOOL])
    model.invoke(conversation(""))  # ours sends null: not the refused request, so it is answered
    sent = recorder.body()["messages"][1]
    assert sent["content"] is None
    refused = {**recorder.body(), "messages": [recorder.body()["messages"][0], {**sent, "content": ""}]}
    refused["messages"].append(recorder.body()["messages"][2])
    answer = httpx.post(f"{base}/v1/chat/completions", json=refused)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "request: Value error, Empty content is not allowed for assistant messages"
    )
    assert answer.headers["nvcf-status"] == "errored"


@pytest.mark.parametrize(
    "content", ["", [], [{"type": "text", "text": ""}]], ids=["empty", "no-blocks", "empty-block"]
)
def test_our_client_never_sends_empty_content_beside_tool_calls(base: str, content: Any) -> None:
    recorder = Recorder(base)
    model = hosted(recorder, model="meta/llama-3.3-70b-instruct", **RECORDED).bind_tools([WEATHER_TOOL])
    model.invoke(conversation(content))
    assert b'"content":""' not in recorder.sent[-1].content


def test_asset_images_reach_the_mock_with_their_header(base: str) -> None:
    recorder = Recorder()
    image = {"type": "image_url", "image_url": {"url": "data:image/png;asset_id,9c0ffee"}}
    local(base, recorder, model="meta/llama-3.2-11b-vision-instruct").invoke(
        [HumanMessage([{"type": "text", "text": "What is this?"}, image])]
    )
    assert recorder.sent[-1].headers["nvcf-input-asset-references"] == "9c0ffee"


def test_video_parts_reach_the_mock(base: str) -> None:
    recorder = Recorder()
    video = {"type": "video_url", "video_url": {"url": "https://example.org/clip.mp4"}}
    answer = local(base, recorder, model="nvidia/cosmos-reason1-7b").invoke(
        [HumanMessage([{"type": "text", "text": "What happens?"}, video])]
    )
    assert answer.content
    assert recorder.body()["messages"][0]["content"][1] == video


# -- errors -----------------------------------------------------------------------------------------


def test_recorded_errors_start_with_the_status(base: str) -> None:
    model = local(base, Recorder(), model="meta/llama3-8b", temperature=0.2, max_tokens=1024)
    with pytest.raises(NotFoundError) as caught:
        model.invoke("Hello, are you there?")
    assert str(caught.value).startswith("[404] Not Found:")
    stream = local(base, Recorder(), **RECORDED).stream("Describe the water cycle step by step.")
    with pytest.raises(BadRequestError, match=r"^\[400\] Bad Request \(error event inside the stream\)"):
        list(stream)
