"""Answering a request no cassette matches, when the server runs with ``on_miss="synthesize"``.

The entry point for the endpoints: :class:`SynthConfig` (rules, pace; defined in ``config``) and
:func:`synthesize`, which turns a checked request body into either a NIM-shaped
:class:`RecordedResponse` (replayed by the same ``ReplayResponse`` as a recording, so pacing and
disconnects behave identically) or the 400 :class:`Problem` a NIM gives for a field it cannot accept.

Determinism: the response id and ``created`` derive from a SHA-256 of the route and the canonical
body (keys sorted), so the same request always gets the same bytes, and a different one a
different id. Every synthesized response carries ``x-nim-mock-synthesized: 1``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from nim_mock.cassette import RecordedResponse
from nim_mock.synth.answer import Unsatisfiable, plan_answer
from nim_mock.synth.config import SynthConfig
from nim_mock.synth.request import SynthRequest, read_request
from nim_mock.synth.tokens import count_prompt_tokens, count_tokens
from nim_mock.synth.wire import SYNTH_HEADER, Frame, render
from nim_mock.wire.errors import Problem, bad_request

__all__ = ["SYNTH_HEADER", "SynthConfig", "synthesize"]

_EPOCH = 1735689600  # 2025-01-01T00:00:00Z: synthesized ``created`` values fall within 2025
_YEAR = 365 * 24 * 3600


def synthesize(
    route: str, body: dict[str, Any], config: SynthConfig, *, chat: bool
) -> RecordedResponse | Problem:
    """A NIM-shaped answer to ``body`` (already checked by the endpoint), or the 400 for a bad field."""
    request = read_request(body, chat=chat, default_model=config.models[0])
    if isinstance(request, Problem):
        return request
    digest = hashlib.sha256(
        route.encode() + b"\n" + json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    try:
        answer = plan_answer(request, config.rules, digest)
    except Unsatisfiable as error:
        return bad_request(f"nim-mock cannot synthesize this request: {error}")
    frame = Frame(
        chat=chat,
        id=("chatcmpl-" if chat else "cmpl-") + digest[:32],
        created=_EPOCH + int(digest[32:40], 16) % _YEAR,
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
