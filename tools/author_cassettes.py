"""Write the bundled cassettes under ``cassettes/`` deterministically.

Why a script instead of hand-written JSON: a cassette is only convincing when dozens of small
facts agree with each other (the same ``id`` and ``created`` on every chunk, usage that adds up,
``completion_tokens`` equal to the tokens streamed, offsets that never go backwards). Deriving
them from one description per scenario keeps them consistent, and re-running the script gives
byte-identical files, so a diff of ``cassettes/`` only ever shows deliberate changes.

Byte layouts follow ../shared/nim-wire-facts.md (vLLM 0.9.2 as bundled in NIM 1.x unless a
scenario says otherwise; field order checked against the vllm==0.9.2 wheel's ``protocol.py``,
``serving_chat.py``, ``serving_completion.py``); the ``transformers serve`` cassettes are parsed
from the real captures in ../shared/real-traffic/transformers-serve.

Usage::

    python tools/author_cassettes.py            # (re)write every bundled cassette
    python tools/author_cassettes.py --check    # exit 1 if a file differs from what would be written
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import re
import struct
import sys
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = Any

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"
CAPTURES = ROOT.parent / "shared" / "real-traffic" / "transformers-serve"

DONE = "data: [DONE]\n\n"
NIM_JSON_HEADERS = [["server", "uvicorn"], ["content-type", "application/json"]]
NIM_SSE_HEADERS = [["server", "uvicorn"], ["content-type", "text/event-stream; charset=utf-8"]]
CALL_HEADERS = {"content-type": "application/json", "accept": "application/json"}
STREAM_HEADERS = {"content-type": "application/json", "accept": "text/event-stream"}

# Llama 3.x special tokens that end a turn: <|eot_id|> is the tokenizer's EOS (stop_reason null);
# <|eom_id|> is an extra stop token id, reported as stop_reason (facts 3.2 tool-call example).
EOM_ID = 128008

GET_WEATHER = {
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
GET_TIME = {
    "type": "function",
    "function": {
        "name": "get_local_time",
        "description": "Get the current local time in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}


# --------------------------------------------------------------------------------------------
# deterministic ids, clocks, tokens


def hex32(name: str, label: str) -> str:
    """A stable 32-hex id: the same scenario always gets the same ids, different ones never collide."""
    return hashlib.sha256(f"{name}|{label}".encode()).hexdigest()[:32]


def uuid4_of(name: str, label: str) -> str:
    """A stable id shaped like ``uuid.uuid4()`` (version and variant bits set)."""
    return str(uuid.UUID(hex=hex32(name, label), version=4))


def created_of(name: str) -> int:
    """A plausible ``created`` (24-25 Nov 2026), distinct per scenario."""
    return 1795500000 + int(hex32(name, "created"), 16) % 90000


_TOKEN_RE = re.compile(r" ?[A-Za-z]{1,10}| ?\d{1,3}| ?[^\sA-Za-z\d]{1,2}|\n+|\s")


def tokens(text: str) -> list[str]:
    """Split text roughly as a Llama-3 BPE would (words with their leading space, 1-3 digit runs)."""
    parts = _TOKEN_RE.findall(text)
    if "".join(parts) != text:
        raise AssertionError(f"tokenizer lost characters in {text!r}")
    return parts


def ntok(text: str) -> int:
    return len(tokens(text))


def llama_prompt_tokens(messages: list[Json], tools: list[Json] | None = None) -> int:
    """Prompt length under the Llama 3.1 chat template: preamble, per-message headers, tool JSON."""
    total = 1 + 26  # <|begin_of_text|> + the "Cutting Knowledge Date / Today Date" system preamble
    if tools:
        total += 48 + sum(ntok(json.dumps(t, indent=4)) for t in tools)
    for i, message in enumerate(messages):
        content = message.get("content")
        if i == 0 and message["role"] == "system":  # joins the preamble's system block
            total += 2 + ntok(content)
            continue
        if isinstance(content, list):
            content = " ".join(part.get("text", "") for part in content if part.get("type") == "text")
        total += 5 + ntok(content or "")
        for call in message.get("tool_calls") or []:
            total += 8 + ntok(call["function"]["arguments"])
    return total + 4  # the open assistant header


class Clock:
    """Realistic, reproducible offsets in ms: seeded per scenario, jitter included."""

    def __init__(self, name: str) -> None:
        self.rng = random.Random(f"clock|{name}")
        self.now = 0.0

    def jump(self, low: float, high: float) -> float:
        self.now += self.rng.uniform(low, high)
        return round(self.now, 1)

    def at(self) -> float:
        return round(self.now, 1)


def float32(value: float) -> float:
    """Round to float32 and back, as a logprob computed on a GPU and turned into a Python float is."""
    rounded: float = struct.unpack("f", struct.pack("f", value))[0]
    return rounded


# --------------------------------------------------------------------------------------------
# cassette skeletons


def cassette(description: str, interactions: list[Json], ignore: list[str] | None = None) -> Json:
    doc: dict[str, Json] = {"format": "nim-harness.cassette", "version": 1, "description": description}
    if ignore:
        doc["match"] = {"ignore": ignore}
    doc["interactions"] = interactions
    return doc


def post(path: str, body: Json, *, stream: bool = False) -> Json:
    headers = STREAM_HEADERS if stream else CALL_HEADERS
    return {"method": "POST", "path": path, "headers": dict(headers), "json": body}


def get(path: str) -> Json:
    return {"method": "GET", "path": path, "headers": {"accept": "application/json"}}


def json_response(status: int, headers: list[list[str]], t_headers_ms: float, body: Json) -> Json:
    return {"status": status, "headers": headers, "t_headers_ms": t_headers_ms, "json": body}


# --------------------------------------------------------------------------------------------
# vLLM 0.9.2 / NIM 1.x bodies (pydantic field order of protocol.py)


def usage(prompt: int, completion: int, *, details: bool = True) -> Json:
    body = {"prompt_tokens": prompt, "total_tokens": prompt + completion, "completion_tokens": completion}
    if details:  # JSONResponse(model_dump()) keeps the null; stream usage is dumped exclude_none
        body["prompt_tokens_details"] = None
    return body


def tool_call(call_id: str, name: str, arguments: str) -> Json:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def chat_choice(
    index: int,
    content: str | None,
    *,
    reasoning: str | None = None,
    tool_calls: list[Json] | None = None,
    finish: str = "stop",
    stop_reason: int | str | None = None,
    logprobs: Json = None,
) -> Json:
    message = {"role": "assistant", "reasoning_content": reasoning, "content": content}
    message["tool_calls"] = tool_calls or []
    return {
        "index": index,
        "message": message,
        "logprobs": logprobs,
        "finish_reason": finish,
        "stop_reason": stop_reason,
    }


def chat_body(name: str, model: str, choices: list[Json], prompt: int, completion: int) -> Json:
    return {
        "id": f"chatcmpl-{hex32(name, 'id')}",
        "object": "chat.completion",
        "created": created_of(name),
        "model": model,
        "choices": choices,
        "usage": usage(prompt, completion),
        "prompt_logprobs": None,
        "kv_transfer_params": None,
    }


def nonstream_time(clock: Clock, completion_tokens: int, per_token: tuple[float, float]) -> float:
    """A non-streamed answer's headers leave once the whole completion is generated."""
    clock.jump(60, 180)
    for _ in range(completion_tokens):
        clock.jump(*per_token)
    return clock.jump(0.5, 2.5)


def nim_chat(
    name: str,
    request: Json,
    choices: list[Json],
    prompt: int,
    completion: int,
    per_token: tuple[float, float] = (8, 14),
) -> Json:
    clock = Clock(name)
    t = nonstream_time(clock, completion, per_token)
    body = chat_body(name, request["model"], choices, prompt, completion)
    return {
        "request": post("/v1/chat/completions", request),
        "response": json_response(200, NIM_JSON_HEADERS, t, body),
    }


@dataclass
class Stream:
    """Builds a vLLM 0.9.2 chat stream: same id/created on every chunk, one chunk per token."""

    name: str
    model: str
    per_token: tuple[float, float] = (8, 14)
    ttft: tuple[float, float] = (60, 180)
    events: list[Json] = field(default_factory=list)
    completion_tokens: int = 0

    def __post_init__(self) -> None:
        self.clock = Clock(self.name)
        self.t_headers = self.clock.jump(20, 60)
        self.id = f"chatcmpl-{hex32(self.name, 'id')}"
        self.created = created_of(self.name)
        self._first_token = True

    def chunk(self, choices: list[Json], **extra: Json) -> Json:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
        }
        body["choices"] = choices
        body.update(extra)
        return body

    def _step(self) -> float:
        if self._first_token:
            self._first_token = False
            return self.clock.jump(self.ttft[0] - 20, self.ttft[1] - 20)
        return self.clock.jump(*self.per_token)

    def role(self, n: int = 1) -> None:
        """First engine output: the role chunk(s) leave together with the first token."""
        t = self._step()
        for i in range(n):
            delta = {"role": "assistant", "content": ""}
            choice = {"index": i, "delta": delta, "logprobs": None, "finish_reason": None}
            self.events.append({"t_ms": t, "data": self.chunk([choice])})
        self._pending_first = True

    def delta(self, delta: Json, *, index: int = 0, hidden_before: int = 0) -> None:
        """One token's chunk; ``hidden_before`` tokens were generated first without a chunk."""
        for _ in range(hidden_before):
            self.completion_tokens += 1
            self._next_time()
        t = self._next_time()
        self.completion_tokens += 1
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}
        self.events.append({"t_ms": t, "data": self.chunk([choice])})

    def _next_time(self) -> float:
        if getattr(self, "_pending_first", False):
            self._pending_first = False
            return self.clock.jump(0.1, 0.4)
        return self.clock.jump(*self.per_token)

    def text(self, text: str, *, key: str = "content") -> None:
        for piece in tokens(text):
            self.delta({key: piece})

    def finish(
        self, delta: Json, reason: str, stop_reason: int | str | None = None, *, index: int = 0
    ) -> None:
        t = self._next_time()
        self.completion_tokens += 1
        choice = {
            "index": index,
            "delta": delta,
            "logprobs": None,
            "finish_reason": reason,
            "stop_reason": stop_reason,
        }
        self.events.append({"t_ms": t, "data": self.chunk([choice])})

    def end(self, prompt_tokens: int | None) -> Json:
        """Usage chunk (only when ``prompt_tokens`` is given: include_usage was asked) and [DONE]."""
        if prompt_tokens is not None:
            t = self.clock.jump(0.1, 0.5)
            body = self.chunk([], usage=usage(prompt_tokens, self.completion_tokens, details=False))
            self.events.append({"t_ms": t, "data": body})
        self.events.append({"t_ms": self.clock.jump(0.05, 0.3), "raw": DONE})
        return {
            "status": 200,
            "headers": NIM_SSE_HEADERS,
            "t_headers_ms": self.t_headers,
            "events": self.events,
        }


def nim_stream_text(
    name: str, request: Json, text: str, prompt: int, *, per_token: tuple[float, float] = (8, 14)
) -> Json:
    s = Stream(name, request["model"], per_token=per_token)
    s.role()
    s.text(text)
    s.finish({"content": ""}, "stop")
    include_usage = (request.get("stream_options") or {}).get("include_usage") is True
    return {
        "request": post("/v1/chat/completions", request, stream=True),
        "response": s.end(prompt if include_usage else None),
    }


# --------------------------------------------------------------------------------------------
# scenarios: plain chat


def user(text: str) -> Json:
    return {"role": "user", "content": text}


def chat_plain() -> Json:
    name = "chat/plain"
    messages = [user("In one sentence, what is NVIDIA NIM?")]
    req = {
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
    req = {
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
    req = {
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
    req = {
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
    req = {
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
    req = {
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
    req = {
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
    req = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0,
        "max_tokens": 256,
        "stop": ["4."],
    }
    text = "Here are the planets in order from the Sun:\n\n1. Mercury\n2. Venus\n3. Earth\n"
    choice = chat_choice(0, text, finish="stop", stop_reason="4.")
    inter = nim_chat(name, req, [choice], llama_prompt_tokens(messages), ntok(text) + 1)
    return cassette(
        'A stop sequence: stop ["4."] ends the list before item 4. NIM 1.x / vLLM 0.9.2: '
        'finish_reason "stop", stop_reason is the matched string, which is left out of the content.',
        [inter],
    )


# --------------------------------------------------------------------------------------------
# tools


def tools_auto() -> Json:
    name = "tools/auto"
    messages = [user("What's the weather like in Paris right now?")]
    req = {
        "messages": messages,
        "model": "meta/llama-3.3-70b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "tools": [GET_WEATHER],
        "tool_choice": "auto",
    }
    args = '{"city": "Paris"}'
    call = tool_call(f"chatcmpl-tool-{hex32(name, 'call0')}", "get_weather", args)
    choice = chat_choice(0, None, tool_calls=[call], finish="tool_calls", stop_reason=EOM_ID)
    completion = ntok('{"name": "get_weather", "parameters": ') + ntok(args) + 2
    inter = nim_chat(
        name, req, [choice], llama_prompt_tokens(messages, [GET_WEATHER]), completion, per_token=(18, 30)
    )
    return cassette(
        "Tool call with tool_choice auto, not streamed, meta/llama-3.3-70b-instruct (llama3_json parser). "
        "NIM 1.x / vLLM 0.9.2: content null, tool_calls[].id chatcmpl-tool-<32hex>, arguments a JSON "
        "string with json.dumps spacing, finish_reason tool_calls, stop_reason 128008 (<|eom_id|>).",
        [inter],
    )


def tools_required() -> Json:
    name = "tools/required"
    messages = [user("I'm flying to Tokyo tomorrow. How warm will it be?")]
    req = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "tools": [GET_WEATHER],
        "tool_choice": "required",
    }
    generated = '[{"name": "get_weather", "parameters": {"city": "Tokyo", "unit": "celsius"}}]'
    args = json.dumps({"city": "Tokyo", "unit": "celsius"}, ensure_ascii=False)
    call = tool_call(f"chatcmpl-tool-{hex32(name, 'call0')}", "get_weather", args)
    choice = chat_choice(0, "", tool_calls=[call], finish="stop")
    inter = nim_chat(name, req, [choice], llama_prompt_tokens(messages, [GET_WEATHER]), ntok(generated) + 1)
    return cassette(
        'tool_choice "required", not streamed. vLLM 0.9.2 decodes a JSON list of calls with guided '
        'decoding, so content is "" and finish_reason stays "stop"; arguments re-serialised with '
        "json.dumps spacing. NIM 1.x layout.",
        [inter],
    )


def tools_named() -> Json:
    name = "tools/named"
    messages = [user("Check the weather in Berlin for me, in fahrenheit.")]
    req = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "tools": [GET_WEATHER],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    }
    args = '{"city": "Berlin", "unit": "fahrenheit"}'
    call = tool_call(f"chatcmpl-tool-{hex32(name, 'call0')}", "get_weather", args)
    choice = chat_choice(0, "", tool_calls=[call], finish="stop")
    inter = nim_chat(name, req, [choice], llama_prompt_tokens(messages, [GET_WEATHER]), ntok(args) + 1)
    return cassette(
        "Named tool_choice {type: function, function: {name: get_weather}}, not streamed. vLLM 0.9.2 "
        'guided decoding: the generated text is the arguments object, content "", finish_reason '
        '"stop" (not tool_calls). NIM 1.x layout.',
        [inter],
    )


def tools_parallel() -> Json:
    name = "tools/parallel"
    messages = [
        {"role": "system", "content": "/no_think"},
        user("What's the weather and the local time in Madrid?"),
    ]
    req = {
        "messages": messages,
        "model": "nvidia/llama-3.3-nemotron-super-49b-v1.5",
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 1024,
        "tools": [GET_WEATHER, GET_TIME],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    weather = tool_call(f"chatcmpl-tool-{hex32(name, 'call0')}", "get_weather", '{"city": "Madrid"}')
    clock = tool_call(f"chatcmpl-tool-{hex32(name, 'call1')}", "get_local_time", '{"city": "Madrid"}')
    choice = chat_choice(0, None, tool_calls=[weather, clock], finish="tool_calls")
    generated = (
        '<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Madrid"}}, '
        '{"name": "get_local_time", "arguments": {"city": "Madrid"}}]</TOOLCALL>'
    )
    prompt = llama_prompt_tokens(messages, [GET_WEATHER, GET_TIME])
    inter = nim_chat(name, req, [choice], prompt, ntok(generated) + 1, per_token=(14, 24))
    return cassette(
        "Two tool calls in one answer (parallel_tool_calls) from nvidia/llama-3.3-nemotron-super-49b-v1.5 "
        "with thinking off (/no_think), not streamed. NIM 1.x / vLLM 0.9.2: two tool_calls, each with "
        "its own chatcmpl-tool-<32hex> id, content null, finish_reason tool_calls.",
        [inter],
    )


def tools_stream() -> Json:
    name = "tools/stream_auto"
    messages = [user("Do I need an umbrella in London today?")]
    req = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "top_p": 0.7,
        "tools": [GET_WEATHER],
        "tool_choice": "auto",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    s = Stream(name, req["model"])
    s.role()
    call_id = f"chatcmpl-tool-{hex32(name, 'call0')}"
    # {"name": "get_weather", "parameters": ... the parser sends the name once it is complete
    head = {"id": call_id, "type": "function", "index": 0, "function": {"name": "get_weather"}}
    s.delta({"tool_calls": [head]}, hidden_before=ntok('{"name": "get_weather"') - 1)
    fragments = ['{"city": "', "London", '", "unit": "', "c", "elsius"]
    for i, fragment in enumerate(fragments):
        hidden = 2 if i == 0 else (1 if i == 2 else 0)  # ', "parameters": {"' and '", "' tokens
        s.delta({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}, hidden_before=hidden)
    s.delta({"tool_calls": [{"index": 0, "function": {"arguments": '"}'}}]})
    s.finish({"tool_calls": [{"index": 0, "function": {"arguments": ""}}]}, "tool_calls", EOM_ID)
    inter = {
        "request": post("/v1/chat/completions", req, stream=True),
        "response": s.end(llama_prompt_tokens(messages, [GET_WEATHER])),
    }
    return cassette(
        "Streamed tool call (tool_choice auto, llama3_json parser), meta/llama-3.1-8b-instruct. NIM 1.x / "
        "vLLM 0.9.2: a name chunk {id, type, index, function: {name}} without arguments, then "
        "argument fragments {index, function: {arguments}}, then a finish chunk flushing an empty "
        "fragment with finish_reason tool_calls; tokens the parser held back count in usage.",
        [inter],
    )


def tools_after_result() -> Json:
    name = "tools/after_result"
    call_id = "chatcmpl-tool-" + hex32("tools/after_result", "earlier-call")
    messages = [
        user("What's the weather in Rome?"),
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                }
            ],
        },
        {
            "role": "tool",
            "content": '{"temperature_c": 24, "condition": "sunny", "humidity": 41}',
            "tool_call_id": call_id,
        },
    ]
    req = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "top_p": 0.7,
        "tools": [GET_WEATHER],
    }
    text = "It's sunny in Rome right now, with a temperature of 24 °C and 41% humidity."
    prompt = llama_prompt_tokens(messages, [GET_WEATHER])
    inter = nim_chat(name, req, [chat_choice(0, text)], prompt, ntok(text) + 1)
    return cassette(
        "The turn after a tool result: the request replays the assistant tool_calls message and a "
        "role tool message (tool_call_id), the model answers in text. NIM 1.x / vLLM 0.9.2 layout, "
        "not streamed.",
        [inter],
    )


# --------------------------------------------------------------------------------------------
# structured output

PERSON_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "born": {"type": "integer"},
        "field": {"type": "string"},
    },
    "required": ["name", "born", "field"],
    "additionalProperties": False,
}


def structured_json_schema() -> Json:
    name = "structured/json_schema"
    messages = [user("Who wrote the first published computer program? Reply as JSON.")]
    req = {
        "messages": messages,
        "model": "meta/llama-3.3-70b-instruct",
        "temperature": 0,
        "max_tokens": 1024,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": PERSON_SCHEMA, "strict": True},
        },
    }
    text = '{"name": "Ada Lovelace", "born": 1815, "field": "mathematics"}'
    inter = nim_chat(
        name, req, [chat_choice(0, text)], llama_prompt_tokens(messages), ntok(text) + 1, per_token=(18, 30)
    )
    return cassette(
        "Structured output with response_format json_schema (the shape ChatNVIDIA.with_structured_output "
        "sends: name response, strict true). NIM 1.x / vLLM 0.9.2 guided decoding: content is the JSON "
        "text, finish_reason stop.",
        [inter],
    )


def structured_guided_json() -> Json:
    name = "structured/guided_json"
    messages = [user("Extract the city and country from: 'I just landed in Lyon, France.'")]
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    req = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0,
        "max_tokens": 256,
        "guided_json": schema,
    }
    text = '{"city": "Lyon", "country": "France"}'
    inter = nim_chat(name, req, [chat_choice(0, text)], llama_prompt_tokens(messages), ntok(text) + 1)
    return cassette(
        "Structured output with top-level guided_json (later NIM 1.x docs; vLLM <= 0.9 extension). "
        "NIM 1.x / vLLM 0.9.2 layout, not streamed.",
        [inter],
    )


def structured_json_mode() -> Json:
    name = "structured/json_mode"
    messages = [
        {"role": "system", "content": "Reply with a JSON object only."},
        user("Give me the RGB values of teal."),
    ]
    req = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0,
        "max_tokens": 256,
        "response_format": {"type": "json_object"},
    }
    text = '{"color": "teal", "r": 0, "g": 128, "b": 128}'
    inter = nim_chat(name, req, [chat_choice(0, text)], llama_prompt_tokens(messages), ntok(text) + 1)
    return cassette(
        "JSON mode: response_format {type: json_object}. NIM 1.x / vLLM 0.9.2 layout, not streamed.",
        [inter],
    )


# --------------------------------------------------------------------------------------------
# images (meta/llama-3.2-11b-vision-instruct: each image tile adds 1601 encoder tokens to the prompt)


def tiny_png() -> str:
    """A real 8x8 RGB PNG (solid NVIDIA green), built here so the bytes are reviewable."""
    width = height = 8
    raw = b"".join(b"\x00" + bytes([118, 185, 0]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode("ascii")


def image_message(question: str, url: str) -> Json:
    return {
        "role": "user",
        "content": [{"type": "text", "text": question}, {"type": "image_url", "image_url": {"url": url}}],
    }


def images_url() -> Json:
    name = "images/url"
    messages = [
        image_message(
            "What animal is in this picture?", "https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg"
        )
    ]
    req = {
        "messages": messages,
        "model": "meta/llama-3.2-11b-vision-instruct",
        "temperature": 0.2,
        "max_tokens": 512,
    }
    text = "The picture shows a cat: a tabby with green eyes, looking straight at the camera."
    prompt = llama_prompt_tokens(messages) - 26 + 1 + 4 * 1601  # <|image|> + 4 tiles of encoder tokens
    inter = nim_chat(name, req, [chat_choice(0, text)], prompt, ntok(text) + 1, per_token=(10, 16))
    return cassette(
        "Image input by https URL (content parts text + image_url) to meta/llama-3.2-11b-vision-instruct, "
        "not streamed. NIM 1.x / vLLM 0.9.2 layout; prompt_tokens include 4 tiles x 1601 encoder tokens.",
        [inter],
    )


def images_base64() -> Json:
    name = "images/base64"
    url = "data:image/png;base64," + tiny_png()
    messages = [image_message("What color is this image?", url)]
    req = {
        "messages": messages,
        "model": "meta/llama-3.2-11b-vision-instruct",
        "temperature": 0.2,
        "max_tokens": 512,
    }
    text = "The image is a solid, bright green square with no other details."
    prompt = llama_prompt_tokens(messages) - 26 + 1 + 1601  # a tiny image is a single tile
    inter = nim_chat(name, req, [chat_choice(0, text)], prompt, ntok(text) + 1, per_token=(10, 16))
    return cassette(
        "Image input as a base64 data URI (a real 8x8 PNG) to meta/llama-3.2-11b-vision-instruct, not "
        "streamed. NIM 1.x / vLLM 0.9.2 layout; prompt_tokens include one 1601-token tile.",
        [inter],
    )


# --------------------------------------------------------------------------------------------
# reasoning (deepseek-ai/deepseek-r1 behind vLLM's deepseek_r1 reasoning parser)

R1_REASONING = (
    "Okay, the user wants to know which number is larger: 9.11 or 9.9. Let me compare the decimal parts. "
    "9.9 is the same as 9.90, and 90 hundredths is more than 11 hundredths. So 9.9 is larger.\n"
)
R1_ANSWER = "\n\n**9.9 is larger.** Written with two decimals it is 9.90, and 0.90 > 0.11."


def r1_prompt(messages: list[Json]) -> int:
    # <｜begin▁of▁sentence｜><｜User｜>...<｜Assistant｜><think>\n
    return 1 + sum(1 + ntok(m["content"]) for m in messages) + 3


def reasoning_nonstream() -> Json:
    name = "reasoning/nonstream"
    messages = [user("Which is larger, 9.11 or 9.9?")]
    req = {
        "messages": messages,
        "model": "deepseek-ai/deepseek-r1",
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 4096,
    }
    completion = ntok(R1_REASONING) + 1 + ntok(R1_ANSWER) + 1  # + </think> + EOS
    choice = chat_choice(0, R1_ANSWER, reasoning=R1_REASONING)
    inter = nim_chat(name, req, [choice], r1_prompt(messages), completion, per_token=(28, 45))
    return cassette(
        "Reasoning model deepseek-ai/deepseek-r1, not streamed: the thinking is in "
        "message.reasoning_content, the answer (starting with the newlines after </think>) in content. "
        "NIM 1.x / vLLM 0.9.2 layout (reasoning_content before content).",
        [inter],
    )


def reasoning_stream() -> Json:
    name = "reasoning/stream"
    messages = [user("Is 2027 a prime number?")]
    req = {
        "messages": messages,
        "model": "deepseek-ai/deepseek-r1",
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 4096,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    thinking = (
        "Okay, I need to check whether 2027 is prime. Its square root is about 45, so I test primes "
        "up to 43. It is odd, digit sum 11 so not divisible by 3, and it does not end in 0 or 5. "
        "2027 / 7 = 289.57, "
        "/ 11 = 184.27, / 13 = 155.92, / 17 = 119.24, / 19 = 106.68, / 23 = 88.13, / 29 = 69.9, "
        "/ 31 = 65.39, / 37 = 54.78, / 41 = 49.44, / 43 = 47.14. None divide evenly, so it is prime.\n"
    )
    answer = "\n\nYes. 2027 is a prime number: no prime up to its square root (about 45) divides it."
    s = Stream(name, req["model"], per_token=(28, 45), ttft=(250, 420))
    s.role()
    s.text(thinking, key="reasoning_content")
    pieces = tokens(answer)
    # </think> alone gives no chunk (the parser returns None), but it is a generated token
    s.delta({"content": pieces[0]}, hidden_before=1)
    for piece in pieces[1:]:
        s.delta({"content": piece})
    s.finish({"content": ""}, "stop")
    inter = {
        "request": post("/v1/chat/completions", req, stream=True),
        "response": s.end(r1_prompt(messages)),
    }
    return cassette(
        "Reasoning model deepseek-ai/deepseek-r1, streamed with include_usage: reasoning_content "
        "deltas, then content deltas (the </think> token itself sends no chunk but counts in usage). "
        "NIM 1.x / vLLM 0.9.2 layout; slower first token and per-token gaps.",
        [inter],
    )


# --------------------------------------------------------------------------------------------
# /v1/completions (legacy)


def completions_nonstream() -> Json:
    name = "completions/nonstream"
    req = {
        "model": "meta/llama-3.1-8b-instruct",
        "prompt": "The three laws of thermodynamics are",
        "max_tokens": 32,
        "temperature": 0,
    }
    text = " often summarized as: you can't win, you can't break even, and you can't get out of the game."
    completion = ntok(text)
    if completion >= 32:
        raise AssertionError(completion)
    clock = Clock(name)
    t = nonstream_time(clock, completion + 1, (8, 14))
    body = {
        "id": f"cmpl-{hex32(name, 'id')}",
        "object": "text_completion",
        "created": created_of(name),
        "model": req["model"],
        "choices": [
            {
                "index": 0,
                "text": text,
                "logprobs": None,
                "finish_reason": "stop",
                "stop_reason": None,
                "prompt_logprobs": None,
            }
        ],
        "usage": usage(1 + ntok(req["prompt"]), completion + 1),
        "kv_transfer_params": None,
    }
    inter = {
        "request": post("/v1/completions", req),
        "response": json_response(200, NIM_JSON_HEADERS, t, body),
    }
    return cassette(
        "Legacy POST /v1/completions, not streamed. vLLM 0.9.2 / NIM 1.x: id cmpl-<32hex>, object "
        "text_completion, choices[].text, logprobs/stop_reason/prompt_logprobs null, "
        "kv_transfer_params null.",
        [inter],
    )


def completions_stream() -> Json:
    name = "completions/stream"
    req = {
        "model": "meta/llama-3.1-8b-instruct",
        "prompt": "def fibonacci(n):\n",
        "max_tokens": 64,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
        "stop": ["\n\n"],
    }
    text = (
        '    """Return the n-th Fibonacci number."""\n'
        "    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a"
    )
    clock = Clock(name)
    t_headers = clock.jump(20, 60)
    cid, created = f"cmpl-{hex32(name, 'id')}", created_of(name)

    def chunk(piece: str, finish: str | None, stop_reason: str | None) -> Json:
        choice = {
            "index": 0,
            "text": piece,
            "logprobs": None,
            "finish_reason": finish,
            "stop_reason": stop_reason,
        }
        # completions chunks are dumped with exclude_unset=False: every key, usage null included
        return {"id": cid, "object": "text_completion", "created": created, "model": req["model"],
                "choices": [choice], "usage": None}  # fmt: skip

    events: list[Json] = []
    pieces = tokens(text)
    clock.jump(40, 160)
    for piece in pieces:
        events.append({"t_ms": clock.jump(8, 14), "data": chunk(piece, None, None)})
    events.append({"t_ms": clock.jump(8, 14), "data": chunk("", "stop", "\n\n")})
    final = {"id": cid, "object": "text_completion", "created": created, "model": req["model"], "choices": [],
             "usage": usage(1 + ntok(req["prompt"]), len(pieces) + 1, details=False)}  # fmt: skip
    events.append({"t_ms": clock.jump(0.1, 0.5), "data": final})
    events.append({"t_ms": clock.jump(0.05, 0.3), "raw": DONE})
    response = {"status": 200, "headers": NIM_SSE_HEADERS, "t_headers_ms": t_headers, "events": events}
    return cassette(
        "Legacy POST /v1/completions, streamed with include_usage and a stop sequence. vLLM 0.9.2 / "
        'NIM 1.x: no role chunk, every chunk carries all keys (stop_reason null, "usage": null), the '
        'last text chunk has finish_reason stop and stop_reason "\\n\\n", then a usage chunk with '
        "choices [] and data: [DONE].",
        [{"request": post("/v1/completions", req, stream=True), "response": response}],
    )


# --------------------------------------------------------------------------------------------
# model listings

CATALOG = [
    "deepseek-ai/deepseek-r1",
    "google/gemma-3-27b-it",
    "meta/llama-3.1-70b-instruct",
    "meta/llama-3.1-8b-instruct",
    "meta/llama-3.2-11b-vision-instruct",
    "meta/llama-3.3-70b-instruct",
    "microsoft/phi-4-mini-instruct",
    "mistralai/mistral-nemotron",
    "nvidia/llama-3.3-nemotron-super-49b-v1.5",
    "nvidia/nv-embedqa-e5-v5",
    "qwen/qwen3-235b-a22b",
]


def gateway_headers(
    name: str, status: str, *, content_type: str | None = "application/json"
) -> list[list[str]]:
    """integrate.api.nvidia.com: NVCF request id/status, CORS expose and Vary; no server: uvicorn."""
    headers = [["content-type", content_type]] if content_type else []
    headers += [
        ["access-control-expose-headers", "nvcf-reqid"],
        ["nvcf-reqid", uuid4_of(name, "nvcf-reqid")],
        ["nvcf-status", status],
        ["vary", "Origin"],
    ]
    return headers


def models_list() -> Json:
    name = "models/list"
    hosted = {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": 735790403, "owned_by": m.split("/")[0]} for m in CATALOG
        ],
    }
    t1 = Clock(name).jump(90, 220)
    local_created = created_of(name)
    model = "meta/llama-3.1-8b-instruct"
    permission = {
        "id": f"modelperm-{hex32(name, 'perm')}",
        "object": "model_permission",
        "created": local_created,
        "allow_create_engine": False,
        "allow_sampling": True,
        "allow_logprobs": True,
        "allow_search_indices": False,
        "allow_view": True,
        "allow_fine_tuning": False,
        "organization": "*",
        "group": None,
        "is_blocking": False,
    }
    card = {
        "id": model,
        "object": "model",
        "created": local_created,
        "owned_by": "system",
        "root": model,
        "parent": None,
        "max_model_len": 131072,
        "permission": [permission],
    }
    local = {"object": "list", "data": [card]}
    return cassette(
        "GET /v1/models twice, replayed in order. 1st: the hosted catalogue (integrate.api.nvidia.com) "
        "with its minimal entries {id, object, created: 735790403, owned_by: <org>} and gateway headers. "
        "2nd: a self-hosted NIM 1.x container's listing, a vLLM 0.9.2 ModelCard with owned_by "
        '"system", root, parent, max_model_len and permission[].',
        [
            {
                "request": get("/v1/models"),
                "response": json_response(200, gateway_headers(name, "fulfilled"), t1, hosted),
            },
            {"request": get("/v1/models"), "response": json_response(200, NIM_JSON_HEADERS, 3.4, local)},
        ],
    )


# --------------------------------------------------------------------------------------------
# errors


def hosted_chat_body(name: str, model: str, text: str, prompt: int) -> Json:
    """The gateway's own serializer (2026 captures, facts 2.6): dashed-uuid id, content before role."""
    completion = ntok(text) + 1
    return {
        "id": f"chatcmpl-{uuid4_of(name, 'id')}",
        "choices": [
            {
                "index": 0,
                "message": {"content": text, "role": "assistant", "reasoning_content": None},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"audio_tokens": None, "cached_tokens": 0},
        },
    }


def errors_nim1_unknown_model() -> Json:
    name = "errors/nim1_unknown_model"
    req = {
        "messages": [user("Hello, are you there?")],
        "model": "meta/llama3-8b",
        "temperature": 0.2,
        "max_tokens": 1024,
    }
    body = {
        "object": "error",
        "message": "The model `meta/llama3-8b` does not exist.",
        "type": "NotFoundError",
        "param": None,
        "code": 404,
    }
    t = Clock(name).jump(1.5, 4)
    return cassette(
        "NIM 1.x / vLLM 0.9.2 flat error: 404 NotFoundError for an unknown model "
        "(object, message, type, param, code).",
        [
            {
                "request": post("/v1/chat/completions", req),
                "response": json_response(404, NIM_JSON_HEADERS, t, body),
            }
        ],
    )


def errors_vllm010_context() -> Json:
    name = "errors/vllm010_context_too_long"
    messages = [user("Write the longest essay you can about the history of computing.")]
    req = {"messages": messages, "model": "meta/llama-3.1-8b-instruct", "max_tokens": 200000}
    prompt = llama_prompt_tokens(messages)
    message = (
        f"This model's maximum context length is 131072 tokens. However, you requested {prompt + 200000} "
        f"tokens ({prompt} in the messages, 200000 in the completion). Please reduce the length of the "
        "messages or completion."
    )
    body = {"error": {"message": message, "type": "BadRequestError", "param": None, "code": 400}}
    t = Clock(name).jump(3, 9)
    return cassette(
        "vLLM >= 0.10 / NIM 2.x nested error: 400 BadRequestError {error: {message, type, param, code}} "
        "when prompt + max_tokens exceed max_model_len 131072.",
        [
            {
                "request": post("/v1/chat/completions", req),
                "response": json_response(400, NIM_JSON_HEADERS, t, body),
            }
        ],
    )


def _hosted_req(text: str, model: str) -> Json:
    return {"messages": [user(text)], "model": model, "temperature": 0.2, "max_tokens": 1024, "top_p": 0.7}


def errors_gateway_401() -> Json:
    name = "errors/gateway_401"
    req = _hosted_req("Are my credentials valid?", "meta/llama-3.1-8b-instruct")
    auth = (
        'Bearer error="invalid_token", error_description="Bearer token is malformed", '
        'error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"'
    )
    response = {
        "status": 401,
        "headers": [["www-authenticate", auth], ["vary", "Origin"]],
        "t_headers_ms": Clock(name).jump(80, 160),
    }
    return cassette(
        "Hosted gateway (integrate.api.nvidia.com) 401 for a malformed API key: no JSON body, the reason "
        "is in WWW-Authenticate (what ChatNVIDIA falls back to).",
        [{"request": post("/v1/chat/completions", req), "response": response}],
    )


def _gateway_error(name: str, req: Json, status: int, body: Json | None, description: str) -> Json:
    t = Clock(name).jump(90, 260)
    response: dict[str, Json] = {"status": status}
    if body is None:
        response["headers"] = gateway_headers(name, "errored", content_type=None)
        response["t_headers_ms"] = t
    else:
        response.update(json_response(status, gateway_headers(name, "errored"), t, body))
    return cassette(description, [{"request": post("/v1/chat/completions", req), "response": response}])


def errors_gateway_403() -> Json:
    name = "errors/gateway_403"
    req = _hosted_req("Summarise the plot of Hamlet in two lines.", "minimaxai/minimax-m2.7")
    return _gateway_error(
        name,
        req,
        403,
        {"status": 403, "title": "Forbidden", "detail": "Authorization failed"},
        "Hosted gateway 403 problem JSON {status, title, detail} (key without access to the function).",
    )


def errors_gateway_404() -> Json:
    name = "errors/gateway_404"
    req = _hosted_req("Translate 'good morning' into Japanese.", "moonshotai/kimi-k2-instruct")
    function_id = uuid4_of(name, "function")
    account = base64.urlsafe_b64encode(hashlib.sha256(b"nim-harness account").digest()).decode().rstrip("=")
    detail = f"Function '{function_id}': Not found for account '{account}'"
    return _gateway_error(
        name,
        req,
        404,
        {"status": 404, "title": "Not Found", "detail": detail},
        "Hosted gateway 404 for a catalogue model whose NVCF function is gone or not callable by this "
        "account: {status, title, detail: Function '<uuid>': Not found for account '<id>'}.",
    )


def errors_gateway_500() -> Json:
    name = "errors/gateway_500"
    req = _hosted_req("Tell me a fun fact about octopuses.", "qwen/qwen3-235b-a22b")
    return _gateway_error(
        name,
        req,
        500,
        None,
        "Hosted gateway 500 with an empty body (no content-type), nvcf-status errored.",
    )


def errors_gateway_429_retry() -> Json:
    name = "errors/gateway_429_retry"
    req = _hosted_req("What is the tallest mountain in Africa?", "meta/llama-3.1-8b-instruct")
    clock = Clock(name)
    first = json_response(
        429,
        gateway_headers(name + "#1", "errored"),
        clock.jump(70, 140),
        {"status": 429, "title": "Too Many Requests"},
    )
    text = "The tallest mountain in Africa is Mount Kilimanjaro in Tanzania, at 5,895 metres (19,341 ft)."
    prompt = llama_prompt_tokens(req["messages"])
    t = nonstream_time(clock, ntok(text) + 1, (8, 14)) + 280.0  # the gateway's network round trip
    second = json_response(
        200,
        gateway_headers(name + "#2", "fulfilled"),
        round(t, 1),
        hosted_chat_body(name, req["model"], text, prompt),
    )
    return cassette(
        "Hosted gateway 429 {status, title} with no Retry-After or rate-limit headers, then the client's "
        "identical retry answered 200 in the gateway's own chat.completion layout (dashed-uuid id, "
        "content before role, reasoning_content null). Identical requests replay in order.",
        [
            {"request": post("/v1/chat/completions", req), "response": first},
            {"request": post("/v1/chat/completions", req), "response": second},
        ],
    )


def errors_gateway_202() -> Json:
    name = "errors/gateway_202_polling"
    req = _hosted_req("Explain what a CUDA kernel is in one paragraph.", "meta/llama-3.3-70b-instruct")
    reqid = uuid4_of(name, "nvcf-reqid")

    def headers(status: str) -> list[list[str]]:
        return [
            ["content-type", "application/json"],
            ["access-control-expose-headers", "nvcf-reqid"],
            ["nvcf-reqid", reqid],
            ["nvcf-status", status],
            ["vary", "Origin"],
        ]

    text = (
        "A CUDA kernel is a function that runs on an NVIDIA GPU: you launch it from the host, and "
        "thousands of lightweight threads, grouped into blocks, each execute the same code on different "
        "data in parallel."
    )
    clock = Clock(name)
    poll = f"/v2/nvcf/pexec/status/{reqid}"
    done = hosted_chat_body(name, req["model"], text, llama_prompt_tokens(req["messages"]))
    return cassette(
        "Hosted NVCF 202 polling flow: POST answers 202 {} with NVCF-REQID (nvcf-status pending-evaluation); "
        "GET /v2/nvcf/pexec/status/<reqid> answers 202 again, then 200 with the chat.completion "
        "(gateway layout). The two identical status GETs replay in order.",
        [
            {
                "request": post("/v1/chat/completions", req),
                "response": json_response(202, headers("pending-evaluation"), clock.jump(900, 1100), {}),
            },
            {
                "request": get(poll),
                "response": json_response(202, headers("pending-evaluation"), clock.jump(900, 1100), {}),
            },
            {
                "request": get(poll),
                "response": json_response(200, headers("fulfilled"), clock.jump(300, 700), done),
            },
        ],
    )


def _midstream(name: str, model: str, question: str, partial: str, error_json: str, description: str) -> Json:
    messages = [user(question)]
    req = {"messages": messages, "model": model, "temperature": 0.2, "max_tokens": 1024, "top_p": 0.7,
           "stream": True, "stream_options": {"include_usage": True}}  # fmt: skip
    s = Stream(name, model)
    s.role()
    s.text(partial)
    t = s.clock.jump(40, 90)
    s.events.append({"t_ms": t, "raw": f"data: {error_json}\n\n"})
    s.events.append({"t_ms": s.clock.jump(0.05, 0.3), "raw": DONE})
    response = {"status": 200, "headers": NIM_SSE_HEADERS, "t_headers_ms": s.t_headers, "events": s.events}
    return cassette(
        description, [{"request": post("/v1/chat/completions", req, stream=True), "response": response}]
    )


ENGINE_DEAD = "EngineCore encountered an issue. See stack trace (above) for the root cause."


def errors_midstream_nim1() -> Json:
    error = {
        "error": {
            "object": "error",
            "message": ENGINE_DEAD,
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
    }
    return _midstream(
        "errors/midstream_nim1",
        "meta/llama-3.1-8b-instruct",
        "Describe the water cycle step by step.",
        "The water cycle has four main stages. First, evaporation: the sun heats",
        json.dumps(error),
        "Error in the middle of a stream, NIM 1.x / vLLM 0.9.2 layout: HTTP 200, some content chunks, then "
        'one event data: {"error": {"object": "error", ...}} rendered by json.dumps (spaces after : and ,), '
        "then data: [DONE]; no finish chunk, no usage.",
    )


def errors_midstream_vllm010() -> Json:
    error = {"error": {"message": ENGINE_DEAD, "type": "BadRequestError", "param": None, "code": 400}}
    return _midstream(
        "errors/midstream_vllm010",
        "meta/llama-3.1-8b-instruct",
        "Explain photosynthesis to a ten-year-old.",
        "Plants are like tiny food factories. They take in sunlight",
        json.dumps(error),
        "Error in the middle of a stream, vLLM >= 0.10 / NIM 2.x layout: HTTP 200, some content chunks, then "
        'data: {"error": {"message": ..., "type", "param", "code"}} (json.dumps spacing, no "object"), '
        "then data: [DONE]. Earlier chunks use the NIM 1.x chunk layout, which 0.10 keeps for deltas.",
    )


# --------------------------------------------------------------------------------------------
# transformers serve (real captures)


@dataclass
class Capture:
    body: Json  # the parsed request body
    status: int
    headers: list[list[str]]
    payload: str  # response body text exactly as captured


def read_capture(path: Path) -> Capture:
    """Parse one ``curl -i -N`` capture: request line, status, CRLF headers, body, ``[curl exit N]``."""
    raw = path.read_bytes().decode("utf-8")
    command, _, rest = raw.partition("\n\n")
    match = re.search(r" -d ((?:\\.|\S)+) http", command)
    if match is None:
        raise SystemExit(f"{path}: no -d body in the curl line")
    body = json.loads(re.sub(r"\\(.)", r"\1", match.group(1)))
    head, _, payload = rest.partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        key, _, value = line.partition(": ")
        if key.lower() not in {"date", "content-length", "transfer-encoding", "connection"}:
            headers.append([key.lower(), value])
    tail = re.search(r"\n\[curl exit \d+\]\n?$", payload)
    if tail is None:
        raise SystemExit(f"{path}: missing [curl exit N] trailer")
    return Capture(body, status, headers, payload[: tail.start()])


TS_NOTE = (
    " Bytes are the real capture (transformers 5.24.0, local/tiny-qwen2, "
    "../shared/real-traffic/transformers-serve/{file}); the timing is authored (CPU-plausible), not captured."
)


def transformers_nonstream(captures: Path) -> Json:
    cap = read_capture(captures / "03_chat_nonstream.txt")
    t = Clock("transformers/nonstream").jump(60, 110)
    response = {
        "status": cap.status,
        "headers": cap.headers,
        "t_headers_ms": t,
        "json": json.loads(cap.payload),
    }
    return cassette(
        "transformers serve, not streamed: bare-UUID id equal to x-request-id, keys id,choices,created,"
        "model,object,usage, no nulls, usage order completion,prompt,total, model gets an @main suffix."
        + TS_NOTE.format(file="03_chat_nonstream.txt"),
        [
            {
                "request": {
                    "method": "POST",
                    "path": "/v1/chat/completions",
                    "headers": {"content-type": "application/json", "accept": "*/*"},
                    "json": cap.body,
                },
                "response": response,
            }
        ],
    )


def _sse_events(
    name: str, payload: str, ttft: tuple[float, float], per_token: tuple[float, float]
) -> tuple[float, list[Json]]:
    clock = Clock(name)
    t_headers = clock.jump(8, 20)
    parts = [p + "\n\n" for p in payload.split("\n\n") if p]
    if "".join(parts) != payload:
        raise SystemExit(f"{name}: the captured stream does not split into whole events")
    events = []
    for i, part in enumerate(parts):
        t = clock.jump(*ttft) if i == 0 else clock.jump(*per_token)
        data = part[len("data: ") : -2]
        parsed = json.loads(data)
        if (
            part.startswith("data: ")
            and json.dumps(parsed, ensure_ascii=False, separators=(",", ":")) == data
        ):
            events.append({"t_ms": t, "data": parsed})
        else:
            events.append({"t_ms": t, "raw": part})
    return t_headers, events


def _transformers_stream(name: str, captures: Path, file: str, description: str) -> Json:
    cap = read_capture(captures / file)
    t_headers, events = _sse_events(name, cap.payload, (30, 60), (4, 9))
    response = {"status": cap.status, "headers": cap.headers, "t_headers_ms": t_headers, "events": events}
    request = {
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": {"content-type": "application/json", "accept": "*/*"},
        "json": cap.body,
    }
    return cassette(description + TS_NOTE.format(file=file), [{"request": request, "response": response}])


def transformers_stream(captures: Path) -> Json:
    return _transformers_stream(
        "transformers/stream",
        captures,
        "04_chat_stream_include_usage.txt",
        "transformers serve, streamed with include_usage: role chunk {role} without content, one chunk per "
        'token, system_fingerprint "" on every chunk, usage inside the finish chunk (not a separate '
        "choices [] chunk) and NO data: [DONE]: the stream just ends.",
    )


def transformers_stream_tool(captures: Path) -> Json:
    return _transformers_stream(
        "transformers/stream_tool_call",
        captures,
        "07_tools_stream_tool_choice_named.txt",
        "transformers serve, streamed tool call (named tool_choice, which this server ignores): the whole "
        "call in one chunk (id <request-id>_tool_call_0, name and complete arguments together), then the "
        "finish chunk with finish_reason tool_calls and usage; no data: [DONE].",
    )


# --------------------------------------------------------------------------------------------
# rendering and main

SCENARIOS: dict[str, Callable[[], Json]] = {
    "chat/plain": chat_plain,
    "chat/stream_usage": chat_stream_usage,
    "chat/stream_no_usage": chat_stream_no_usage,
    "chat/multi_turn_system": chat_multi_turn,
    "chat/n2": chat_n2,
    "chat/logprobs": chat_logprobs,
    "chat/length": chat_length,
    "chat/stop_sequence": chat_stop_sequence,
    "tools/auto": tools_auto,
    "tools/required": tools_required,
    "tools/named": tools_named,
    "tools/parallel": tools_parallel,
    "tools/stream_auto": tools_stream,
    "tools/after_result": tools_after_result,
    "structured/json_schema": structured_json_schema,
    "structured/guided_json": structured_guided_json,
    "structured/json_mode": structured_json_mode,
    "images/url": images_url,
    "images/base64": images_base64,
    "reasoning/nonstream": reasoning_nonstream,
    "reasoning/stream": reasoning_stream,
    "completions/nonstream": completions_nonstream,
    "completions/stream": completions_stream,
    "models/list": models_list,
    "errors/nim1_unknown_model": errors_nim1_unknown_model,
    "errors/vllm010_context_too_long": errors_vllm010_context,
    "errors/gateway_401": errors_gateway_401,
    "errors/gateway_403": errors_gateway_403,
    "errors/gateway_404": errors_gateway_404,
    "errors/gateway_429_retry": errors_gateway_429_retry,
    "errors/gateway_500": errors_gateway_500,
    "errors/gateway_202_polling": errors_gateway_202,
    "errors/midstream_nim1": errors_midstream_nim1,
    "errors/midstream_vllm010": errors_midstream_vllm010,
}

CAPTURED: dict[str, Callable[[Path], Json]] = {
    "transformers/nonstream": transformers_nonstream,
    "transformers/stream": transformers_stream,
    "transformers/stream_tool_call": transformers_stream_tool,
}


def render(value: Json, indent: int = 0, key: str | None = None) -> str:
    """Pretty JSON for diffs: nested layout, but each SSE event, header pair and short value on one line."""
    flat = json.dumps(value, ensure_ascii=False)
    if (
        not isinstance(value, dict | list)
        or key in {"events_item", "headers_item"}
        or len(flat) + indent <= 100
    ):
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, list):
        child = f"{key}_item" if key in {"events", "headers"} else None
        items = [pad + render(item, indent + 2, child) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [
        f"{pad}{json.dumps(k, ensure_ascii=False)}: {render(v, indent + 2, k)}" for k, v in value.items()
    ]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


def build(captures: Path | None) -> dict[str, str]:
    out = {name: render(make()) + "\n" for name, make in SCENARIOS.items()}
    if captures is not None and captures.is_dir():
        out.update({name: render(make(captures)) + "\n" for name, make in CAPTURED.items()})
    return out


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file would change")
    parser.add_argument("--captures", type=Path, default=CAPTURES, help="transformers serve capture folder")
    parser.add_argument("--out", type=Path, default=CASSETTES, help="cassette folder to write")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not args.captures.is_dir():
        print(f"note: {args.captures} not found; transformers/* cassettes left as they are", file=sys.stderr)
    stale = []
    for name, text in build(args.captures).items():
        path = args.out / f"{name}.json"
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    verb = "differ" if args.check else "written"
    print(f"{len(stale)} cassette(s) {verb}" + (f": {', '.join(stale)}" if stale else ""))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
