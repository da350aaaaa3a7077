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

The content is made once (choices differ only in their tool-call ids) within one
:class:`~nim_mock.synth.budget.Budget`: what ``max_tokens`` keeps bounds what is made, and an
answer past the mock's limits (:data:`~nim_mock.synth.budget.MAX_CONTENT_CHARS` characters,
:data:`~nim_mock.synth.budget.MAX_ANSWER_TOKENS` tokens over all choices) is
:class:`Unsatisfiable`, naming the limit.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from nim_mock.synth.budget import MAX_ANSWER_TOKENS, Budget, too_long
from nim_mock.synth.regex import RegexTooLong, RegexUnsupported, string_matching
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
    budget = Budget.for_answer(request.max_tokens)
    if tool is not None:
        arguments = _arguments(tool, budget)
        choices = [
            _tool_choice(request, tool, arguments, auto, _tool_call_id(digest, i)) for i in range(request.n)
        ]
    else:
        content = _content(request, reply, budget)
        choices = [_text_choice(request, content)] * request.n
    total = sum(choice.completion_tokens for choice in choices)
    if total > MAX_ANSWER_TOKENS:
        each = f" ({request.n} choices of {choices[0].completion_tokens})" if request.n > 1 else ""
        raise Unsatisfiable(
            f"the answer would hold {total} tokens{each}, more than the {MAX_ANSWER_TOKENS} the mock "
            "synthesizes for one request; set max_tokens lower, or ask for fewer choices"
        )
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


def _arguments(tool: Tool, budget: Budget) -> str:
    try:
        return _json_text(instance_for(tool.parameters, name=tool.name, budget=budget))
    except SchemaUnsupported as error:
        raise Unsatisfiable(f"cannot make arguments for tool {tool.name!r}: {error}") from None


def _tool_choice(request: SynthRequest, tool: Tool, arguments: str, auto: bool, call_id: str) -> Choice:
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


def _content(request: SynthRequest, reply: str, budget: Budget) -> str:
    structured = request.structured
    if structured is None:
        return _within(reply, budget, "the rules' reply")
    if structured.kind == "choice":
        return _within(str(structured.value[0]), budget, "the guided_choice")
    if structured.kind == "object":
        text = reply if _is_json_object(reply) else json.dumps({"response": reply}, ensure_ascii=False)
        return _within(text, budget, "the JSON-mode reply")
    try:
        if structured.kind == "schema":
            return _json_text(instance_for(structured.value, name="response", budget=budget))
        return string_matching(structured.value, max_length=budget.left, prefix_only=budget.prefix_only)
    except RegexTooLong:  # refused in the budget's words, naming the mock's limit
        raise Unsatisfiable(f"cannot make content for guided_regex: {too_long('the pattern')}") from None
    except SchemaUnsupported as error:
        raise Unsatisfiable(f"cannot make content for the requested JSON schema: {error}") from None
    except RegexUnsupported as error:
        raise Unsatisfiable(f"cannot make content for guided_regex: {error}") from None


def _within(text: str, budget: Budget, what: str) -> str:
    """``text``, or as much of it as a prefix budget keeps; past the mock's limit, refused."""
    try:
        return text[: budget.take(len(text), what)]
    except SchemaUnsupported as error:
        raise Unsatisfiable(str(error)) from None


def _json_text(value: object) -> str:
    """Content as JSON text; ``NaN`` and ``Infinity`` (from a ``const`` or ``enum``) are not JSON."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise Unsatisfiable(
            "the schema's const or enum holds NaN or Infinity, which JSON content cannot carry"
        ) from None


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
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
