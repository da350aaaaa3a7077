"""A string that a regex matches, for ``pattern`` keywords and ``guided_regex``.

Real NIMs decode under a grammar; the mock only needs one deterministic string the pattern
accepts. A small recursive-descent reader covers what JSON schemas use in practice: literals and
escapes, ``.``, classes (``[a-z0-9_]``, ``[^...]``), ``\\d \\w \\s`` and their negations, groups
(plain, ``(?:...)``, ``(?P<name>...)``), alternation, quantifiers (``* + ? {m} {m,} {m,n}``, lazy
or not; each repeats its minimum, at least once for ``+``) and anchors. The result is checked
with ``re.search`` (JSON Schema's ``pattern`` semantics); anything outside the subset raises
:class:`RegexUnsupported` with the reason, never a wrong string.
"""

from __future__ import annotations

import re

__all__ = ["RegexUnsupported", "string_matching"]

_CLASS_ESCAPES = {"d": "0123456789", "w": "abcxyz_0123456789ABC", "s": " \t"}
_NEGATED_PICKS = "a0_-. x!Z"
_LITERAL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}


class RegexUnsupported(ValueError):
    """The pattern uses something the generator does not cover (or is not a valid regex)."""


def string_matching(pattern: str) -> str:
    """A string ``re.search(pattern, s)`` accepts; raises :class:`RegexUnsupported` otherwise."""
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise RegexUnsupported(f"{pattern!r} is not a valid regex: {error}") from None
    reader = _Reader(pattern)
    text = reader.alternation()
    if reader.pos != len(pattern):
        raise RegexUnsupported(f"cannot read {pattern!r} past position {reader.pos}")
    if compiled.search(text) is None:
        raise RegexUnsupported(f"{pattern!r} uses features the mock cannot satisfy (tried {text!r})")
    return text


class _Reader:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.pos = 0

    def _peek(self) -> str:
        return self.pattern[self.pos] if self.pos < len(self.pattern) else ""

    def alternation(self) -> str:
        first = self.sequence()
        while self._peek() == "|":
            self.pos += 1
            self.sequence()  # read and drop: the first branch is the answer
        return first

    def sequence(self) -> str:
        out: list[str] = []
        while self._peek() not in ("", "|", ")"):
            atom = self.atom()
            out.append(self.quantified(atom))
        return "".join(out)

    def quantified(self, atom: str | None) -> str:
        char = self._peek()
        times = 1
        if char in ("*", "+", "?"):
            self.pos += 1
            times = 1 if char == "+" else 0
        elif char == "{":
            found = re.compile(r"\{(\d+)(,(\d*))?\}").match(self.pattern, self.pos)
            if found is not None:
                self.pos = found.end()
                times = int(found.group(1))
        else:
            return atom or ""
        if self._peek() in ("?", "+"):  # lazy or possessive: same minimum
            self.pos += 1
        return (atom or "") * times

    def atom(self) -> str | None:
        char = self._peek()
        self.pos += 1
        if char in ("^", "$"):
            return None
        if char == ".":
            return "a"
        if char == "(":
            return self._group()
        if char == "[":
            return self._class()
        if char == "\\":
            return self._escape()
        if char in ("*", "+", "?", "{"):
            raise RegexUnsupported(f"quantifier {char!r} with nothing to repeat in {self.pattern!r}")
        return char

    def _group(self) -> str:
        if self.pattern.startswith("?:", self.pos):
            self.pos += 2
        elif self.pattern.startswith("?P<", self.pos):
            end = self.pattern.find(">", self.pos)
            self.pos = end + 1
        elif self._peek() == "?":
            raise RegexUnsupported(f"look-arounds and group flags are not supported in {self.pattern!r}")
        inner = self.alternation()
        if self._peek() != ")":
            raise RegexUnsupported(f"unbalanced group in {self.pattern!r}")
        self.pos += 1
        return inner

    def _escape(self) -> str | None:
        char = self._peek()
        self.pos += 1
        if char in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[char][0]
        if char in ("D", "W", "S"):
            allowed = _CLASS_ESCAPES[char.lower()]
            return next(c for c in _NEGATED_PICKS if c not in allowed)
        if char in ("b", "B", "A", "Z"):
            return None
        if char in _LITERAL_ESCAPES:
            return _LITERAL_ESCAPES[char]
        if char.isalnum():
            raise RegexUnsupported(f"escape \\{char} is not supported in {self.pattern!r}")
        return char

    def _class(self) -> str:
        negated = self._peek() == "^"
        if negated:
            self.pos += 1
        members: list[str] = []
        first = True
        while True:
            char = self._peek()
            if char == "":
                raise RegexUnsupported(f"unterminated character class in {self.pattern!r}")
            if char == "]" and not first:
                self.pos += 1
                break
            first = False
            self.pos += 1
            if char == "\\":
                escaped = self._peek()
                self.pos += 1
                if escaped in _CLASS_ESCAPES:
                    members.extend(_CLASS_ESCAPES[escaped])
                    continue
                char = _LITERAL_ESCAPES.get(escaped, escaped)
            if self._peek() == "-" and self.pos + 1 < len(self.pattern) and self.pattern[self.pos + 1] != "]":
                self.pos += 1
                end = self._peek()
                self.pos += 1
                if end == "\\":
                    end = self._peek()
                    self.pos += 1
                members.extend(chr(code) for code in range(ord(char), ord(end) + 1))
            else:
                members.append(char)
        if not negated:
            if not members:
                raise RegexUnsupported(f"empty character class in {self.pattern!r}")
            return members[0]
        for candidate in _NEGATED_PICKS:
            if candidate not in members:
                return candidate
        raise RegexUnsupported(f"negated class excludes every candidate in {self.pattern!r}")
