"""A string that a regex matches, for ``pattern`` keywords and ``guided_regex``.

Real NIMs decode under a grammar; the mock only needs one deterministic string the pattern
accepts. A small recursive-descent reader covers what JSON schemas use in practice: literals and
escapes, ``.``, classes (``[a-z0-9_]``, ``[^...]``), ``\\d \\w \\s`` and their negations, groups
(plain, ``(?:...)``, ``(?P<name>...)``), alternation, quantifiers (``* + ? {m} {m,} {m,n}``, lazy
or not; each repeats its minimum, at least once for ``+``) and anchors. The result is checked
with ``re.search`` (JSON Schema's ``pattern`` semantics); anything outside the subset raises
:class:`RegexUnsupported` with the reason, never a wrong string.

Length is bounded as the string is built: ``^a{1000000000}$`` is refused (or, when the caller
only needs a prefix because ``max_tokens`` cuts the answer anyway, cut) as soon as a repetition
would pass ``max_length``, without ever building the long string.
"""

from __future__ import annotations

import re

__all__ = ["RegexTooLong", "RegexUnsupported", "string_matching"]

_CLASS_ESCAPES = {"d": "0123456789", "w": "abcxyz_0123456789ABC", "s": " \t"}
_NEGATED_PICKS = "a0_-. x!Z"
_LITERAL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}


class RegexUnsupported(ValueError):
    """The pattern uses something the generator does not cover (or is not a valid regex)."""


class RegexTooLong(RegexUnsupported):
    """Every string the pattern matches is longer than the ``max_length`` asked for."""

    def __init__(self, pattern: str, length: int, limit: int) -> None:
        self.length = length
        """How long a string the pattern needs, at least."""
        super().__init__(
            f"{_shown(pattern)} matches only strings of {length} characters or more, past the {limit} "
            "the mock generates"
        )


def string_matching(pattern: str, *, max_length: int | None = None, prefix_only: bool = False) -> str:
    """A string ``re.search(pattern, s)`` accepts; raises :class:`RegexUnsupported` otherwise.

    With ``max_length``, a pattern whose string would be longer is refused, naming the limit; with
    ``prefix_only`` as well, the string is cut at ``max_length`` instead (not checked against the
    pattern then: it is only the start of one that is).
    """
    try:
        compiled = re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as error:
        raise RegexUnsupported(f"{_shown(pattern)} is not a valid regex: {error}") from None
    reader = _Reader(pattern, max_length, prefix_only)
    try:
        text = reader.alternation()
    except RecursionError:
        raise RegexUnsupported(f"{_shown(pattern)} nests its groups too deeply") from None
    if reader.pos != len(pattern):
        raise RegexUnsupported(f"cannot read {_shown(pattern)} past position {reader.pos}")
    if reader.cut:
        return text
    if compiled.search(text) is None:
        raise RegexUnsupported(
            f"{_shown(pattern)} uses features the mock cannot satisfy (tried {text!r:.80})"
        )
    return text


def _shown(pattern: str) -> str:
    return repr(pattern) if len(pattern) <= 80 else repr(pattern[:77]) + "..."


class _Reader:
    def __init__(self, pattern: str, max_length: int | None, prefix_only: bool) -> None:
        self.pattern = pattern
        self.pos = 0
        self.max_length = max_length
        self.prefix_only = prefix_only
        self.cut = False
        """Whether the string was cut at ``max_length`` (``prefix_only``)."""
        self._dropping = False
        """Reading an alternative that is not the answer: parsed for syntax, its text never built."""

    def _bounded(self, text: str, length: int) -> str:
        """``text`` (or its first ``max_length`` characters when cutting), given it needs ``length``."""
        limit = self.max_length
        if limit is None or length <= limit:
            return text
        if not self.prefix_only:
            raise RegexTooLong(self.pattern, length, limit)
        self.cut = True
        return text[:limit]

    def _peek(self) -> str:
        return self.pattern[self.pos] if self.pos < len(self.pattern) else ""

    def alternation(self) -> str:
        first = self.sequence()
        while self._peek() == "|":
            self.pos += 1
            dropping, self._dropping = self._dropping, True
            self.sequence()  # read and drop: the first branch is the answer
            self._dropping = dropping
        return first

    def sequence(self) -> str:
        out: list[str] = []
        length = 0
        while self._peek() not in ("", "|", ")"):
            atom = self.atom()
            part = self.quantified(atom)
            length += len(part)
            out.append(part)
            if self.max_length is not None and length > self.max_length:
                return self._bounded("".join(out), length)
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
        text = atom or ""
        if self._dropping:
            return ""
        if self.max_length is not None and len(text) * times > self.max_length:
            # Repeat only what the limit can hold: the whole repetition is never built.
            return self._bounded(text * (self.max_length // len(text) + 1), len(text) * times)
        return text * times

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
