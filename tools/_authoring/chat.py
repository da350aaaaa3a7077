"""Plain chat scenarios (NIM 1.x / vLLM 0.9.2): streamed and not, multi-turn, n=2, logprobs, length, stop."""

from __future__ import annotations

import random
from collections.abc import Callable

from _authoring.wire import (
    Json,
    cassette,
    chat_choice,
    float32,
    llama_prompt_tokens,
    nim_chat,
    nim_stream_text,
    ntok,
    tokens,
    user,
)

# scenarios: plain chat


def chat_plain() -> Json:
    name = "chat/plain"
    messages = [user("In one sentence, what is NVIDIA NIM?")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "top_p": 0.7,
    }
    text = (
        "NVIDIA NIM is a set of containerized inference microservices that package optimized models "
        "behind an OpenAI-compatible API so they can be deployed on any NVIDIA GPU."
    )
    n = ntok(text) + 1
    inter = nim_chat(name, req, [chat_choice(0, text)], llama_prompt_tokens(messages), n)
    return cassette(
        "Plain chat, not streamed: ChatNVIDIA-style body (temperature, max_tokens 1024, top_p) to "
        "meta/llama-3.1-8b-instruct. NIM 1.x / vLLM 0.9.2 layout: every field present, nulls kept, "
        "usage order prompt,total,completion; completion_tokens counts the EOS token.",
        [inter],
    )


def chat_stream_usage() -> Json:
    name = "chat/stream_usage"
    messages = [user("Name three primary colors.")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "top_p": 0.7,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    inter = nim_stream_text(
        name, req, "The three primary colors are red, yellow, and blue.", llama_prompt_tokens(messages)
    )
    return cassette(
        "Streamed chat with stream_options.include_usage (what ChatNVIDIA sends). NIM 1.x / vLLM 0.9.2: "
        "role chunk {role, content: ''}, one chunk per token, a final chunk with finish_reason and "
        "stop_reason, a usage-only chunk with choices [], then data: [DONE].",
        [inter],
    )


def chat_stream_no_usage() -> Json:
    name = "chat/stream_no_usage"
    messages = [user("Give me a haiku about GPUs.")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.3-70b-instruct",
        "max_tokens": 256,
        "stream": True,
        "temperature": 0.7,
    }
    text = "Silicon rivers\nthousands of cores hum in step\nmatrices bloom fast"
    inter = nim_stream_text(name, req, text, llama_prompt_tokens(messages), per_token=(18, 30))
    return cassette(
        "Streamed chat without stream_options (openai SDK style body) to meta/llama-3.3-70b-instruct. "
        "NIM 1.x / vLLM 0.9.2: no usage anywhere in the stream; ends with data: [DONE]. Slower "
        "per-token gaps than the 8B model.",
        [inter],
    )


def chat_multi_turn() -> Json:
    name = "chat/multi_turn_system"
    messages = [
        {"role": "system", "content": "You are a terse assistant. Answer in at most two sentences."},
        user("What is the boiling point of water at sea level?"),
        {"role": "assistant", "content": "100 °C (212 °F) at standard atmospheric pressure."},
        user("And on the summit of Mount Everest?"),
    ]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.3-70b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "top_p": 0.7,
    }
    text = "About 70 °C (158 °F), because the air pressure there is only about a third of sea-level pressure."
    inter = nim_chat(
        name, req, [chat_choice(0, text)], llama_prompt_tokens(messages), ntok(text) + 1, per_token=(18, 30)
    )
    return cassette(
        "Multi-turn chat with a system prompt (system, user, assistant, user), not streamed, "
        "meta/llama-3.3-70b-instruct. NIM 1.x / vLLM 0.9.2 layout; non-ASCII (°) sent as raw UTF-8.",
        [inter],
    )


def chat_n2() -> Json:
    name = "chat/n2"
    messages = [user("Suggest a name for a pet hedgehog.")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.9,
        "max_tokens": 64,
        "n": 2,
    }
    first = "How about Quill? It's short, cute, and fits a spiky little friend."
    second = "Try Sonic, a playful nod to the famous speedy hedgehog."
    completion = ntok(first) + 1 + ntok(second) + 1
    choices = [chat_choice(0, first), chat_choice(1, second)]
    inter = nim_chat(name, req, choices, llama_prompt_tokens(messages), completion)
    return cassette(
        "n=2 with temperature 0.9, not streamed: two choices (index 0 and 1), usage.completion_tokens "
        "is the sum over both. NIM 1.x / vLLM 0.9.2 layout.",
        [inter],
    )


def _logprob_entry(token: str, lp: float, alt: str, alt_lp: float) -> Json:
    def one(tok: str, value: float) -> Json:
        return {"token": tok, "logprob": value, "bytes": list(tok.encode("utf-8"))}

    return {**one(token, lp), "top_logprobs": [one(token, lp), one(alt, alt_lp)]}


def chat_logprobs() -> Json:
    name = "chat/logprobs"
    messages = [user("What is the capital of Australia? Answer in one short sentence.")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0,
        "max_tokens": 32,
        "logprobs": True,
        "top_logprobs": 2,
    }
    text = "The capital of Australia is Canberra."
    rng = random.Random("logprobs")
    alternatives = {"The": "Can", " capital": " Australian", " of": " city", " Australia": " Aust",
                    " is": " was", " Canberra": " Sydney", ".": "!"}  # fmt: skip
    content = []
    for piece in tokens(text):
        lp = float32(-rng.uniform(0.0002, 0.09)) if piece != " of" else 0.0
        alt_lp = float32(-rng.uniform(3.5, 11.0))
        content.append(_logprob_entry(piece, lp, alternatives[piece], alt_lp))
    content.append(
        _logprob_entry("<|eot_id|>", float32(-rng.uniform(0.0002, 0.01)), "<|eom_id|>", float32(-9.2))
    )
    choice = chat_choice(0, text, logprobs={"content": content})
    inter = nim_chat(name, req, [choice], llama_prompt_tokens(messages), len(content))
    return cassette(
        "logprobs true with top_logprobs 2, not streamed. NIM 1.x / vLLM 0.9.2: logprobs.content has "
        "one entry per generated token (EOS <|eot_id|> included) with token, logprob (float32 "
        "precision), bytes and the top 2 (sampled token first).",
        [inter],
    )


def chat_length() -> Json:
    name = "chat/length"
    messages = [user("Write a short story about a robot who learns to paint.")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.5,
        "max_tokens": 16,
        "top_p": 0.7,
    }
    text = "In a small workshop at the edge of the city, a maintenance robot named"
    assert ntok(text) == 16, ntok(text)
    inter = nim_chat(name, req, [chat_choice(0, text, finish="length")], llama_prompt_tokens(messages), 16)
    return cassette(
        "finish_reason length: max_tokens 16 cuts the answer mid-sentence, completion_tokens == 16, "
        "stop_reason null. NIM 1.x / vLLM 0.9.2 layout, not streamed.",
        [inter],
    )


def chat_stop_sequence() -> Json:
    name = "chat/stop_sequence"
    messages = [user("List the planets of the solar system as a numbered list.")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0,
        "max_tokens": 256,
        "stop": ["4."],
    }
    text = "Here are the planets in order from the Sun:\n\n1. Mercury\n2. Venus\n3. Earth\n"
    choice = chat_choice(0, text, finish="stop", stop_reason="4.")
    # "4" and "." are generated (and counted) before the stop string matches and is cut from the text
    inter = nim_chat(name, req, [choice], llama_prompt_tokens(messages), ntok(text) + ntok("4."))
    return cassette(
        'A stop sequence: stop ["4."] ends the list before item 4. NIM 1.x / vLLM 0.9.2: '
        'finish_reason "stop", stop_reason is the matched string, which is left out of the content.',
        [inter],
    )


SCENARIOS: dict[str, Callable[[], Json]] = {
    "chat/plain": chat_plain,
    "chat/stream_usage": chat_stream_usage,
    "chat/stream_no_usage": chat_stream_no_usage,
    "chat/multi_turn_system": chat_multi_turn,
    "chat/n2": chat_n2,
    "chat/logprobs": chat_logprobs,
    "chat/length": chat_length,
    "chat/stop_sequence": chat_stop_sequence,
}
