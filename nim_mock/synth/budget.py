"""How much one synthesized answer may cost, so that no request can stall or swell the server.

A stand-in answer is built from what the request asks for, and a request can ask for a lot:
``minLength: 1000000000``, ``minItems`` of a billion, a pattern like ``^a{1000000000}$``, ``$ref``
chains that fan out exponentially. Three limits bound the work, each named in the 400 that a request
past it gets:

- :data:`MAX_CONTENT_CHARS` characters of content (or tool-call arguments) per answer;
- :data:`MAX_SCHEMA_STEPS` steps of walking a schema (resolving, generating, validating);
- :data:`MAX_ANSWER_TOKENS` tokens over all of an answer's choices (each becomes a stream event).

``max_tokens`` comes first: an answer it will cut needs only what that many tokens can hold
(:data:`~nim_mock.synth.tokens.MAX_TOKEN_CHARS` each), so when that is less than the limit the
:class:`Budget` is a *prefix* budget. Running out of it is then no error: generation stops where
the cut would have hidden the rest anyway, and the answer ends with ``finish_reason: length``
as a real server's would. Only a request the mock could not answer within its limits even so gets
the 400.
"""

from __future__ import annotations

from typing import Final

from nim_mock.synth.tokens import MAX_TOKEN_CHARS

__all__ = [
    "MAX_ANSWER_TOKENS",
    "MAX_CONTENT_CHARS",
    "MAX_SCHEMA_STEPS",
    "Budget",
    "SchemaUnsupported",
    "too_long",
]

MAX_CONTENT_CHARS: Final = 262_144
"""Characters of content, or of one tool call's arguments, in one synthesized answer (256 KiB)."""
MAX_SCHEMA_STEPS: Final = 250_000
"""Steps (a subschema resolved, a value made, a value checked) one request's schemas may take:
more than any answer within :data:`MAX_ANSWER_TOKENS` needs (each value costs a token or more and
three steps or fewer), and about a second of work."""
MAX_ANSWER_TOKENS: Final = 65_536
"""Tokens over all of an answer's choices: what a stream of one event per token may hold."""


class SchemaUnsupported(ValueError):
    """A schema the mock cannot produce an instance of; the message says which part and why."""


def too_long(what: str) -> SchemaUnsupported:
    """The refusal of ``what`` (``"'minLength' 10 of 'name'"``) for passing :data:`MAX_CONTENT_CHARS`."""
    return SchemaUnsupported(
        f"{what} needs more than the {MAX_CONTENT_CHARS} characters the mock generates for one "
        "answer; lower it, or set max_tokens to have the answer cut short"
    )


class Budget:
    """What is left of one answer's characters and steps while its content is generated.

    ``take`` charges characters as values are made (a lower bound of their JSON text: a string's
    characters and quotes, one per item or number), so a prefix budget that runs out has always
    produced at least as much text as the cut keeps.
    """

    __slots__ = ("chars", "left", "prefix_only", "spent", "steps")

    def __init__(self, chars: int, *, prefix_only: bool) -> None:
        self.chars = chars
        self.left = chars
        self.prefix_only = prefix_only
        self.spent = False
        """A prefix budget ran out: what was made is the start of an answer, not a whole one."""
        self.steps = MAX_SCHEMA_STEPS

    @classmethod
    def for_answer(cls, max_tokens: int | None) -> Budget:
        """The budget of an answer that ``max_tokens`` (``None``: no limit asked for) will cut."""
        if max_tokens is not None:
            needed = MAX_TOKEN_CHARS * (max_tokens + 2)  # the kept tokens, the one after, a margin
            if needed < MAX_CONTENT_CHARS:
                return cls(needed, prefix_only=True)
        return cls(MAX_CONTENT_CHARS, prefix_only=False)

    def restart(self) -> None:
        """Characters back to the start for another attempt at the same value; steps stay spent."""
        self.left = self.chars
        self.spent = False

    def take(self, chars: int, what: str) -> int:
        """Charge ``chars`` for ``what`` (``"'minLength' 10 of 'name'"``) and return how many were
        granted: all of them, or with a prefix budget what was left (then the budget is spent).
        Raises :class:`SchemaUnsupported` naming the limit when a whole answer cannot fit."""
        if chars <= self.left:
            self.left -= chars
            # A prefix budget used up exactly has made as much text as one overrun: enough for the cut.
            self.spent = self.prefix_only and self.left == 0
            return chars
        if self.prefix_only:
            granted, self.left, self.spent = self.left, 0, True
            return granted
        raise too_long(what)

    def require(self, chars: int, what: str) -> None:
        """Refuse up front what cannot fit, without charging: ``minItems`` of a billion is refused
        before any item is made. A prefix budget refuses nothing (it only runs out)."""
        if not self.prefix_only and chars > self.left:
            self.take(chars, what)

    def step(self) -> None:
        """Count one step of walking a schema; raises :class:`SchemaUnsupported` past the limit."""
        self.steps -= 1
        if self.steps < 0:
            raise SchemaUnsupported(
                f"walking the schema takes more than {MAX_SCHEMA_STEPS} steps (a $ref or allOf that fans "
                "out, or more values than an answer can hold); simplify it"
            )
