"""Argument types shared by the ``nim-mock`` subcommands and their option groups.

argparse shows an ``ArgumentTypeError``'s text after the option name and exits 2, so each type's
message is the whole explanation the user gets; one factory keeps the wording the same everywhere.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["finite_number", "port"]


def finite_number(
    noun: str = "number", *, above_zero: bool = False, note: str = ""
) -> Callable[[str], float]:
    """An argparse type: a finite float >= 0 (or > 0 with ``above_zero``), errors reading
    ``'x' is not a <noun><note>`` and ``'x' must be a finite <noun> >= 0<note>``."""
    bound = "> 0" if above_zero else ">= 0"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {noun}{note}") from None
        if not math.isfinite(value) or value < 0 or (above_zero and value == 0):
            raise argparse.ArgumentTypeError(f"{text!r} must be a finite {noun} {bound}{note}")
        return value

    return parse


def port(text: str) -> int:
    """An argparse type: a TCP port, 0 meaning any free one."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535; 0 = any free port)")
    return value


def at_least_one(what: str, unit: str) -> Callable[[str], int]:
    """An argparse type: a whole number of ``what`` (plural), at least one ``unit``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of {what}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: give at least 1 {unit}")
        return value

    return parse


positive_tokens = at_least_one("tokens", "token")
"""A context length or vocabulary size."""
