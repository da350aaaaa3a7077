"""The ``nim-mock serve`` options for fault injection, kept apart so ``cli`` only wires them.

--faults FILE   JSON fault rules (format in ``rules`` and docs/faults.md)
--seed N        seed for ``probability`` rules and NVCF request ids (overrides the file's ``seed``)

A request's ``x-nim-mock-fault`` header works with or without these options.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from nim_mock.faults.kinds import HEADER_SYNTAX

if TYPE_CHECKING:  # the rest is for running the server, not for building its --help
    import logging

    from nim_mock.faults.kinds import FaultRules

__all__ = ["CUT_LOG_FILTER", "add_fault_options", "fault_summary", "faults_from_args"]


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def add_fault_options(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group("fault injection")
    group.add_argument(
        "--faults",
        type=Path,
        default=None,
        metavar="FILE",
        help='JSON fault rules: {"seed": N, "rules": [{"match": {...}, "when": {"every": N}, '
        '"fault": {"kind": "rate_limit", "retry_after": 1}}]} (see docs/faults.md); '
        f"per request, the x-nim-mock-fault header reads {HEADER_SYNTAX}",
    )
    group.add_argument(
        "--seed",
        type=_seed,
        default=None,
        metavar="N",
        help="seed for probability rules and NVCF request ids (default: the file's seed, else 0)",
    )


def faults_from_args(args: argparse.Namespace) -> FaultRules | None:
    """The rules for ``create_app``; raises ``FaultRulesError`` (a ``ValueError``) naming file and field."""
    import dataclasses

    from nim_mock.faults.kinds import FaultRules
    from nim_mock.faults.rules import load_fault_rules

    rules: FaultRules | None = None
    if args.faults is not None:
        rules = load_fault_rules(args.faults)
    if args.seed is not None:
        rules = dataclasses.replace(rules or FaultRules(), seed=args.seed)
    return rules


def fault_summary(rules: FaultRules | None) -> str:
    """The announce line's note about faults (empty without rules)."""
    if rules is None or not rules.rules:
        return ""
    n = len(rules.rules)
    return f", {n} fault rule{'s' if n != 1 else ''} (seed {rules.seed})"


def _not_a_cut(record: logging.LogRecord) -> bool:
    """Drop uvicorn's complaint about a response left unfinished: that is how a ``cut`` fault drops
    the connection, and the request's own log line already names the fault."""
    return record.getMessage() != "ASGI callable returned without completing response."


CUT_LOG_FILTER = _not_a_cut
