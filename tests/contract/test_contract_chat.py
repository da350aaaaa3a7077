"""Chat completions, not streamed: plain, system prompt + multi-turn, stop/length finishes, n, logprobs."""

from __future__ import annotations

import pytest
from contract_checks import assert_text_answer, assert_usage, require
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage


@pytest.mark.nim(cassette="chat/plain")
def test_invoke(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7)
    answer = llm.invoke("In one sentence, what is NVIDIA NIM?")
    assert_text_answer(answer)
    assert_usage(answer)
    assert answer.id
    assert answer.response_metadata["model_name"]


@pytest.mark.nim(cassette="chat/plain")
async def test_ainvoke(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7)
    answer = await llm.ainvoke("In one sentence, what is NVIDIA NIM?")
    assert_text_answer(answer)
    assert_usage(answer)


@pytest.mark.nim(cassette="chat/plain")
def test_batch(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7)
    answers = llm.batch(["In one sentence, what is NVIDIA NIM?"] * 2)
    assert len(answers) == 2
    for answer in answers:
        assert_text_answer(answer)


@pytest.mark.nim(cassette="chat/plain")
async def test_abatch(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7)
    answers = await llm.abatch(["In one sentence, what is NVIDIA NIM?"] * 2)
    assert [type(a) for a in answers] == [AIMessage, AIMessage]


@pytest.mark.nim(cassette="chat/multi_turn_system")
def test_system_prompt_and_multi_turn(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7)
    answer = llm.invoke(
        [
            SystemMessage("You are a terse assistant. Answer in at most two sentences."),
            HumanMessage("What is the boiling point of water at sea level?"),
            AIMessage("100 °C (212 °F) at standard atmospheric pressure."),
            HumanMessage("And on the summit of Mount Everest?"),
        ]
    )
    assert_text_answer(answer)
    assert_usage(answer)


# A story takes any model more than four tokens: every server has to cut this answer short.
@pytest.mark.nim(cassette="vllm-contract/chat/length")
def test_length_finish(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(temperature=0.5, max_tokens=4, top_p=0.7)
    answer = llm.invoke("Write a short story about a robot who learns to paint.")
    finish = answer.response_metadata.get("finish_reason")
    require(
        finish == "length",
        nim_harness_mode,
        f"stopped by itself before max_tokens=4 (finish_reason {finish!r})",
    )
    assert_text_answer(answer, finish="length")
    assert_usage(answer)
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["output_tokens"] == 4


@pytest.mark.nim(cassette="chat/stop_sequence")
def test_stop_sequence(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0, max_tokens=256)
    answer = llm.invoke("List the planets of the solar system as a numbered list.", stop=["4."])
    assert_text_answer(answer)
    assert "4." not in answer.content


@pytest.mark.nim(cassette="chat/n2")
def test_n_choices(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(temperature=0.9, max_tokens=64, n=2)
    result = llm.generate([[HumanMessage("Suggest a name for a pet hedgehog.")]])
    generations = result.generations[0]
    require(len(generations) > 1, nim_harness_mode, f"answered n=2 with {len(generations)} choice(s)")
    assert len(generations) == 2
    for generation in generations:
        assert isinstance(generation.text, str)
        assert generation.text.strip()


@pytest.mark.nim(cassette="chat/logprobs")
def test_logprobs(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(temperature=0, max_tokens=32, logprobs=True, top_logprobs=2)
    answer = llm.invoke("What is the capital of Australia? Answer in one short sentence.")
    assert_text_answer(answer)
    require(
        bool(answer.response_metadata.get("logprobs")),
        nim_harness_mode,
        "sent no logprobs when asked for them",
    )
    content = answer.response_metadata["logprobs"]["content"]
    assert content
    for token in content:
        assert isinstance(token["token"], str)
        assert token["logprob"] <= 0
        assert 1 <= len(token["top_logprobs"]) <= 2
