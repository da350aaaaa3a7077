"""Legacy /v1/completions scenarios (vLLM 0.9.2 ``serving_completion.py``)."""

from __future__ import annotations

from collections.abc import Callable

from _authoring.wire import (
    DONE,
    NIM_JSON_HEADERS,
    NIM_SSE_HEADERS,
    Clock,
    Json,
    cassette,
    created_of,
    hex32,
    json_response,
    nonstream_time,
    ntok,
    post,
    tokens,
    usage,
)

# /v1/completions (legacy)


def completions_nonstream() -> Json:
    name = "completions/nonstream"
    req: dict[str, Json] = {
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
    req: dict[str, Json] = {
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


SCENARIOS: dict[str, Callable[[], Json]] = {
    "completions/nonstream": completions_nonstream,
    "completions/stream": completions_stream,
}
