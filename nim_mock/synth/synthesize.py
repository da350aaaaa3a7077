"""Answering a request no cassette matches, when the server runs with ``on_miss="synthesize"``.

The entry point for the endpoints: :class:`SynthConfig` (rules, pace; defined in ``config``) and
:func:`synthesize`, which turns a checked request body into either a NIM-shaped
:class:`RecordedResponse` (replayed by the same ``ReplayResponse`` as a recording, so pacing and
disconnects behave identically) or the 400 :class:`Problem` a NIM gives for a field it cannot accept.

In the ``nim2`` identity the request is first checked as vLLM 0.32 checks it
(:mod:`~nim_mock.synth.vllm_request`: its status, type, param and wording, a 404 for a model the
server does not serve, ``max_model_len``), top-level ``guided_*`` fields are ignored as that vLLM
ignores them, and the answer is rendered in its bytes. Every identity answers a model it does not
serve with a 404 once the served models are given (``SynthConfig.served_only``), and renders
logprobs when asked.

As from a real server, ``created`` is the time of the request (whole seconds) and every response
and tool call has an id of its own (``chatcmpl-``/``cmpl-``/``chatcmpl-tool-`` and 32 hex digits,
vLLM's ``uuid4().hex``); everything else is a function of the request, so the same request gets
the same answer. ``now`` and ``new_id`` are the seams that make a test's bytes exact. Every
synthesized response carries ``x-nim-mock-synthesized: 1``.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from nim_mock.cassette import RecordedResponse
from nim_mock.synth.answer import Answer, Unsatisfiable, plan_answer
from nim_mock.synth.config import SynthConfig
from nim_mock.synth.request import SynthRequest, read_request
from nim_mock.synth.tokens import count_prompt_tokens, count_tokens
from nim_mock.synth.vllm_request import check_request
from nim_mock.synth.wire import SYNTH_HEADER, Frame, render
from nim_mock.wire.errors import Problem, bad_request
from nim_mock.wire.identity import NIM1, Identity, response_headers

__all__ = ["SYNTH_HEADER", "SynthConfig", "synthesize"]


def _uuid_hex() -> str:
    return uuid.uuid4().hex


_IGNORED_BY_VLLM_032 = ("guided_json", "guided_choice", "guided_regex", "guided_grammar")


def synthesize(
    body: dict[str, Any],
    config: SynthConfig,
    *,
    chat: bool,
    identity: Identity = NIM1,
    now: Callable[[], float] = time.time,
    new_id: Callable[[], str] = _uuid_hex,
) -> RecordedResponse | Problem:
    """An answer to ``body`` (already checked by the endpoint) as ``identity`` gives it, or its refusal.

    ``now`` gives ``created`` (seconds since the epoch) and ``new_id`` each id's 32 hex digits.
    """
    created = int(now())
    vllm_032 = identity.name == "nim2"
    if vllm_032:
        checked = check_request(
            body,
            chat=chat,
            served=config.models,
            max_model_len=config.max_model_len,
            prompt_tokens=lambda b: _body_prompt_tokens(b, chat=chat),
            vocab_size=config.vocab_size,
        )
        if isinstance(checked, Problem):
            return checked
        body = {key: value for key, value in checked.items() if key not in _IGNORED_BY_VLLM_032}
        body["model"] = body.get("model") or config.models[0]  # vLLM answers "" and null as its model
    else:
        model = body.get("model")
        if config.served_only and isinstance(model, str) and model and model not in config.models:
            return Problem(404, "NotFoundError", f"The model `{model}` does not exist.", param="model")
    request = read_request(body, chat=chat, default_model=config.models[0])
    if isinstance(request, Problem):
        return request
    try:
        answer = plan_answer(request, config.rules, new_id)
    except Unsatisfiable as error:
        return bad_request(f"nim-mock cannot synthesize this request: {error}")
    if vllm_032 and request.tool_choice == "required":  # vLLM 0.32 ends a required call as a chosen one
        answer = Answer(
            tuple(
                dataclasses.replace(c, finish_reason="tool_calls") if c.finish_reason == "stop" else c
                for c in answer.choices
            )
        )
    prompts = body.get("prompt")
    count = len(prompts) if isinstance(prompts, list) and all(isinstance(p, str) for p in prompts) else 1
    if not chat and count > 1:
        answer = Answer(answer.choices * count)  # one set of choices per prompt, as vLLM answers
    frame = Frame(
        chat=chat,
        id=("chatcmpl-" if chat else "cmpl-") + new_id(),
        created=created,
        model=request.model,
        prompt_tokens=_prompt_tokens(request, body),
        include_usage=request.include_usage,
        ttft_ms=config.ttft_ms,
        tokens_per_s=config.tokens_per_s,
        vllm_032=vllm_032,
        logprobs=_logprobs(body, chat=chat),
        headers=response_headers(identity, 200),
        continuous_usage=_continuous_usage(body),
    )
    return render(answer, frame, stream=request.stream)


def _prompt_tokens(request: SynthRequest, body: dict[str, Any]) -> int:
    if not request.chat:
        return count_tokens(request.prompt)
    tools = body.get("tools")
    tool_tokens = count_tokens(json.dumps(tools)) if tools else 0
    return count_prompt_tokens(request.messages) + tool_tokens


def _body_prompt_tokens(body: dict[str, Any], *, chat: bool) -> int:
    """Prompt tokens of a request body that passed vLLM's field checks (for the context check)."""
    if chat:
        return count_prompt_tokens(body["messages"])
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        return (
            max((count_tokens(p) if isinstance(p, str) else 1 for p in prompt), default=0)
            if all(isinstance(p, str) for p in prompt)
            else len(prompt)
        )
    return count_tokens(str(prompt or ""))


def _logprobs(body: dict[str, Any], *, chat: bool) -> int | None:
    """Alternatives per token the request asks for, or ``None`` when it asks for no logprobs."""
    if chat:
        if body.get("logprobs") is not True:
            return None
        top = body.get("top_logprobs")
        return top if isinstance(top, int) and not isinstance(top, bool) and top >= 0 else 0
    requested = body.get("logprobs")
    if isinstance(requested, int) and not isinstance(requested, bool) and requested >= 0:
        return requested
    return None


def _continuous_usage(body: dict[str, Any]) -> bool:
    """Whether every stream chunk carries the usage so far (vLLM's ``continuous_usage_stats``)."""
    options = body.get("stream_options")
    return (
        isinstance(options, dict)
        and bool(options.get("include_usage"))
        and bool(options.get("continuous_usage_stats"))
    )
