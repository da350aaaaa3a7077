"""ChatNVIDIA on failures no server gives on demand, replayed from the bundled cassettes.

The hosted gateway's 401/403/404/500, its 429 (retried) and 202 (polled), and an engine that fails
inside a stream: a live run cannot ask for any of these, so they are not part of the contract suite
(tests/contract, which runs live and records against real engines) and run in mock mode only.
"""

from __future__ import annotations

import pytest
from langchain_core.messages import BaseMessageChunk
from nim_harness import (
    AuthenticationError,
    NotFoundError,
    NVIDIAError,
    PermissionDeniedError,
    ServerError,
)


@pytest.fixture(autouse=True)
def replay_only(nim_harness_mode: str) -> None:
    if nim_harness_mode != "mock":
        pytest.skip("replays an answer no server gives on demand (hosted gateway, engine failure)")


PROMPTS = {
    "errors/gateway_401": ("meta/llama-3.1-8b-instruct", "Are my credentials valid?", AuthenticationError),
    "errors/gateway_403": (
        "minimaxai/minimax-m2.7",
        "Summarise the plot of Hamlet in two lines.",
        PermissionDeniedError,
    ),
    "errors/gateway_404": (
        "moonshotai/kimi-k2-instruct",
        "Translate 'good morning' into Japanese.",
        NotFoundError,
    ),
    "errors/gateway_500": ("qwen/qwen3-235b-a22b", "Tell me a fun fact about octopuses.", ServerError),
}


@pytest.mark.parametrize(
    "cassette",
    [pytest.param(name, marks=pytest.mark.nim(cassette=name), id=name.split("/")[1]) for name in PROMPTS],
)
def test_gateway_error_statuses_raise_typed_errors(nim_harness_chat, cassette: str) -> None:
    model, prompt, error = PROMPTS[cassette]
    llm = nim_harness_chat(model=model, temperature=0.2, max_tokens=1024, top_p=0.7, max_retries=0)
    with pytest.raises(error) as caught:
        llm.invoke(prompt)
    assert caught.value.status == int(cassette.rsplit("_", 1)[1])
    assert str(caught.value)


@pytest.mark.nim(cassette="errors/gateway_429_retry")
def test_a_429_is_retried(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7, max_retries=1)
    answer = llm.invoke("What is the tallest mountain in Africa?")
    assert answer.response_metadata["finish_reason"] == "stop"
    assert answer.content


@pytest.mark.nim(cassette="errors/gateway_202_polling")
def test_a_202_is_polled_until_the_answer(nim_harness_chat, nim_harness_base_url: str) -> None:
    polling = nim_harness_base_url.removesuffix("/v1") + "/v2/nvcf/pexec/status/"
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7, polling_base=polling)
    answer = llm.invoke("Explain what a CUDA kernel is in one paragraph.")
    assert answer.response_metadata["finish_reason"] == "stop"
    assert answer.content


@pytest.mark.parametrize(
    ("cassette", "prompt"),
    [
        pytest.param(
            "errors/midstream_nim1",
            "Describe the water cycle step by step.",
            marks=pytest.mark.nim(cassette="errors/midstream_nim1"),
            id="nim1",
        ),
        pytest.param(
            "errors/midstream_vllm010",
            "Explain photosynthesis to a ten-year-old.",
            marks=pytest.mark.nim(cassette="errors/midstream_vllm010"),
            id="vllm010",
        ),
    ],
)
def test_an_error_inside_a_stream_raises_after_the_first_chunks(
    nim_harness_chat, cassette: str, prompt: str
) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7)
    received: list[BaseMessageChunk] = []

    def consume() -> None:
        for chunk in llm.stream(prompt):
            received.append(chunk)

    with pytest.raises(NVIDIAError, match="EngineCore encountered an issue") as caught:
        consume()
    assert caught.value.in_stream
    assert any(chunk.content for chunk in received), "the chunks before the error must reach the caller"
