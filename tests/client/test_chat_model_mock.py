"""ChatNVIDIA against the mock NIM on real uvicorn (loopback, ephemeral port), bundled cassettes.

These exchanges were recorded from (or written to match) real servers, so they check what the
respx tests cannot: our requests match what was recorded, and real byte streams in each server's
layout (NIM 1.x/vLLM, hosted gateway, ``transformers serve`` without ``[DONE]``) read correctly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from nim_harness import BadRequestError, ChatNVIDIA

from nim_mock import bundled_cassettes_dir, create_app, load_cassettes, serve_in_thread

RECORDED = {"temperature": 0.2, "top_p": 0.7, "max_tokens": 1024}


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    app = create_app(load_cassettes([bundled_cassettes_dir()]), speed=0)
    with serve_in_thread(app) as url:
        yield url


def model(base: str, name: str, **fields: Any) -> ChatNVIDIA:
    return ChatNVIDIA(model=name, base_url=f"{base}/v1", api_key=None, max_retries=0, **fields)


def total(chunks: Iterator[AIMessageChunk]) -> AIMessageChunk:
    result = AIMessageChunk(content="")
    for piece in chunks:
        result = result + piece
    return result


def test_plain_invoke(base: str) -> None:
    message = model(base, "meta/llama-3.1-8b-instruct", **RECORDED).invoke(
        "In one sentence, what is NVIDIA NIM?"
    )
    assert isinstance(message.content, str)
    assert "NIM" in message.content
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] > 0


def test_stream_with_usage(base: str) -> None:
    llm = model(base, "meta/llama-3.1-8b-instruct", **RECORDED)
    chunks = list(llm.stream("Name three primary colors."))
    assert sum(1 for c in chunks if c.content) > 3
    whole = total(iter(chunks))
    assert whole.usage_metadata is not None
    assert whole.usage_metadata["output_tokens"] > 0
    assert whole.response_metadata["finish_reason"] == "stop"


async def test_astream_reasoning_content_kept_out_of_content(base: str) -> None:
    llm = model(base, "deepseek-ai/deepseek-r1", temperature=0.6, top_p=0.95, max_tokens=4096)
    whole = AIMessageChunk(content="")
    async for piece in llm.astream("Is 2027 a prime number?"):
        whole = whole + piece
    assert whole.additional_kwargs["reasoning_content"]
    assert "<think>" not in str(whole.content)
    assert whole.content


def test_tool_call_auto(base: str) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name, e.g. Paris"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    }
    llm = model(base, "meta/llama-3.3-70b-instruct", temperature=0.2, max_tokens=1024)
    message = llm.bind_tools([tool], tool_choice="auto").invoke("What's the weather like in Paris right now?")
    assert isinstance(message, AIMessage)
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("get_weather", {"city": "Paris"})]


def test_transformers_serve_stream_without_done(base: str) -> None:
    llm = model(base, "local/tiny-qwen2", max_tokens=8)
    whole = total(llm.stream("Say hello"))
    assert whole.content
    assert whole.usage_metadata is not None
    assert whole.usage_metadata["output_tokens"] == 8  # usage inside the finish chunk, counted once


def test_midstream_error_raised_typed(base: str) -> None:
    llm = model(base, "meta/llama-3.1-8b-instruct", **RECORDED)
    chunks: list[AIMessageChunk] = []
    with pytest.raises(BadRequestError, match="EngineCore") as caught:
        chunks.extend(llm.stream("Describe the water cycle step by step."))
    assert chunks  # the text before the error event still arrived
    assert caught.value.in_stream


def test_hosted_202_polling(base: str) -> None:
    llm = model(base, "meta/llama-3.3-70b-instruct", polling_base=f"{base}/v2/nvcf/pexec/status/", **RECORDED)
    message = llm.invoke("Explain what a CUDA kernel is in one paragraph.")
    assert "CUDA kernel" in str(message.content)
    assert message.usage_metadata == {
        "input_tokens": 46,
        "output_tokens": 43,
        "total_tokens": 89,
        "input_token_details": {"cache_read": 0},
    }
