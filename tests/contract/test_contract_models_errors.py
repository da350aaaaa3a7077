"""Model listing, and every error status the client turns into a typed exception.

The error scenarios can only be replayed (a real server does not fail on demand), so they skip
outside mock mode with a reason saying so; the listing holds in every mode.
"""

from __future__ import annotations

import pytest
from contract_checks import assert_text_answer
from nim_harness import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    NVIDIAError,
    PermissionDeniedError,
    ServerError,
)


@pytest.fixture
def replay_only(nim_harness_mode: str) -> None:
    if nim_harness_mode != "mock":
        pytest.skip(
            "error scenarios are replayed from their cassettes; a real server does not fail on demand"
        )


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


@pytest.mark.usefixtures("replay_only")
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


@pytest.mark.usefixtures("replay_only")
@pytest.mark.nim(cassette="errors/nim1_unknown_model")
def test_unknown_model_is_not_found(nim_harness_chat) -> None:
    llm = nim_harness_chat(model="meta/llama3-8b", temperature=0.2, max_tokens=1024)
    with pytest.raises(NotFoundError, match="meta/llama3-8b"):
        llm.invoke("Hello, are you there?")


@pytest.mark.usefixtures("replay_only")
@pytest.mark.nim(cassette="errors/vllm010_context_too_long")
def test_too_many_tokens_is_a_bad_request(nim_harness_chat) -> None:
    llm = nim_harness_chat(max_tokens=200000)
    with pytest.raises(BadRequestError) as caught:
        llm.invoke("Write the longest essay you can about the history of computing.")
    assert caught.value.status == 400


@pytest.mark.usefixtures("replay_only")
@pytest.mark.nim(cassette="errors/gateway_429_retry")
def test_a_429_is_retried(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7, max_retries=1)
    assert_text_answer(llm.invoke("What is the tallest mountain in Africa?"))


@pytest.mark.usefixtures("replay_only")
@pytest.mark.nim(cassette="errors/gateway_202_polling")
def test_a_202_is_polled_until_the_answer(nim_harness_chat, nim_harness_base_url: str) -> None:
    polling = nim_harness_base_url.removesuffix("/v1") + "/v2/nvcf/pexec/status/"
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7, polling_base=polling)
    assert_text_answer(llm.invoke("Explain what a CUDA kernel is in one paragraph."))


@pytest.mark.usefixtures("replay_only")
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
    received: list = []

    def consume() -> None:
        for chunk in llm.stream(prompt):
            received.append(chunk)

    with pytest.raises(NVIDIAError, match="EngineCore encountered an issue"):
        consume()
    assert any(chunk.content for chunk in received), "the chunks before the error must reach the caller"
