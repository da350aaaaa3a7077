"""Request-model errors worded exactly as vLLM's OpenAI server words them (pydantic v2 underneath).

vLLM turns a request pydantic refuses into a 400 whose ``type`` is the HTTP phrase ``"Bad Request"``,
whose ``param`` is the first error's location (``body.max_tokens``) and whose message lists the
errors as Python dict reprs::

    1 validation error:
      {'type': 'int_parsing', 'loc': 'body.max_tokens', 'msg': 'Input should be a valid integer,
      unable to parse string as an integer', 'input': 'many'}

(one line per error; wrapped here)
with every ``input`` shown as text (a container as ``<dict of 2 items>``) and at most ten errors
listed (``...and 12 more errors``). This module reproduces that rendering, and pydantic's lax
coercion of scalars (``"4"`` is the integer 4, ``"yes"`` is true), for the fields a chat or
completions request has. Pure functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from nim_mock.wire.errors import Problem

__all__ = [
    "FieldError",
    "as_bool",
    "as_float",
    "as_int",
    "input_text",
    "validation_problem",
]

_SHOWN: Final = 10
"""vLLM lists the first ten errors and counts the rest."""

_INT64: Final = 2**63
_INTEGER: Final = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_TRUE: Final = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE: Final = frozenset({"0", "off", "f", "false", "n", "no"})


@dataclass(frozen=True, slots=True)
class FieldError:
    """One pydantic error: its ``type``, where (``("body", "max_tokens")``), the text and the input."""

    type: str
    loc: tuple[str | int, ...]
    msg: str
    input: Any
    ctx: dict[str, Any] | None = None

    def render(self) -> str:
        entry: dict[str, Any] = {
            "type": self.type,
            "loc": ".".join(str(part) for part in self.loc),
            "msg": self.msg,
            "input": input_text(self.input),
        }
        if self.ctx is not None:
            entry["ctx"] = self.ctx
        return repr(entry)


def input_text(value: Any) -> str:
    """How vLLM shows a refused input: text as is, a container by its size, anything else by ``str``."""
    if isinstance(value, dict):
        return f"<dict of {len(value)} items>"
    if isinstance(value, list):
        return f"<list of {len(value)} items>"
    return str(value)


def validation_problem(errors: Sequence[FieldError]) -> Problem:
    """The 400 vLLM answers for these errors (at least one)."""
    count = len(errors)
    lines = [error.render() for error in errors[:_SHOWN]]
    if count > _SHOWN:
        lines.append(f"...and {count - _SHOWN} more errors")
    head = f"{count} validation error{'s' if count > 1 else ''}:"
    message = "\n  ".join([head, *lines])
    param = ".".join(str(part) for part in errors[0].loc)
    return Problem(400, "Bad Request", message, param=param)


def as_int(value: Any, loc: tuple[str | int, ...]) -> int | FieldError:
    """``value`` read as pydantic reads an ``int`` field in lax mode."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            if abs(value) >= _INT64:
                message = "Unable to parse input string as an integer, exceeded maximum size"
                return FieldError("int_parsing_size", loc, message, value)
            return int(value)
        return FieldError(
            "int_from_float",
            loc,
            "Input should be a valid integer, got a number with a fractional part",
            value,
        )
    if isinstance(value, str):
        if _INTEGER.fullmatch(value):
            return int(value)
        return FieldError(
            "int_parsing", loc, "Input should be a valid integer, unable to parse string as an integer", value
        )
    return FieldError("int_type", loc, "Input should be a valid integer", value)


def as_float(value: Any, loc: tuple[str | int, ...]) -> float | FieldError:
    """``value`` read as pydantic reads a ``float`` field in lax mode (``true`` is 1.0)."""
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return FieldError(
                "float_parsing",
                loc,
                "Input should be a valid number, unable to parse string as a number",
                value,
            )
    return FieldError("float_type", loc, "Input should be a valid number", value)


def as_bool(value: Any, loc: tuple[str | int, ...]) -> bool | FieldError:
    """``value`` read as pydantic reads a ``bool`` field in lax mode (``"yes"``, ``1``, ``"off"``...)."""
    if isinstance(value, bool):
        return value
    whole = isinstance(value, int) or (
        isinstance(value, float) and value.is_integer() and abs(value) < _INT64
    )
    if whole and value in (0, 1):
        return bool(value)
    if whole:  # a number, but neither 0 nor 1
        return FieldError(
            "bool_parsing", loc, "Input should be a valid boolean, unable to interpret input", value
        )
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return FieldError(
            "bool_parsing", loc, "Input should be a valid boolean, unable to interpret input", value
        )
    return FieldError("bool_type", loc, "Input should be a valid boolean", value)
