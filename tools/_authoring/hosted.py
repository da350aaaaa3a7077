"""The hosted side: the model listings (catalogue and a local NIM 1.x) and the gateway's answers
(integrate.api.nvidia.com / NVCF): 401, 403, 404, 429 then a retry, 500, and the 202 polling flow.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from _authoring.tool_calls import GET_WEATHER
from _authoring.wire import (
    NIM_JSON_HEADERS,
    Clock,
    Json,
    cassette,
    created_of,
    get,
    hex32,
    json_response,
    llama_prompt_tokens,
    nonstream_time,
    ntok,
    post,
    user,
    uuid4_of,
)

# model listings

CATALOG = [
    "deepseek-ai/deepseek-r1",
    "google/gemma-3-27b-it",
    "meta/llama-3.1-70b-instruct",
    "meta/llama-3.1-8b-instruct",
    "meta/llama-3.2-11b-vision-instruct",
    "meta/llama-3.3-70b-instruct",
    "microsoft/phi-4-mini-instruct",
    "minimaxai/minimax-m2.7",
    "mistralai/mistral-nemotron",
    "moonshotai/kimi-k2-instruct",
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
    first = json_response(
        429,
        gateway_headers(name + "#1", "errored"),
        Clock(name + "#1").jump(70, 140),
        {"status": 429, "title": "Too Many Requests"},
    )
    text = "The tallest mountain in Africa is Mount Kilimanjaro in Tanzania, at 5,895 metres (19,341 ft)."
    prompt = llama_prompt_tokens(req["messages"])
    # each offset counts from its own request; the gateway adds its network round trip
    t = nonstream_time(Clock(name + "#2"), ntok(text) + 1, (8, 14)) + 280.0
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

    def hold(step: int) -> float:
        """NVCF holds each call about a second (its poll window) before answering 202."""
        return Clock(f"{name}#{step}").jump(1000, 1080)

    poll = f"/v2/nvcf/pexec/status/{reqid}"
    done = hosted_chat_body(name, req["model"], text, llama_prompt_tokens(req["messages"]))
    return cassette(
        "Hosted NVCF 202 polling flow: POST answers 202 {} with NVCF-REQID (nvcf-status pending-evaluation); "
        "GET /v2/nvcf/pexec/status/<reqid> answers 202 again, then 200 with the chat.completion "
        "(gateway layout). The two identical status GETs replay in order.",
        [
            {
                "request": post("/v1/chat/completions", req),
                "response": json_response(202, headers("pending-evaluation"), hold(1), {}),
            },
            {
                "request": get(poll),
                "response": json_response(202, headers("pending-evaluation"), hold(2), {}),
            },
            {
                "request": get(poll),
                "response": json_response(200, headers("fulfilled"), Clock(name + "#3").jump(300, 700), done),
            },
        ],
    )


EMPTY_ASSISTANT_CONTENT = "request: Value error, Empty content is not allowed for assistant messages"


def errors_gateway_empty_assistant_content() -> Json:
    """The hosted API refuses an assistant turn whose content is "" next to tool calls (null is fine).

    The refusal comes from the model's side of the gateway and passes through in the nested vLLM
    error layout (facts 2.5); the message is verbatim from public captures of the hosted API.
    """
    name = "errors/gateway_empty_assistant_content"
    call_id = "chatcmpl-tool-" + hex32(name, "earlier-call")
    req = _hosted_req("What's the weather in Oslo?", "meta/llama-3.3-70b-instruct")
    req["messages"] += [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {
            "role": "tool",
            "content": '{"temperature_c": 7, "condition": "rain", "humidity": 88}',
            "tool_call_id": call_id,
        },
    ]
    req["tools"] = [GET_WEATHER]
    body = {
        "error": {"message": EMPTY_ASSISTANT_CONTENT, "type": "BadRequestError", "param": None, "code": 400}
    }
    return _gateway_error(
        name,
        req,
        400,
        body,
        'Hosted gateway 400 for an assistant turn sent with content "" next to its tool_calls (what '
        "clients that forward an empty AIMessage send; null is accepted): the model side's "
        "{error: {message, type, param, code}} passed through with the gateway's nvcf headers.",
    )


SCENARIOS: dict[str, Callable[[], Json]] = {
    "models/list": models_list,
    "errors/gateway_401": errors_gateway_401,
    "errors/gateway_403": errors_gateway_403,
    "errors/gateway_404": errors_gateway_404,
    "errors/gateway_429_retry": errors_gateway_429_retry,
    "errors/gateway_500": errors_gateway_500,
    "errors/gateway_202_polling": errors_gateway_202,
    "errors/gateway_empty_assistant_content": errors_gateway_empty_assistant_content,
}
