"""Whether a synthesized answer reasons, and where its reasoning goes: a field or inline ``<think>``.

Real NIMs differ by model family, and the client has to parse both (``nim_harness._thinking``):

- ``field``: the server runs a reasoning parser and sends the thinking in ``reasoning_content``
  (``delta.reasoning_content`` when streamed), the answer in ``content``. Models that always
  reason (gpt-oss, DeepSeek-R1, QwQ, ``*-thinking``) answer so, and so does any model whose
  request switches thinking on by parameter (``chat_template_kwargs`` ``enable_thinking`` or
  ``thinking``, ``thinking_mode: enabled``, ``reasoning_effort``): the families switched that way
  (Qwen3, Nemotron 3, DeepSeek V3.x) are served with a parser.
- ``inline``: a system prompt switches thinking on (``detailed thinking on`` for Llama-Nemotron v1,
  ``/think`` for Nemotron v1.5 and nano v2) and the NIM runs no parser, so the thinking is a
  ``<think>...</think>`` block opening ``content``.

A switch the request sets wins over the family: ``detailed thinking off``, ``/no_think`` or
``enable_thinking: false`` turn reasoning off even for a model that reasons by default.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from nim_mock.synth.request import SynthRequest

__all__ = ["ReasoningLayout", "reasoning_layout", "reasoning_text"]

ReasoningLayout = Literal["field", "inline"]

_ALWAYS_REASONS: Final = re.compile(r"gpt-oss|deepseek-r1|qwq|thinking|reasoning", re.IGNORECASE)
_PROMPT_ON: Final = re.compile(r"detailed thinking on|(?<![\w/])/think(?!\w)", re.IGNORECASE)
_PROMPT_OFF: Final = re.compile(r"detailed thinking off|(?<![\w/])/no_think(?!\w)", re.IGNORECASE)
_SNIPPET_CHARS: Final = 80


def reasoning_layout(request: SynthRequest) -> ReasoningLayout | None:
    """Where ``request``'s answer puts its reasoning, or ``None`` when it does not reason."""
    if not request.chat:
        return None
    if _PROMPT_OFF.search(request.instructions):
        return None
    if _PROMPT_ON.search(request.instructions):
        return "inline"
    if request.thinking_param is not None:
        return "field" if request.thinking_param else None
    return "field" if _ALWAYS_REASONS.search(request.model) else None


def reasoning_text(request: SynthRequest, plan: str) -> str:
    """A short chain of thought about the last user message, ending in what the answer will do."""
    asked = " ".join(request.prompt_text.split())
    if len(asked) > _SNIPPET_CHARS:
        asked = asked[:_SNIPPET_CHARS].rstrip() + "..."
    opening = f'The user asks: "{asked}".' if asked else "There is no question to read."
    return f"{opening} {plan}"
