"""Reading the usage of a chat or completions answer, for the engine metrics: pure, cached per answer.

A recorded or synthesized answer says what it cost in its own body: ``usage`` (the last event's,
in a stream, where ``stream_options.include_usage`` puts it) and each choice's ``finish_reason``.
An answer that does not say (no usage in a stream) counts its model and finish reason with zero
tokens, as a scraper of the real server would see the request but not its tokens.
"""

from __future__ import annotations

import json
from typing import Any

from nim_mock.cassette import RecordedResponse
from nim_mock.serve.note import Usage

__all__ = ["usage_of"]


def usage_of(response: RecordedResponse) -> Usage | None:
    """The usage ``response`` reports, or ``None`` when it is no successful chat/completions answer."""
    if response.status != 200:
        return None
    documents = (
        [_json(response.body)]
        if not response.streamed
        else [_json(_data(e.raw)) for e in response.events or ()]
    )
    model, finish, usage = "", "", None
    for document in documents:
        if not isinstance(document, dict):
            continue
        model = str(document.get("model") or model)
        for choice in document.get("choices") or ():
            if isinstance(choice, dict) and choice.get("finish_reason"):
                finish = str(choice["finish_reason"])
        if isinstance(document.get("usage"), dict):
            usage = document["usage"]
    if not model:
        return None
    prompt = usage.get("prompt_tokens") if usage else 0
    completion = usage.get("completion_tokens") if usage else 0
    return Usage(
        model,
        prompt if isinstance(prompt, int) else 0,
        completion if isinstance(completion, int) else 0,
        finish or "stop",
    )


def _data(event: bytes) -> bytes:
    return event.strip().removeprefix(b"data:").strip()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
