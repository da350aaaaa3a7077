"""Model listing, and the errors a real engine gives on demand, each raised as its typed exception.

Every request here is one vLLM (the engine inside NVIDIA's LLM NIMs) refuses by itself: an unknown
model, a context or ``max_tokens`` beyond ``max_model_len``, sampling fields out of their range,
``tool_choice`` without tools, a body that is not JSON, the wrong method. So these run live and
record like any other contract test. The client-visible contract is checked, never wording: the
status, the exception class, and an error object that names its ``type`` and carries ``param``.

Answers only the hosted gateway or a failing engine give (401/403, 429, 202 polling, 5xx, an error
inside a stream) cannot be asked for; they are replayed in tests/client/test_replayed_failures.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from contract_checks import refusal, require, served_context
from langchain_core.messages import BaseMessageChunk
from nim_harness import BadRequestError, NotFoundError
from nim_harness._errors import error_from_response

PROMPT = "Hello, are you there?"


@pytest.mark.nim(cassette="models/list")
def test_model_listing(nim_harness_chat) -> None:
    llm = nim_harness_chat()
    for _ in range(2):  # the cassette holds a hosted listing and a self-hosted one
        models = llm.get_available_models()
        assert models
        ids = [model.id for model in models]
        assert all(isinstance(i, str) and i for i in ids)
        assert len(set(ids)) == len(ids)


@pytest.mark.nim(cassette="models/list")
async def test_async_model_listing(nim_harness_chat) -> None:
    models = await nim_harness_chat().aget_available_models()
    assert models
    assert all(model.id for model in models)


# max_retries=0 throughout: a server that fails a request with a 5xx instead of refusing it is to
# be reported as such, not retried.


@pytest.mark.nim(cassette="errors/nim1_unknown_model")
def test_unknown_model_is_not_found(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(model="meta/llama3-8b", temperature=0.2, max_tokens=1024, max_retries=0)
    error = refusal(lambda: llm.invoke(PROMPT), nim_harness_mode, "an unknown model", NotFoundError, 404)
    assert "meta/llama3-8b" in error.message, "the error names the model asked for"


@pytest.mark.nim(cassette="errors/vllm010_context_too_long")
def test_max_tokens_beyond_the_context_is_a_bad_request(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(max_tokens=200000, max_retries=0)
    refusal(
        lambda: llm.invoke("Write the longest essay you can about the history of computing."),
        nim_harness_mode,
        "max_tokens=200000, beyond the context",
        BadRequestError,
        400,
    )


@pytest.mark.nim(cassette="vllm-contract/errors/prompt_too_long")
def test_a_prompt_longer_than_the_context_is_a_bad_request(
    nim_harness_chat, nim_harness_mode, nim_harness_model
) -> None:
    llm = nim_harness_chat(max_tokens=16, max_retries=0)
    context = served_context(llm, nim_harness_model)
    require(context is not None, nim_harness_mode, f"lists no max_model_len for {nim_harness_model}")
    assert context is not None
    # every space-separated word is at least one token, so the prompt alone overflows the context
    prompt = "Summarise: " + "alpha " * context
    asked = "a prompt longer than the context"
    refusal(lambda: llm.invoke(prompt), nim_harness_mode, asked, BadRequestError, 400)


OUT_OF_RANGE: dict[str, dict[str, Any]] = {
    "temperature": {"temperature": -1.0},
    "top_p": {"top_p": 1.5},
    "n": {"n": 0},
    "max_tokens": {"max_tokens": 0},
    "top_logprobs": {"logprobs": True, "top_logprobs": 21},
}


@pytest.mark.parametrize(
    "field",
    [
        pytest.param(
            field, marks=pytest.mark.nim(cassette=f"vllm-contract/errors/{field}_out_of_range"), id=field
        )
        for field in OUT_OF_RANGE
    ],
)
def test_a_sampling_field_out_of_range_is_a_bad_request(
    nim_harness_chat, nim_harness_mode, field: str
) -> None:
    fields = OUT_OF_RANGE[field]
    # Given per call: ChatNVIDIA refuses these ranges at construction, as the published client does,
    # so only a call-time value reaches the server and shows how it refuses.
    llm = nim_harness_chat(max_retries=0)
    asked = ", ".join(f"{key}={value!r}" for key, value in fields.items())
    refusal(lambda: llm.invoke(PROMPT, **fields), nim_harness_mode, asked, BadRequestError, 400)


@pytest.mark.nim(cassette="vllm-contract/errors/stream_refused")
def test_a_refused_stream_raises_before_any_chunk(nim_harness_chat, nim_harness_mode) -> None:
    received: list[BaseMessageChunk] = []
    llm = nim_harness_chat(max_retries=0)

    def stream() -> None:
        received.extend(llm.stream(PROMPT, top_p=1.5))

    error = refusal(stream, nim_harness_mode, "top_p=1.5, streamed", BadRequestError, 400)
    assert received == []
    assert not error.in_stream, "a refused request is an HTTP error, not an event inside a stream"


@pytest.mark.nim(cassette="vllm-contract/errors/tool_choice_without_tools")
def test_tool_choice_without_tools_is_a_bad_request(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(max_tokens=16, max_retries=0).bind(tool_choice="required")
    refusal(lambda: llm.invoke(PROMPT), nim_harness_mode, "tool_choice without tools", BadRequestError, 400)


# No client library sends the next two, and the mock refuses them itself, before any recording is
# looked up (as vLLM does before any model runs): in mock mode they need no cassette, and the mock's
# own refusal is held to the contract a real engine's is held to live.
def refused_by_the_server_itself(test: Callable[..., None]) -> Callable[..., None]:
    test = pytest.mark.nim(on_miss="synthesize")(test)
    return pytest.mark.usefixtures("skipped_where_nothing_was_recorded")(test)


def raise_typed_error(response: httpx.Response) -> None:
    """Raise what ChatNVIDIA raises for ``response`` (the same function builds it)."""
    if response.is_error:
        raise error_from_response(response.status_code, response.headers, response.content)


@refused_by_the_server_itself
def test_a_body_that_is_not_json_is_a_bad_request(
    nim_harness_http_client: httpx.Client, nim_harness_mode
) -> None:
    def send() -> None:
        raise_typed_error(
            nim_harness_http_client.post(
                "/chat/completions",
                content=b'{"model": "meta/llama-3.1-8b-instruct", "messages": [',
                headers={"content-type": "application/json"},
            )
        )

    refusal(send, nim_harness_mode, "a body that is not JSON", BadRequestError, 400)


@refused_by_the_server_itself
def test_the_wrong_method_is_refused_naming_the_right_one(nim_harness_http_client: httpx.Client) -> None:
    response = nim_harness_http_client.get("/chat/completions")
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]
    with pytest.raises(BadRequestError) as caught:
        raise_typed_error(response)
    assert caught.value.status == 405
    assert caught.value.message
