"""``transformers serve`` cassettes parsed from the real captures in
../shared/real-traffic/transformers-serve: the bytes are the server's, only the timing is authored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _authoring.wire import (
    Clock,
    Json,
    cassette,
)

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
    """Time the captured events like the server produced them: the role chunk right after the headers,
    then one generation step per token; a tool call is held back until its last token (22 steps here)."""
    clock = Clock(name)
    t_headers = clock.jump(8, 20)
    parts = [p + "\n\n" for p in payload.split("\n\n") if p]
    if "".join(parts) != payload:
        raise SystemExit(f"{name}: the captured stream does not split into whole events")
    bodies = [json.loads(part[len("data: ") : -2]) for part in parts]
    total = bodies[-1]["usage"]["completion_tokens"]
    visible = sum(1 for b in bodies[1:-1] if "content" in b["choices"][0]["delta"])
    events = []
    steps_done = 0
    for i, (part, body) in enumerate(zip(parts, bodies, strict=True)):
        delta = body["choices"][0]["delta"]
        if i == 0:
            steps = 0
        elif "tool_calls" in delta:
            steps = total - visible - 1  # every token of the call, except the EOS that finishes
        else:
            steps = 1
        for _ in range(steps):
            clock.jump(*(ttft if steps_done == 0 else per_token))
            steps_done += 1
        t = clock.jump(0.3, 1.5) if i == 0 else clock.at()
        data = part[len("data: ") : -2]
        if part.startswith("data: ") and json.dumps(body, ensure_ascii=False, separators=(",", ":")) == data:
            events.append({"t_ms": t, "data": body})
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


CAPTURED: dict[str, Callable[[Path], Json]] = {
    "transformers/nonstream": transformers_nonstream,
    "transformers/stream": transformers_stream,
    "transformers/stream_tool_call": transformers_stream_tool,
}
