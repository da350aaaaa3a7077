"""The rules file: which reply a synthesized answer gives, chosen by a regex on the last user message.

JSON, because YAML is not a dependency. The whole format::

    {
      "rules": [
        {"match": "weather in (\\\\w+)", "reply": "It is sunny in \\\\1.", "flags": "i"},
        {"match": "^book", "tool": "book_flight"},
        {"match": "weather in (\\w+)", "tool": "get_weather", "arguments": {"city": "\\1"}}
      ],
      "default": "This is a synthesized reply from {model}."
    }

- ``rules`` are tried in order; ``match`` is a Python regex searched (``re.search``) in the text of
  the last user message; ``flags`` may hold ``i`` (ignore case), ``m`` (multi-line), ``s`` (dot
  matches newline). The first rule that matches wins.
- ``reply`` is expanded like ``re.Match.expand`` (``\\\\1``, ``\\\\g<name>``), then ``{model}`` is
  replaced by the requested model id.
- ``tool`` (instead of, or as well as, ``reply``): when the request offers a tool of that name and
  ``tool_choice`` allows one (``auto`` or absent), the answer calls it. ``reply`` is then used only
  when the tool is not offered.
- ``arguments`` (only with ``tool``): the call's arguments, pinned, instead of those drawn from the
  conversation; every string in it is expanded like ``reply`` (``{"city": "\\1"}``). They are
  used whenever that tool is called for a message the rule matches (``tool_choice`` ``required`` or
  naming the tool too), as they are, even where they do not fit the tool's schema: a test may want
  exactly that.
- ``default`` (optional) is the reply when no rule matches; ``{model}`` is replaced the same way.

Every problem is a :class:`ReplyRulesError` naming the file, the spot (``rules[2].match``) and the fix,
raised when the file is loaded, so a server never starts with rules it cannot apply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_REPLY", "ReplyRules", "ReplyRulesError", "Rule", "load_reply_rules", "parse_reply_rules"]

DEFAULT_REPLY = "This is a synthesized reply from {model}: no recording matched this request."
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
_RULE_KEYS = frozenset({"match", "reply", "tool", "flags", "arguments"})


class ReplyRulesError(ValueError):
    """A rules file that cannot be used: ``str()`` names the file, the spot and what to change."""

    def __init__(self, source: str, where: str, problem: str) -> None:
        self.source = source
        self.where = where
        self.problem = problem
        super().__init__(source, where, problem)

    def __str__(self) -> str:
        spot = f"{self.where}: " if self.where else ""
        return f"rules file {self.source}: {spot}{self.problem}"

    def __reduce__(self) -> tuple[type[ReplyRulesError], tuple[str, str, str]]:
        return (type(self), (self.source, self.where, self.problem))


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: re.Pattern[str]
    reply: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ReplyRules:
    """Parsed rules; the default instance has none and answers with :data:`DEFAULT_REPLY`."""

    rules: tuple[Rule, ...] = ()
    default: str = DEFAULT_REPLY

    def reply_for(self, text: str, model: str, tools: Sequence[str] = ()) -> tuple[str, str | None]:
        """(reply text, tool to call or ``None``) for the last user message ``text``."""
        for rule in self.rules:
            found = rule.pattern.search(text)
            if found is None:
                continue
            if rule.tool is not None and rule.tool in tools:
                return "", rule.tool
            if rule.reply is not None:
                return found.expand(rule.reply).replace("{model}", model), None
        return self.default.replace("{model}", model), None

    def pinned_arguments(self, text: str, tool: str) -> dict[str, Any] | None:
        """The arguments the first rule for ``tool`` that matches ``text`` pins, expanded; else ``None``."""
        for rule in self.rules:
            if rule.tool != tool or rule.arguments is None:
                continue
            found = rule.pattern.search(text)
            if found is not None:
                expanded: dict[str, Any] = _expand(rule.arguments, found)
                return expanded
        return None


def _expand(value: Any, found: re.Match[str]) -> Any:
    if isinstance(value, str):
        return found.expand(value)
    if isinstance(value, list):
        return [_expand(item, found) for item in value]
    if isinstance(value, dict):
        return {key: _expand(item, found) for key, item in value.items()}
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    return []


def load_reply_rules(path: Path) -> ReplyRules:
    """Read and check a rules file; any problem is a :class:`ReplyRulesError` naming ``path``."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReplyRulesError(source, "", "no such file; pass an existing JSON rules file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReplyRulesError(source, "", f"cannot be read ({error}); pass a UTF-8 JSON file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReplyRulesError(
            source, "", f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    return parse_reply_rules(data, source)


def parse_reply_rules(data: Any, source: str = "<rules>") -> ReplyRules:
    """Check already-parsed JSON against the format in the module docstring."""
    if not isinstance(data, dict):
        raise ReplyRulesError(source, "", 'must be a JSON object like {"rules": [...], "default": "..."}')
    unknown = sorted(set(data) - {"rules", "default"})
    if unknown:
        raise ReplyRulesError(source, unknown[0], "unknown key; the file may hold only 'rules' and 'default'")
    default = data.get("default", DEFAULT_REPLY)
    if not isinstance(default, str):
        raise ReplyRulesError(source, "default", "must be a string (the reply when no rule matches)")
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ReplyRulesError(source, "rules", "must be a list of {match, reply|tool} objects")
    return ReplyRules(tuple(_rule(raw, source, f"rules[{i}]") for i, raw in enumerate(raw_rules)), default)


def _rule(raw: Any, source: str, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise ReplyRulesError(source, where, 'must be an object like {"match": "regex", "reply": "text"}')
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise ReplyRulesError(
            source, f"{where}.{unknown[0]}", f"unknown key; use {', '.join(sorted(_RULE_KEYS))}"
        )
    match = raw.get("match")
    if not isinstance(match, str):
        raise ReplyRulesError(source, f"{where}.match", "missing or not a string; give a regex to search for")
    flags_text = raw.get("flags", "")
    if not isinstance(flags_text, str) or any(flag not in _FLAGS for flag in flags_text):
        raise ReplyRulesError(
            source, f"{where}.flags", f"must be a string of {', '.join(_FLAGS)}; got {flags_text!r}"
        )
    flags = 0
    for flag in flags_text:
        flags |= _FLAGS[flag]
    try:
        pattern = re.compile(match, flags)
    except re.error as error:
        raise ReplyRulesError(source, f"{where}.match", f"is not a valid regex: {error}") from None
    reply, tool = raw.get("reply"), raw.get("tool")
    if reply is None and tool is None:
        raise ReplyRulesError(source, where, "needs a 'reply' (text) or a 'tool' (name of a tool to call)")
    if reply is not None and not isinstance(reply, str):
        raise ReplyRulesError(source, f"{where}.reply", "must be a string")
    if tool is not None and (not isinstance(tool, str) or not tool):
        raise ReplyRulesError(source, f"{where}.tool", "must be a non-empty tool name")
    arguments = raw.get("arguments")
    if arguments is not None:
        if tool is None:
            raise ReplyRulesError(source, f"{where}.arguments", "needs a 'tool' whose call they pin")
        if not isinstance(arguments, dict):
            raise ReplyRulesError(source, f"{where}.arguments", 'must be an object like {"city": "Paris"}')
    templates = [("reply", reply)] if reply is not None else []
    templates += [("arguments", text) for text in _strings(arguments)]
    for spot, template in templates:
        try:
            _check_template(pattern, template)
        except re.error as error:
            raise ReplyRulesError(source, f"{where}.{spot}", f"bad group reference: {error}") from None
    return Rule(pattern, reply, tool, arguments)


def _check_template(pattern: re.Pattern[str], reply: str) -> None:
    """Fail now, not at the first request, when ``reply`` refers to a group ``match`` lacks."""
    for found in re.finditer(r"\\(\d+)|\\g<([^>]*)>", reply):
        number, name = found.group(1), found.group(2)
        if number is not None and int(number) > pattern.groups:
            raise re.error(f"\\{number} but the regex has {pattern.groups} group(s)")
        if name is not None and not name.isdigit() and name not in pattern.groupindex:
            raise re.error(f"\\g<{name}> but the regex has no group of that name")
        if name is not None and name.isdigit() and int(name) > pattern.groups:
            raise re.error(f"\\g<{name}> but the regex has {pattern.groups} group(s)")
