"""Shared wire-level pieces: deterministic ids and clocks, a rough tokenizer, and builders for
the vLLM 0.9.2 / NIM 1.x bodies and SSE chunks (field order of vllm==0.9.2 ``protocol.py``).

Every scenario module builds on these, so a rule such as "the same id and created on every chunk"
or "usage order prompt, total, completion" lives in exactly one place.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any

Json = Any

DONE = "data: [DONE]\n\n"
NIM_JSON_HEADERS = [["server", "uvicorn"], ["content-type", "application/json"]]
NIM_SSE_HEADERS = [["server", "uvicorn"], ["content-type", "text/event-stream; charset=utf-8"]]
CALL_HEADERS = {"content-type": "application/json", "accept": "application/json"}
STREAM_HEADERS = {"content-type": "application/json", "accept": "text/event-stream"}

# Llama 3.x special tokens that end a turn: <|eot_id|> is the tokenizer's EOS (stop_reason null);
# <|eom_id|> is an extra stop token id, reported as stop_reason (facts 3.2 tool-call example).
EOM_ID = 128008


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


_TOKEN_RE = re.compile(r" +(?= )| ?[A-Za-z]{1,10}| ?\d{1,3}| ?[^\sA-Za-z\d]{1,3}|\n+|\s")


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
    body: dict[str, Json] = {
        "prompt_tokens": prompt,
        "total_tokens": prompt + completion,
        "completion_tokens": completion,
    }
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
    message: dict[str, Json] = {"role": "assistant", "reasoning_content": reasoning, "content": content}
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


def user(text: str) -> Json:
    return {"role": "user", "content": text}
