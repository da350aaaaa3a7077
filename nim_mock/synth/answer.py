"""Deciding what a synthesized answer says: text, a tool call or schema-valid JSON, then where it ends.

Pure: a checked :class:`SynthRequest` and the rules in, an :class:`Answer` out. How the answer is
framed on the wire (one body or token events) is ``wire``'s job.

Which kind of content, in order:

1. ``tool_choice`` names a tool, or is ``required``: a call to it (``required`` picks the tool a
   rule names, else one whose name appears in the last user message, else the first tool). As vLLM
   does for these guided modes, ``content`` is ``""`` and ``finish_reason`` stays ``stop``.
2. Tools offered with ``tool_choice`` ``auto`` (or absent) and the last message is not a tool
   result: a call when a rule with ``tool`` matches, or when the last user message mentions a tool
   (case-insensitively: its name ``get_weather``, ``get weather``, or a word of four or more
   letters of its name, ``weather``; first tool in order wins); ``content`` is null and
   ``finish_reason`` is ``tool_calls``. Otherwise the text reply.
3. ``guided_json`` / ``response_format`` json_schema / ``nvext.guided_json``: an instance of the
   schema; JSON mode: the reply itself when it is a JSON object, else ``{"response": reply}``;
   ``guided_choice``: the first choice; ``guided_regex``: a string the regex matches.
4. Otherwise the rules' reply for the last user message (or the default naming the model).

Then, for text, the earliest ``stop`` string cuts it (``finish_reason`` ``stop``, ``stop_reason``
the string); and ``max_tokens`` cuts any content, arguments included (``finish_reason`` ``length``).
Tool-call ids are ``chatcmpl-tool-<32 hex>``, derived from the request's digest.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from nim_mock.synth.regex import RegexUnsupported, string_matching
from nim_mock.synth.request import SynthRequest, Tool
from nim_mock.synth.rules import ReplyRules
from nim_mock.synth.schema import SchemaUnsupported, instance_for
from nim_mock.synth.tokens import count_tokens, tokens

__all__ = ["Answer", "Choice", "ToolCall", "Unsatisfiable", "plan_answer"]


class Unsatisfiable(ValueError):
    """A schema or regex the mock cannot produce a value for (the server answers 400 with the reason)."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Choice:
    content: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    stop_reason: str | None
    completion_tokens: int
    auto_tool: bool
    """A call the model chose (``auto``): vLLM streams its name first and ends with ``tool_calls``."""


@dataclass(frozen=True, slots=True)
class Answer:
    choices: tuple[Choice, ...]


def plan_answer(request: SynthRequest, rules: ReplyRules, digest: str) -> Answer:
    """Every choice of the answer; choices differ only in their tool-call ids."""
    reply, rule_tool = rules.reply_for(request.prompt_text, request.model, [t.name for t in request.tools])
    tool, auto = _tool_to_call(request, rule_tool)
    choices = []
    for index in range(request.n):
        if tool is not None:
            choices.append(_tool_choice(request, tool, auto, _tool_call_id(digest, index)))
        else:
            choices.append(_text_choice(request, _content(request, reply)))
    return Answer(tuple(choices))


def _tool_to_call(request: SynthRequest, rule_tool: str | None) -> tuple[Tool | None, bool]:
    by_name = {tool.name: tool for tool in request.tools}
    if request.tool_choice == "named" and request.named_tool is not None:
        return by_name[request.named_tool], False
    mentioned = _mentioned(request)
    if request.tool_choice == "required":
        return by_name[rule_tool or mentioned or request.tools[0].name], False
    if request.tool_choice == "auto" and request.last_role != "tool":
        chosen = rule_tool or mentioned
        if chosen is not None:
            return by_name[chosen], True
    return None, False


def _mentioned(request: SynthRequest) -> str | None:
    """The first tool the last user message mentions: its name, or a 4+ letter word of its name."""
    text = request.prompt_text.lower()
    words = set(re.findall(r"[a-z0-9]+", text))
    for tool in request.tools:
        name = tool.name.lower()
        if name in text or name.replace("_", " ") in text:
            return tool.name
    for tool in request.tools:
        if any(len(w) >= 4 and w in words for w in re.split(r"[^a-z0-9]+", tool.name.lower())):
            return tool.name
    return None


def _tool_call_id(digest: str, index: int) -> str:
    return "chatcmpl-tool-" + hashlib.sha256(f"{digest}:tool:{index}".encode()).hexdigest()[:32]


def _tool_choice(request: SynthRequest, tool: Tool, auto: bool, call_id: str) -> Choice:
    try:
        arguments = json.dumps(instance_for(tool.parameters, name=tool.name), ensure_ascii=False)
    except SchemaUnsupported as error:
        raise Unsatisfiable(f"cannot make arguments for tool {tool.name!r}: {error}") from None
    arguments, cut = _limit(arguments, request.max_tokens)
    finish = "length" if cut else ("tool_calls" if auto else "stop")
    used = count_tokens(arguments) + (0 if cut else 1)  # argument tokens, plus end-of-sequence
    return Choice(
        content=None if auto else "",
        tool_calls=(ToolCall(call_id, tool.name, arguments),),
        finish_reason=finish,
        stop_reason=None,
        completion_tokens=used,
        auto_tool=auto,
    )


def _content(request: SynthRequest, reply: str) -> str:
    structured = request.structured
    if structured is None:
        return reply
    try:
        if structured.kind == "schema":
            return json.dumps(instance_for(structured.value, name="response"), ensure_ascii=False)
        if structured.kind == "choice":
            return str(structured.value[0])
        if structured.kind == "regex":
            return string_matching(structured.value)
    except SchemaUnsupported as error:
        raise Unsatisfiable(f"cannot make content for the requested JSON schema: {error}") from None
    except RegexUnsupported as error:
        raise Unsatisfiable(f"cannot make content for guided_regex: {error}") from None
    return reply if _is_json_object(reply) else json.dumps({"response": reply}, ensure_ascii=False)


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


def _text_choice(request: SynthRequest, content: str) -> Choice:
    finish, stop_reason = "stop", None
    if request.stop and request.structured is None:
        cut_at = min(
            ((content.find(s), s) for s in request.stop if s in content), default=None, key=lambda p: p[0]
        )
        if cut_at is not None:
            content, stop_reason = content[: cut_at[0]], cut_at[1]
    content, cut = _limit(content, request.max_tokens)
    if cut:
        finish, stop_reason = "length", None
    return Choice(
        content=content,
        tool_calls=(),
        finish_reason=finish,
        stop_reason=stop_reason,
        completion_tokens=count_tokens(content) + _end_tokens(stop_reason, cut),
        auto_tool=False,
    )


def _end_tokens(stop_reason: str | None, cut: bool) -> int:
    """Tokens generated but not shown: the stop string's, or one end-of-sequence token; none when cut."""
    if cut:
        return 0
    return count_tokens(stop_reason) if stop_reason is not None else 1


def _limit(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """``text`` cut to ``max_tokens`` tokens, and whether the limit ended it.

    Reaching the limit exactly also ends with ``length``: the end-of-sequence token would have been
    one token too many, so ``completion_tokens`` never exceeds ``max_tokens``.
    """
    if max_tokens is None:
        return text, False
    parts = tokens(text)
    if len(parts) < max_tokens:
        return text, False
    return "".join(parts[:max_tokens]), True
