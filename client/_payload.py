"""The one request-body builder behind invoke, stream, batch and their async twins.

``build`` is pure: LangChain messages and already-merged parameters in, the JSON dict that goes
on the wire out. Snapshot tests pin its output for every feature, so any change to what we send
shows up as a reviewed diff.

Order of precedence for a parameter (later wins): model fields, ``model_kwargs``, then call-time
keyword arguments (``bind``/``invoke(..., temperature=...)``). ``None`` means "not set" and is
never sent, so the server's own default applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from ._catalogue import ThinkingControl
from ._convert import to_nv_vlm, to_wire
from ._thinking import apply_thinking

# Keys the client manages itself; a caller setting them through model_kwargs or bind would
# desynchronise what we send from how we read the answer.
RESERVED = frozenset({"messages", "model", "stream", "stream_options"})


def merge_params(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers override earlier ones; ``None`` values are dropped, not sent."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
    return merged


def build(
    messages: Sequence[BaseMessage],
    *,
    model: str,
    params: Mapping[str, Any],
    stream: bool,
    stream_options: Mapping[str, Any] | None = None,
    thinking: tuple[ThinkingControl, bool] | None = None,
    nv_vlm: bool = False,
) -> dict[str, Any]:
    """Return the chat-completions request body.

    ``stream_options`` is sent with a streamed request when it is not empty. ``thinking`` is the
    model's thinking control and whether it should be on; it is applied after the messages are
    converted, so the caller's message objects are never edited. ``nv_vlm`` selects NVIDIA's own
    vision layout (``image_url`` as a bare URL) that the ``nv-vlm`` hosted endpoints take.
    """
    clash = RESERVED.intersection(params)
    if clash:
        raise ValueError(
            f"{sorted(clash)} are set by ChatNVIDIA itself; remove them from model_kwargs or bind()"
        )
    wire_messages = to_nv_vlm(to_wire(messages)) if nv_vlm else to_wire(messages)
    if not wire_messages:
        raise ValueError("at least one message is needed to call a chat model")
    body_params = dict(params)
    if thinking is not None:
        wire_messages, body_params = apply_thinking(wire_messages, body_params, *thinking)
    payload: dict[str, Any] = {"messages": wire_messages, "model": model, **body_params}
    if stream:
        payload["stream"] = True
        if stream_options:
            payload["stream_options"] = dict(stream_options)
    return payload
