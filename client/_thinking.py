"""Reasoning: split ``<think>...</think>`` out of content, and switch a model's thinking on or off.

Servers without a reasoning parser leave a model's thinking inline, as a ``<think>`` block at
the start of the content. ``ThinkSplitter`` moves it out, the same way whether the text arrives
whole or token by token, with the tags cut at any point between two chunks. Only a block that
opens the answer counts: a ``<think>`` later in the text is the model talking about the tag.

Once the splitter knows the answer does not start with ``<think>`` (or the block has closed)
it passes text straight through, so the cost on the streaming path is one branch per chunk.

R1-style chat templates put the opening ``<think>`` into the prompt, so the answer holds only
the closing tag: everything before a lone ``</think>`` is reasoning. :func:`split_answer` splits
that for a whole answer. A stream cannot: by the time the tag arrives, the text before it has
been handed out as content (the published client leaves it there too).

Switching thinking (:func:`apply_thinking`) follows the published client: parameters are merged
into the request (a ``None`` value removes the parameter), and a prompt switch is appended to
the first system message after a newline, or becomes a new first system message.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ._catalogue import ThinkingControl, ThinkingStyle

OPEN = "<think>"
CLOSE = "</think>"

_UNDECIDED, _THINKING, _AFTER, _PASS = 0, 1, 2, 3


class ThinkSplitter:
    """Incremental ``<think>`` splitter: ``feed`` text, get ``(reasoning, content)`` back.

    Text that might still turn out to be (part of) a tag is held back until the next ``feed``
    or ``flush``. One splitter serves one answer.
    """

    __slots__ = ("_held", "_state")

    def __init__(self) -> None:
        self._state = _UNDECIDED
        self._held = ""

    @property
    def passing(self) -> bool:
        """True once all further text is plain content (no tag pending, nothing held back)."""
        return self._state == _PASS

    def feed(self, text: str) -> tuple[str, str]:
        if self._state == _PASS:
            return "", text
        if self._state == _AFTER:
            # the newlines a model writes after </think> are layout, not answer
            text = text.lstrip("\n")
            if text:
                self._state = _PASS
            return "", text
        text = self._held + text
        self._held = ""
        if self._state == _UNDECIDED:
            stripped = text.lstrip()
            if stripped.startswith(OPEN):
                self._state = _THINKING
                text = stripped[len(OPEN) :]
            elif OPEN.startswith(stripped):
                self._held = text  # only whitespace or a partial "<think" so far
                return "", ""
            else:
                self._state = _PASS
                return "", text
        return self._split_thinking(text)

    def _split_thinking(self, text: str) -> tuple[str, str]:
        end = text.find(CLOSE)
        if end >= 0:
            self._state = _AFTER
            return text[:end], self.feed(text[end + len(CLOSE) :])[1]
        keep = _partial_suffix(text, CLOSE)
        if keep:
            self._held = text[-keep:]
            text = text[:-keep]
        return text, ""

    def flush(self) -> tuple[str, str]:
        """End of the answer: whatever was held back is released as what it was heading for."""
        held, self._held = self._held, ""
        if self._state == _THINKING:
            return held, ""
        if self._state == _AFTER:
            return "", ""
        return "", held


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def split_whole(text: str) -> tuple[str, str]:
    """``(reasoning, content)`` of a complete answer, exactly as a stream of it splits."""
    splitter = ThinkSplitter()
    reasoning, content = splitter.feed(text)
    more_reasoning, more_content = splitter.flush()
    return reasoning + more_reasoning, content + more_content


def split_answer(text: str) -> tuple[str, str]:
    """``(reasoning, content)`` of a complete, non-streamed answer: a leading ``<think>`` block, or
    everything before a lone ``</think>`` (R1-style templates open the block in the prompt)."""
    end = text.find(CLOSE)
    if end >= 0 and OPEN not in text:
        return text[:end].strip(), text[end + len(CLOSE) :].lstrip("\n")
    return split_whole(text)


def apply_thinking(
    messages: list[dict[str, Any]], params: dict[str, Any], control: ThinkingControl, enabled: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return new ``(messages, params)`` that switch thinking per ``control``; inputs are not changed.

    Parameters are merged deeply (so ``chat_template_kwargs`` the caller set survive) and win over
    the caller's; a ``None`` among them removes that parameter. A prompt switch is appended to the
    first system message after a newline, or becomes a new first system message.
    """
    setting = control.on if enabled else control.off
    if setting is None:
        return messages, params
    if control.style is ThinkingStyle.PARAM:
        return messages, _merged(params, setting)
    return _with_system_suffix(messages, str(setting)), params


def _merged(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``update``, nested mappings merged; copies throughout, so the catalogue's
    own values never reach (or get changed through) a payload."""
    merged = copy.deepcopy(dict(base))
    for key, value in update.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        elif isinstance(value, Mapping):
            merged[key] = _merged({}, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _with_system_suffix(messages: list[dict[str, Any]], suffix: str) -> list[dict[str, Any]]:
    for position, message in enumerate(messages):
        if message.get("role") != "system":
            continue
        content = message.get("content")
        if isinstance(content, list):
            joined: Any = [*content, {"type": "text", "text": f"\n{suffix}" if content else suffix}]
        else:
            joined = f"{content}\n{suffix}" if content else suffix
        return [*messages[:position], {**message, "content": joined}, *messages[position + 1 :]]
    return [{"role": "system", "content": suffix}, *messages]
