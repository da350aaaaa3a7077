"""Answering a request no cassette matches, when the server runs with ``on_miss="synthesize"``.

The entry point for the endpoints: :class:`SynthConfig` (rules, pace; defined in ``config``) and
:func:`synthesize`, which turns a checked request body into either a NIM-shaped
:class:`RecordedResponse` (replayed by the same ``ReplayResponse`` as a recording, so pacing and
disconnects behave identically) or the 400 :class:`Problem` a NIM gives for a field it cannot accept.

As from a real server, ``created`` is the time of the request (whole seconds) and every response
and tool call has an id of its own (``chatcmpl-``/``cmpl-``/``chatcmpl-tool-`` and 32 hex digits,
vLLM's ``uuid4().hex``); everything else is a function of the request, so the same request gets
the same answer. ``now`` and ``new_id`` are the seams that make a test's bytes exact. Every
synthesized response carries ``x-nim-mock-synthesized: 1``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from nim_mock.cassette import RecordedResponse
from nim_mock.synth.answer import Unsatisfiable, plan_answer
from nim_mock.synth.config import SynthConfig
from nim_mock.synth.request import SynthRequest, read_request
from nim_mock.synth.tokens import count_prompt_tokens, count_tokens
from nim_mock.synth.wire import SYNTH_HEADER, Frame, render
from nim_mock.wire.errors import Problem, bad_request

__all__ = ["SYNTH_HEADER", "SynthConfig", "synthesize"]


def _uuid_hex() -> str:
    return uuid.uuid4().hex


def synthesize(
    body: dict[str, Any],
    config: SynthConfig,
    *,
    chat: bool,
    now: Callable[[], float] = time.time,
    new_id: Callable[[], str] = _uuid_hex,
) -> RecordedResponse | Problem:
    """A NIM-shaped answer to ``body`` (already checked by the endpoint), or the 400 for a bad field.

    ``now`` gives ``created`` (seconds since the epoch) and ``new_id`` each id's 32 hex digits.
    """
    created = int(now())
    request = read_request(body, chat=chat, default_model=config.models[0])
    if isinstance(request, Problem):
        return request
    try:
        answer = plan_answer(request, config.rules, new_id)
    except Unsatisfiable as error:
        return bad_request(f"nim-mock cannot synthesize this request: {error}")
    frame = Frame(
        chat=chat,
        id=("chatcmpl-" if chat else "cmpl-") + new_id(),
        created=created,
        model=request.model,
        prompt_tokens=_prompt_tokens(request, body),
        include_usage=request.include_usage,
        ttft_ms=config.ttft_ms,
        tokens_per_s=config.tokens_per_s,
    )
    return render(answer, frame, stream=request.stream)


def _prompt_tokens(request: SynthRequest, body: dict[str, Any]) -> int:
    if not request.chat:
        return count_tokens(request.prompt)
    tools = body.get("tools")
    tool_tokens = count_tokens(json.dumps(tools)) if tools else 0
    return count_prompt_tokens(request.messages) + tool_tokens
