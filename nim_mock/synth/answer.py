"""Deciding what a synthesized answer says: text, a tool call or schema-valid JSON, then where it ends.

Pure: a checked :class:`SynthRequest` and the rules in, an :class:`Answer` out. How the answer is
framed on the wire (one body or token events) is ``wire``'s job.

Which kind of content, in order:

1. ``tool_choice`` names a tool, or is ``required``: a call to it (``required`` picks the tool a
   rule names, else those the last user message mentions, else the first tool). As vLLM does for
   these guided modes, ``content`` is ``""`` and ``finish_reason`` stays ``stop``.
2. Tools offered with ``tool_choice`` ``auto`` (or absent) and the last message is not a tool
   result: calls when a rule with ``tool`` matches, or when the last user message mentions tools
   (case-insensitively: a name ``get_weather`` or ``get weather``, else a word of four or more
   letters of one name, ``weather``); ``content`` is null and ``finish_reason`` is ``tool_calls``.
   Several calls at once when ``parallel_tool_calls`` allows (it does unless ``false``): one per
   tool the message names in full, or several to one tool for the values it lists (``arguments``).
   Arguments are drawn from the message (``arguments``) or pinned by the rule.
3. The last message is a tool result and no call is forced: an answer that reports the results,
   so an agent loop ends.
4. ``guided_json`` / ``response_format`` json_schema / ``nvext.guided_json``: an instance of the
   schema; JSON mode: the reply itself when it is a JSON object, else the object the prompt asks
   for (``json_prompt``), else ``{"response": reply}``; ``guided_choice``: the first choice;
   ``guided_regex``: a string the regex matches.
5. Otherwise the rules' reply for the last user message (or the default naming the model).

Reasoning (``reasoning``) comes first where the model reasons: in ``reasoning_content``, or as a
``<think>`` block opening a text answer. Then, for text, the earliest ``stop`` string cuts it
(``finish_reason`` ``stop``, ``stop_reason`` the string); and ``max_tokens`` cuts reasoning, then
content or arguments (``finish_reason`` ``length``). Tool-call ids are ``chatcmpl-tool-<32 hex>``,
new for every call.

The content is made once (choices differ only in their tool-call ids) within one
:class:`~nim_mock.synth.budget.Budget`: what ``max_tokens`` keeps bounds what is made, and an
answer past the mock's limits (:data:`~nim_mock.synth.budget.MAX_CONTENT_CHARS` characters,
:data:`~nim_mock.synth.budget.MAX_ANSWER_TOKENS` tokens over all choices) is
:class:`Unsatisfiable`, naming the limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from nim_mock.synth.arguments import MAX_PARALLEL_CALLS, arguments_for, first_mention
from nim_mock.synth.budget import MAX_ANSWER_TOKENS, Budget, too_long
from nim_mock.synth.json_prompt import object_for_prompt
from nim_mock.synth.reasoning import ReasoningLayout, reasoning_layout, reasoning_text
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
    reasoning: str | None = None
    """What goes to ``reasoning_content``; ``None`` where the model does not reason or reasons inline."""


@dataclass(frozen=True, slots=True)
class Answer:
    choices: tuple[Choice, ...]


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    arguments: str


def plan_answer(request: SynthRequest, rules: ReplyRules, new_id: Callable[[], str]) -> Answer:
    """Every choice of the answer; choices differ only in their tool-call ids (``new_id()`` each)."""
    reply, rule_tool = rules.reply_for(request.prompt_text, request.model, [t.name for t in request.tools])
    tools, auto = _tools_to_call(request, rule_tool)
    budget = Budget.for_answer(request.max_tokens)
    layout = reasoning_layout(request)
    if tools:
        calls = _calls(request, rules, tools, budget)
        thought = reasoning_text(request, f"It needs {', '.join(dict.fromkeys(c.name for c in calls))}.")
        reasoning = thought if layout == "field" else None  # calls carry no text for a <think> block
        choices = [_tool_choice(request, calls, auto, reasoning, new_id) for _ in range(request.n)]
    else:
        if request.tool_results and request.structured is None:
            reply = " ".join(f"{result.name} returned: {result.text}" for result in request.tool_results)
        content = _content(request, reply, budget)
        choices = [_text_choice(request, content, layout)] * request.n
    total = sum(choice.completion_tokens for choice in choices)
    if total > MAX_ANSWER_TOKENS:
        each = f" ({request.n} choices of {choices[0].completion_tokens})" if request.n > 1 else ""
        raise Unsatisfiable(
            f"the answer would hold {total} tokens{each}, more than the {MAX_ANSWER_TOKENS} the mock "
            "synthesizes for one request; set max_tokens lower, or ask for fewer choices"
        )
    return Answer(tuple(choices))


def _tools_to_call(request: SynthRequest, rule_tool: str | None) -> tuple[list[Tool], bool]:
    """The tools the answer calls (in order) and whether the model chose them (``auto``)."""
    by_name = {tool.name: tool for tool in request.tools}
    if request.tool_choice == "named" and request.named_tool is not None:
        return [by_name[request.named_tool]], False
    mentioned = _mentioned(request)
    chosen = [by_name[rule_tool]] if rule_tool is not None else [by_name[name] for name in mentioned]
    if not request.parallel_tool_calls:
        chosen = chosen[:1]
    if request.tool_choice == "required":
        return chosen or [request.tools[0]], False
    if request.tool_choice == "auto" and request.last_role != "tool" and chosen:
        return chosen, True
    return [], False


def _mentioned(request: SynthRequest) -> list[str]:
    """The tools the last user message names in full (in the order it names them); else the first
    one a 4+ letter word of whose name it uses."""
    text = request.prompt_text.lower()
    named: list[tuple[int, str]] = []
    for tool in request.tools:
        position = first_mention(tool.name, text)
        if position is not None:
            named.append((position, tool.name))
    if named:
        return [name for _, name in sorted(named)]
    words = set(re.findall(r"[a-z0-9]+", text))
    for tool in request.tools:
        if any(len(w) >= 4 and w in words for w in re.split(r"[^a-z0-9]+", tool.name.lower())):
            return [tool.name]
    return []


def _calls(request: SynthRequest, rules: ReplyRules, tools: list[Tool], budget: Budget) -> list[_Call]:
    """Each call's arguments: pinned by a rule, else drawn from the last user message (from the part
    about that tool, when the message names several)."""
    calls: list[_Call] = []
    for tool, text in zip(tools, _parts_about(request.prompt_text, tools), strict=True):
        pinned = rules.pinned_arguments(request.prompt_text, tool.name)
        try:
            sets = [pinned] if pinned is not None else arguments_for(tool.name, tool.parameters, text, budget)
        except SchemaUnsupported as error:
            raise Unsatisfiable(f"cannot make arguments for tool {tool.name!r}: {error}") from None
        if request.tool_choice == "named" or not request.parallel_tool_calls:
            sets = sets[:1]
        calls.extend(_Call(tool.name, _json_text(arguments)) for arguments in sets)
    return calls[:MAX_PARALLEL_CALLS] if request.parallel_tool_calls else calls[:1]


def _parts_about(text: str, tools: list[Tool]) -> list[str]:
    """For each tool, the part of ``text`` from where it is named to where the next one is
    ("use get_time for 'UTC' and get_weather for Rome"); the whole text unless all are named."""
    starts = [first_mention(tool.name, text) for tool in tools]
    if len(tools) < 2 or None in starts:
        return [text] * len(tools)
    order = sorted(range(len(tools)), key=lambda i: starts[i] or 0)
    parts = [text] * len(tools)
    for rank, i in enumerate(order):
        begin = 0 if rank == 0 else starts[i] or 0
        end = starts[order[rank + 1]] if rank + 1 < len(order) else None
        parts[i] = text[begin:end]
    return parts


def _tool_choice(
    request: SynthRequest, calls: list[_Call], auto: bool, reasoning: str | None, new_id: Callable[[], str]
) -> Choice:
    left = request.max_tokens
    reasoning, cut = _limit_reasoning(reasoning, left)
    used = count_tokens(reasoning) if reasoning else 0
    left = None if left is None else left - used
    kept: list[ToolCall] = []
    for call in calls if not cut else []:
        arguments, cut = _limit(call.arguments, left)
        spent = count_tokens(arguments)
        used += spent
        left = None if left is None else left - spent
        kept.append(ToolCall("chatcmpl-tool-" + new_id(), call.name, arguments))
        if cut:
            break
    finish = "length" if cut else ("tool_calls" if auto else "stop")
    return Choice(
        content=None if auto else "",
        tool_calls=tuple(kept),
        finish_reason=finish,
        stop_reason=None,
        completion_tokens=used + (0 if cut else 1),  # plus end-of-sequence
        auto_tool=auto,
        reasoning=reasoning,
    )


def _limit_reasoning(reasoning: str | None, max_tokens: int | None) -> tuple[str | None, bool]:
    if reasoning is None:
        return None, False
    return _limit(reasoning, max_tokens)


def _content(request: SynthRequest, reply: str, budget: Budget) -> str:
    structured = request.structured
    if structured is None:
        return _within(reply, budget, "the rules' reply")
    if structured.kind == "choice":
        return _within(str(structured.value[0]), budget, "the guided_choice")
    try:
        if structured.kind == "object":
            return _within(_json_mode_text(request, reply, budget), budget, "the JSON-mode reply")
        if structured.kind == "schema":
            return _json_text(instance_for(structured.value, name="response", budget=budget))
        return string_matching(structured.value, max_length=budget.left, prefix_only=budget.prefix_only)
    except RegexTooLong:  # refused in the budget's words, naming the mock's limit
        raise Unsatisfiable(f"cannot make content for guided_regex: {too_long('the pattern')}") from None
    except SchemaUnsupported as error:
        raise Unsatisfiable(f"cannot make content for the requested JSON schema: {error}") from None
    except RegexUnsupported as error:
        raise Unsatisfiable(f"cannot make content for guided_regex: {error}") from None


def _json_mode_text(request: SynthRequest, reply: str, budget: Budget) -> str:
    if _is_json_object(reply):
        return reply
    asked = object_for_prompt([request.instructions, request.prompt_text], budget)
    if isinstance(asked, dict):
        return _json_text(asked)
    return json.dumps({"response": reply}, ensure_ascii=False)


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


def _text_choice(request: SynthRequest, content: str, layout: ReasoningLayout | None) -> Choice:
    reasoning = reasoning_text(request, "A short, direct answer fits.") if layout is not None else None
    if layout == "inline":  # a <think> block opens plain text; structured content stays parseable
        if request.structured is None:
            content = f"<think>\n{reasoning}\n</think>\n\n{content}"
        reasoning = None
    finish, stop_reason = "stop", None
    if request.stop and request.structured is None:
        cut_at = min(
            ((content.find(s), s) for s in request.stop if s in content), default=None, key=lambda p: p[0]
        )
        if cut_at is not None:
            content, stop_reason = content[: cut_at[0]], cut_at[1]
    reasoning, cut = _limit_reasoning(reasoning, request.max_tokens)
    thought = count_tokens(reasoning) if reasoning else 0
    if cut:
        content = ""
    else:
        left = None if request.max_tokens is None else request.max_tokens - thought
        content, cut = _limit(content, left)
    if cut:
        finish, stop_reason = "length", None
    return Choice(
        content=content,
        tool_calls=(),
        finish_reason=finish,
        stop_reason=stop_reason,
        completion_tokens=thought + count_tokens(content) + _end_tokens(stop_reason, cut),
        auto_tool=False,
        reasoning=reasoning,
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
    return "".join(parts[: max(max_tokens, 0)]), True
