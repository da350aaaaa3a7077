"""NIM and vLLM error scenarios: the flat NIM 1.x / vLLM <= 0.9 body, the nested vLLM >= 0.10 body,
and an error event in the middle of a stream in both layouts (json.dumps spacing, then [DONE]).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from _authoring.wire import (
    DONE,
    NIM_JSON_HEADERS,
    NIM_SSE_HEADERS,
    Clock,
    Json,
    Stream,
    cassette,
    json_response,
    llama_prompt_tokens,
    post,
    user,
)


def errors_nim1_unknown_model() -> Json:
    name = "errors/nim1_unknown_model"
    req: dict[str, Json] = {
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
    req: dict[str, Json] = {"messages": messages, "model": "meta/llama-3.1-8b-instruct", "max_tokens": 200000}
    prompt = llama_prompt_tokens(messages)
    # vllm==0.10.1.1 serving_engine._validate_input (0.9.x worded it "However, you requested ...")
    message = (
        "'max_tokens' or 'max_completion_tokens' is too large: 200000. This model's maximum context "
        f"length is 131072 tokens and your request has {prompt} input tokens (200000 > 131072 - {prompt})."
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


def _midstream(name: str, model: str, question: str, partial: str, error_json: str, description: str) -> Json:
    messages = [user(question)]
    req: dict[str, Json] = {
        "messages": messages,
        "model": model,
        "temperature": 0.2,
        "max_tokens": 1024,
        "top_p": 0.7,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
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


SCENARIOS: dict[str, Callable[[], Json]] = {
    "errors/nim1_unknown_model": errors_nim1_unknown_model,
    "errors/vllm010_context_too_long": errors_vllm010_context,
    "errors/midstream_nim1": errors_midstream_nim1,
    "errors/midstream_vllm010": errors_midstream_vllm010,
}
