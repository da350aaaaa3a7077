"""Drop-in compatibility with the published ChatNVIDIA, checked on the wire (respx, exact bytes).

Each test is one item of what code written against langchain-nvidia-ai-endpoints relies on:
constructor arguments, listings, model resolution and routing, metadata, thinking switches,
what an assistant tool-call turn and an asset image send, and error text. The same items run
through the mock NIM in ``test_compat_mock.py``.
"""

from __future__ import annotations

import json
import re
import ssl
import warnings
from typing import Any

import certifi
import httpx
import pytest
import respx
from chat_fakes import BASE, MODEL, chunk, completion, llm, router, sent_json, sse_response, text_stream
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, FunctionMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import LLMResult
from nim_harness import ChatNVIDIA, Model, NotFoundError
from nim_harness._catalogue import CATALOGUE, current_chat_models
from nim_harness._http_settings import tls_verification

HOSTED = "https://integrate.api.nvidia.com/v1"
CALL = {"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}


def hosted(mock: respx.MockRouter, **kwargs: Any) -> ChatNVIDIA:
    """A ChatNVIDIA on the hosted API whose requests land on ``mock``."""
    transport = httpx.MockTransport(mock.handler)
    kwargs.setdefault("api_key", "nvapi-test")
    return ChatNVIDIA(
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
        **kwargs,
    )


def body_of(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


# -- constructor arguments ---------------------------------------------------------------------


def test_the_published_constructor_arguments_are_accepted_and_shape_the_request() -> None:
    other = "http://127.0.0.1:7/v1"
    with router() as mock:
        route = mock.post(f"{other}/chat/completions").respond(200, json=completion())
        with pytest.warns(UserWarning, match="frequency_penalty"):
            model = llm(
                mock,
                nvidia_base_url=other,
                verify_ssl=False,
                stream_options=None,
                usage_telemetry_enabled=False,
                stop="\n",
                frequency_penalty=0.1,
            )
        model.invoke("Hi")
    assert model.base_url == other
    assert route.calls.last.request.content == (
        b'{"messages":[{"role":"user","content":"Hi"}],"model":"meta/llama-3.1-8b-instruct",'
        b'"stop":["\\n"],"frequency_penalty":0.1}'
    )
    assert len(mock.calls) == 1  # usage_telemetry_enabled changes nothing: no telemetry is ever sent


def test_nvidia_api_key_wins_over_api_key_as_in_the_published_client() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock, nvidia_api_key="nvapi-first", api_key="nvapi-second").invoke("x")
        assert mock.calls.last.request.headers["authorization"] == "Bearer nvapi-first"


def test_an_unknown_argument_goes_to_the_body_with_a_warning_naming_the_closest_field() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        with pytest.warns(UserWarning, match="not one of its fields") as caught:
            model = llm(mock, temprature=0.4, chat_template_kwargs={"enable_thinking": False})
        model.invoke("x")
        assert [str(w.message).split(": it is")[0] for w in caught] == [
            "ChatNVIDIA got 'temprature', which is not one of its fields",
            "ChatNVIDIA got 'chat_template_kwargs', which is not one of its fields",
        ]
        assert str(caught[0].message).endswith("; did you mean 'temperature'?")
        assert "did you mean" not in str(caught[1].message)
        assert sent_json(mock) == {
            "messages": [{"role": "user", "content": "x"}],
            "model": MODEL,
            "temprature": 0.4,
            "chat_template_kwargs": {"enable_thinking": False},
        }


def test_a_near_miss_of_the_key_is_refused_rather_than_sent_in_the_body() -> None:
    with pytest.raises(TypeError, match="did you mean 'api_key'"):
        ChatNVIDIA(model=MODEL, api_kye="nvapi-secret")


def test_an_argument_also_in_model_kwargs_is_refused() -> None:
    with pytest.raises(ValueError, match="both as an argument and in model_kwargs"):
        ChatNVIDIA(model=MODEL, top_k=5, model_kwargs={"top_k": 3})


def test_stream_options_are_sent_as_given_and_none_sends_none() -> None:
    options = {"include_usage": True, "continuous_usage_stats": True}
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(text_stream("a")))
        list(llm(mock, stream_options=options).stream("x"))
        assert sent_json(mock)["stream_options"] == options
        chunks = list(llm(mock, stream_options=None).stream("x"))
        assert "stream_options" not in sent_json(mock)
    assert all(c.usage_metadata is None for c in chunks)  # nothing asked for, nothing counted


def test_verify_ssl_takes_a_bool_or_a_ca_bundle() -> None:
    assert tls_verification(False).verify_mode == ssl.CERT_NONE
    context = tls_verification(certifi.where())
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.get_ca_certs()
    assert ChatNVIDIA(model=MODEL, base_url=BASE, verify_ssl=certifi.where()).verify_ssl == certifi.where()
    with pytest.raises(ValueError, match=re.escape("verify_ssl='/no/such/ca.pem'")):
        ChatNVIDIA(model=MODEL, base_url=BASE, verify_ssl="/no/such/ca.pem")


def test_one_tls_context_per_trust_setting_serves_the_whole_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # Building a context loads a CA bundle (~20 ms); every client of a setting shares the one built.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    system = tls_verification(True)
    assert tls_verification(True) is system
    assert system.get_ca_certs()
    assert system.verify_mode == ssl.CERT_REQUIRED
    assert tls_verification(certifi.where()) is tls_verification(certifi.where())
    assert tls_verification(False) is tls_verification(False)
    assert tls_verification(False) is not system
    # httpx honours $SSL_CERT_FILE for verify=True; so does the shared context, keyed by its value.
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    from_env = tls_verification(True)
    assert from_env is not system
    assert from_env is tls_verification(True)


@pytest.mark.parametrize(
    "bad",
    [
        {"temperature": -0.1},
        {"temperature": 2.01},
        {"top_p": -0.01},
        {"top_p": 1.01},
        {"seed": -1},
        {"max_tokens": 0},
        {"max_completion_tokens": 2**31 - 1},
    ],
    ids=lambda bad: f"{next(iter(bad))}={next(iter(bad.values()))}",
)
def test_out_of_range_sampling_settings_fail_at_construction(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        ChatNVIDIA(model=MODEL, base_url=BASE, **bad)


@given(
    temperature=st.floats(0, 2),
    top_p=st.floats(0, 1),
    seed=st.integers(0, 2**63),
    max_tokens=st.integers(1, 2**31 - 2),
)
def test_in_range_sampling_settings_are_sent_as_they_are(
    temperature: float, top_p: float, seed: int, max_tokens: int
) -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock, temperature=temperature, top_p=top_p, seed=seed, max_tokens=max_tokens).invoke("x")
        body = sent_json(mock)
    assert (body["temperature"], body["top_p"], body["seed"], body["max_tokens"]) == (
        temperature,
        top_p,
        seed,
        max_tokens,
    )


# -- listing --------------------------------------------------------------------------------------


def test_get_available_models_on_the_class_with_constructor_arguments() -> None:
    with router() as mock:
        route = mock.get("/models").respond(200, json={"data": [{"id": MODEL}]})
        client = httpx.Client(transport=httpx.MockTransport(mock.handler))
        models = ChatNVIDIA.get_available_models(base_url=BASE, http_client=client)
        assert [m.id for m in models] == [MODEL]
        assert isinstance(models[0], Model)
        assert not client.is_closed  # an injected client belongs to its owner
        assert str(route.calls.last.request.url) == f"{BASE}/models"


async def test_aget_available_models_on_the_class_and_on_an_instance() -> None:
    with router() as mock:
        mock.get("/models").respond(200, json={"data": [{"id": MODEL}]})
        client = httpx.AsyncClient(transport=httpx.MockTransport(mock.handler))
        on_class = await ChatNVIDIA.aget_available_models(base_url=BASE, http_async_client=client)
        on_instance = await llm(mock).aget_available_models()
    assert [m.id for m in on_class] == [m.id for m in on_instance] == [MODEL]


def test_an_instance_lists_with_its_own_settings_unless_given_arguments() -> None:
    other = "http://127.0.0.1:8/v1"
    with router() as mock:
        mine = mock.get("/models").respond(200, json={"data": [{"id": "mine"}]})
        theirs = mock.get(f"{other}/models").respond(200, json={"data": [{"id": "theirs"}]})
        model = llm(mock)
        assert [m.id for m in model.get_available_models()] == ["mine"]
        assert [m.id for m in model.available_models] == ["mine"]
        client = httpx.Client(transport=httpx.MockTransport(mock.handler))
        assert [m.id for m in model.get_available_models(base_url=other, http_client=client)] == ["theirs"]
        assert (mine.call_count, theirs.call_count) == (2, 1)


def test_the_hosted_listing_is_merged_with_the_catalogue_and_keeps_chat_models() -> None:
    listed = [MODEL, "nvidia/nv-embedqa-e5-v5", "someone/brand-new-model", "google/gemma-7b"]
    with router() as mock:
        mock.get(f"{HOSTED}/models").respond(
            200, json={"data": [{"id": i, "object": "model"} for i in listed]}
        )
        models = hosted(mock, model=MODEL).get_available_models()
    ids = [m.id for m in models]
    unlisted = [entry.id for entry in current_chat_models() if entry.id not in listed]
    # listed chat models first (a deprecated one only because the server lists it), then the rest
    assert ids == [MODEL, "someone/brand-new-model", "google/gemma-7b", *unlisted]
    assert "nvidia/nv-embedqa-e5-v5" not in ids  # an embedding model is no use to a chat client
    by_id = {m.id: m for m in models}
    assert by_id["someone/brand-new-model"].known is False
    assert by_id["google/gemma-7b"].deprecated
    vision = by_id["meta/llama-3.2-11b-vision-instruct"]  # not listed by the gateway, served elsewhere
    assert (vision.model_type, vision.supports_vision) == ("vlm", True)
    assert vision.endpoint == CATALOGUE["meta/llama-3.2-11b-vision-instruct"].endpoint
    assert len(ids) == 1 + 2 + len(unlisted)


def test_a_local_listing_is_the_servers_own() -> None:
    listed = ["nvidia/nv-embedqa-e5-v5", MODEL]
    with router() as mock:
        mock.get("/models").respond(200, json={"data": [{"id": i} for i in listed]})
        assert [m.id for m in llm(mock).get_available_models()] == listed


@pytest.mark.parametrize(
    "listing",
    [
        # vLLM / NIM 2.x: the adapter's parent is the base model
        [
            {"id": MODEL, "root": "/models/llama", "parent": None},
            {"id": "math-lora", "root": "/loras/math", "parent": MODEL},
            {"id": "sql-lora", "root": "/loras/sql", "parent": MODEL},
        ],
        # NIM 1.x: the adapter's root is the base model
        [
            {"id": "math-lora", "root": MODEL},
            {"id": MODEL, "root": MODEL},
        ],
    ],
    ids=["vllm-parent", "nim-root"],
)
def test_a_local_nim_with_lora_adapters_and_no_model_uses_the_base(listing: list[dict[str, Any]]) -> None:
    with router() as mock:
        mock.get("/models").respond(200, json={"object": "list", "data": listing})
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock, model=None).invoke("x")
        assert sent_json(mock)["model"] == MODEL


# -- model resolution and routing --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "model_id"),
    [
        ("ai-mixtral-8x7b-instruct", "mistralai/mixtral-8x7b-instruct-v0.1"),
        ("playground_mixtral_8x7b", "mistralai/mixtral-8x7b-instruct-v0.1"),
        ("ai-codestral-22b-instruct-v01", "mistralai/codestral-22b-instruct-v0.1"),
    ],
)
def test_a_hosted_alias_is_sent_as_its_current_id(alias: str, model_id: str) -> None:
    with router() as mock:
        route = mock.post(f"{HOSTED}/chat/completions").respond(200, json=completion())
        with pytest.warns(UserWarning, match=f"old name of '{model_id}'"):
            model = hosted(mock, model=alias)
        model.invoke("x")
    assert model.model == model_id
    assert body_of(route)["model"] == model_id


def test_a_local_nim_gets_the_name_it_was_given() -> None:
    with router() as mock, warnings.catch_warnings():
        warnings.simplefilter("error")
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock, model="ai-mixtral-8x7b-instruct").invoke("x")
        assert sent_json(mock)["model"] == "ai-mixtral-8x7b-instruct"


@pytest.mark.parametrize(
    ("model_id", "warning"),
    [("google/gemma-7b", "deprecated"), ("nvidia/nv-embedqa-e5-v5", "embedding model, not a chat model")],
)
def test_deprecated_and_non_chat_hosted_models_are_warned_about(model_id: str, warning: str) -> None:
    with router() as mock, pytest.warns(UserWarning, match=warning):
        hosted(mock, model=model_id)


ENDPOINTS = sorted((e.id, e.endpoint) for e in CATALOGUE.values() if e.endpoint and e.is_chat)


@pytest.mark.parametrize(("model_id", "endpoint"), ENDPOINTS, ids=[m for m, _ in ENDPOINTS])
def test_a_hosted_model_with_its_own_endpoint_is_posted_there(model_id: str, endpoint: str) -> None:
    with router() as mock:
        route = mock.post(endpoint).respond(200, json=completion())
        hosted(mock, model=model_id).invoke("x")
        assert str(route.calls.last.request.url) == endpoint
        assert route.calls.last.request.headers["authorization"] == "Bearer nvapi-test"


def test_the_same_model_on_a_local_nim_is_posted_to_the_base_url() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock, model="meta/llama-3.2-11b-vision-instruct").invoke("x")
        assert str(mock.calls.last.request.url) == f"{BASE}/chat/completions"


def test_nv_vlm_models_take_the_bare_image_url_and_no_stream_options() -> None:
    endpoint = CATALOGUE["google/paligemma"].endpoint
    assert endpoint is not None
    image = {"type": "image_url", "image_url": {"url": "https://example.org/cat.png"}}
    with router() as mock:
        route = mock.post(endpoint).mock(return_value=sse_response(text_stream("a cat")))
        list(
            hosted(mock, model="google/paligemma").stream(
                [HumanMessage([{"type": "text", "text": "?"}, image])]
            )
        )
        assert route.calls.last.request.content == (
            b'{"messages":[{"role":"user","content":[{"type":"text","text":"?"},'
            b'{"type":"image_url","image_url":"https://example.org/cat.png"}]}],'
            b'"model":"google/paligemma","stream":true}'
        )


# -- metadata ---------------------------------------------------------------------------------


class UsageReader(BaseCallbackHandler):
    """What a usage callback written for ChatOpenAI or the published client reads."""

    def __init__(self) -> None:
        self.totals: list[int] = []

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.totals.append((response.llm_output or {}).get("token_usage", {}).get("total_tokens", 0))


def test_token_usage_and_role_in_metadata_and_llm_output() -> None:
    usage = {"prompt_tokens": 5, "total_tokens": 8, "completion_tokens": 3, "prompt_tokens_details": None}
    reader = UsageReader()
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion(usage=usage))
        model = llm(mock)
        message = model.invoke("x", config={"callbacks": [reader]})
        result = model.generate([[HumanMessage("a")], [HumanMessage("b")]])
    assert message.response_metadata["token_usage"] == usage
    assert message.response_metadata["role"] == "assistant"
    assert message.role == "assistant"  # the published client's pre-0.2 ChatMessage attribute
    assert reader.totals == [8]
    assert result.llm_output == {
        "token_usage": {"prompt_tokens": 10, "total_tokens": 16, "completion_tokens": 6},
        "model_name": MODEL,
    }


def test_tool_calls_are_also_in_additional_kwargs() -> None:
    calls = [{"id": "call-1", **CALL}]
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion(None, tool_calls=calls))
        message = llm(mock).invoke("weather?")
    assert message.additional_kwargs["tool_calls"] == calls
    assert message.tool_calls == [
        {"name": "get_weather", "args": {"city": "Rome"}, "id": "call-1", "type": "tool_call"}
    ]


def test_profile_comes_from_the_published_profiles() -> None:
    profile = ChatNVIDIA(model="meta/llama-3.2-11b-vision-instruct", base_url=BASE).profile
    assert profile is not None
    assert (profile["image_inputs"], profile["max_input_tokens"]) == (True, 128000)
    assert ChatNVIDIA(model="someone/unknown", base_url=BASE).profile is None


# -- thinking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([HumanMessage("q")], [{"role": "system", "content": "/think"}, {"role": "user", "content": "q"}]),
        (
            [SystemMessage("Be brief."), HumanMessage("q")],
            [{"role": "system", "content": "Be brief.\n/think"}, {"role": "user", "content": "q"}],
        ),
        (
            [HumanMessage("q"), SystemMessage("Be brief.")],
            [{"role": "user", "content": "q"}, {"role": "system", "content": "Be brief.\n/think"}],
        ),
        (
            [SystemMessage([{"type": "text", "text": "Be brief."}]), HumanMessage("q")],
            [
                {
                    "role": "system",
                    "content": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "\n/think"}],
                },
                {"role": "user", "content": "q"},
            ],
        ),
    ],
    ids=["no-system", "system-first", "system-later", "system-blocks"],
)
def test_a_thinking_prefix_goes_after_the_system_prompt(messages: list[Any], expected: list[Any]) -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock, model="nvidia/llama-3.3-nemotron-super-49b-v1.5").with_thinking_mode(True).invoke(messages)
        assert sent_json(mock)["messages"] == expected


def test_thinking_parameters_merge_into_the_callers_and_none_removes_one() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        nano = llm(
            mock, model="nvidia/nemotron-3-nano-30b-a3b", model_kwargs={"chat_template_kwargs": {"x": 1}}
        )
        nano.with_thinking_mode(False).invoke("q")
        assert sent_json(mock)["chat_template_kwargs"] == {"x": 1, "enable_thinking": False}
        small = llm(
            mock, model="mistralai/mistral-small-4-119b-2603", model_kwargs={"reasoning_effort": "low"}
        )
        small.with_thinking_mode(True).invoke("q")
        assert sent_json(mock)["reasoning_effort"] == "high"
        small.with_thinking_mode(False).invoke("q")
        assert "reasoning_effort" not in sent_json(mock)


# -- what requests carry ---------------------------------------------------------------------------


def test_an_assistant_tool_call_turn_is_sent_with_null_content() -> None:
    call = {"name": "get_weather", "args": {"city": "Rome"}, "id": "call-1"}
    turns = [
        HumanMessage("Weather in Rome?"),
        AIMessage("", tool_calls=[call]),
        ToolMessage("sunny", tool_call_id="call-1"),
        AIMessage("Let me check again.", tool_calls=[{**call, "id": "call-2"}]),
        ToolMessage("still sunny", tool_call_id="call-2"),
    ]
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock).invoke(turns)
        raw = mock.calls.last.request.content
    assert b'"content":""' not in raw
    assert json.loads(raw)["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call-1", **CALL}],
    }
    assert json.loads(raw)["messages"][3]["content"] == "Let me check again."


def test_asset_images_send_their_references_header() -> None:
    asset_url = "data:image/png;asset_id,3f1e-aa"
    turns = [
        HumanMessage(
            [{"type": "text", "text": "Compare"}, {"type": "image_url", "image_url": {"url": asset_url}}]
        ),
        HumanMessage('and <img src="data:image/jpeg;asset_id,77b0" />'),
    ]
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock).invoke(turns)
        assert mock.calls.last.request.headers["nvcf-input-asset-references"] == "3f1e-aa,77b0"
        llm(mock).invoke("no images")
        assert "nvcf-input-asset-references" not in mock.calls.last.request.headers
        stale = {"NVCF-INPUT-ASSET-REFERENCES": "old"}
        with pytest.warns(UserWarning, match="default_headers sets NVCF-INPUT-ASSET-REFERENCES"):
            llm(mock, default_headers=stale).invoke(turns)
        assert mock.calls.last.request.headers.get_list("nvcf-input-asset-references") == ["3f1e-aa,77b0"]


def test_video_parts_and_function_messages_are_sent() -> None:
    video = {"type": "video_url", "video_url": {"url": "https://example.org/clip.mp4"}}
    turns = [
        HumanMessage(
            [
                {"type": "text", "text": "What happens?"},
                video,
                {"type": "video", "url": "https://e.org/b.mp4"},
            ]
        ),
        FunctionMessage("it rains", name="describe"),
    ]
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        llm(mock).invoke(turns)
        assert sent_json(mock)["messages"] == [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What happens?"},
                    video,
                    {"type": "video_url", "video_url": {"url": "https://e.org/b.mp4"}},
                ],
            },
            {"role": "function", "content": "it rains", "name": "describe"},
        ]


# -- errors -----------------------------------------------------------------------------------


def test_error_text_starts_with_the_status_in_brackets() -> None:
    body = {
        "object": "error",
        "message": "The model `x` does not exist.",
        "type": "NotFoundError",
        "code": 404,
    }
    event = {"error": {"message": "context too long", "type": "BadRequestError", "code": 400}}
    with router() as mock:
        mock.post("/chat/completions").respond(404, json=body)
        with pytest.raises(NotFoundError) as caught:
            llm(mock).invoke("x")
        assert str(caught.value).startswith("[404] Not Found: The model `x` does not exist.")
        mock.post("/chat/completions").mock(return_value=sse_response([chunk({"content": "a"}), event]))
        with pytest.raises(Exception, match=r"^\[400\] Bad Request \(error event inside the stream\)"):
            list(llm(mock).stream("x"))


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"type": "image_url", "image_url": {"url": "/home/me/cat.png"}}, "neither http"),
        ({"type": "image_url", "image_url": "file:///home/me/cat.png"}, "read it and pass a data:image"),
        ({"type": "image", "url": "ftp://example.org/cat.png"}, "neither http"),
        (
            {"type": "image_url", "image_url": {"url": "https://e.org/a.png", "detail": "max"}},
            "'max' is not one",
        ),
    ],
    ids=["path", "file-url", "ftp", "detail"],
)
def test_image_sources_the_published_client_refuses_are_refused_before_sending(
    block: dict[str, Any], message: str
) -> None:
    with router() as mock:
        with pytest.raises(ValueError, match=message):
            llm(mock).invoke([HumanMessage([block])])
        assert not mock.calls


def test_construction_warnings_point_at_the_callers_line() -> None:
    with pytest.warns(UserWarning, match="temprature") as caught:
        ChatNVIDIA(model=MODEL, base_url=BASE, temprature=0.5)
    with pytest.warns(UserWarning, match="old name") as aliased:
        ChatNVIDIA(model="ai-mixtral-8x7b-instruct", api_key="nvapi-test")
    assert {w.filename for w in [*caught, *aliased]} == {__file__}
