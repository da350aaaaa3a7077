"""The ``nim-mock serve`` options for synthesizing on a miss, kept apart so ``cli`` only wires them.

--on-miss error|synthesize   what a chat, completions, embeddings or ranking request no cassette
                             matches gets
--rules FILE                 JSON rules file for synthesized replies (see ``rules``)
--tokens-per-s N             pace of synthesized streams (default 50; scaled by --speed)
--ttft-ms MS                 time to the first synthesized token (default 200; scaled by --speed)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal

from nim_mock._cli_args import finite_number
from nim_mock.synth.config import SynthConfig

__all__ = ["add_synth_options", "synth_from_args"]

_DEFAULTS = SynthConfig()


_positive = finite_number(above_zero=True)
_non_negative = finite_number("number of milliseconds")


def add_synth_options(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group("synthesizing on a miss")
    group.add_argument(
        "--on-miss",
        choices=("error", "synthesize"),
        default="error",
        help="a chat, completions, embeddings or ranking request no cassette matches gets a 404 naming "
        "the nearest recording (error, default) or a made-up NIM answer marked x-nim-mock-synthesized: 1 "
        "(synthesize)",
    )
    group.add_argument(
        "--rules",
        type=Path,
        default=None,
        metavar="FILE",
        help='JSON rules for synthesized replies: {"rules": [{"match": REGEX, "reply": TEXT}], '
        '"default": TEXT}; needs --on-miss synthesize',
    )
    group.add_argument(
        "--tokens-per-s",
        type=_positive,
        default=_DEFAULTS.tokens_per_s,
        metavar="N",
        help=f"synthesized stream pace at --speed 1 (default {_DEFAULTS.tokens_per_s:g})",
    )
    group.add_argument(
        "--ttft-ms",
        type=_non_negative,
        default=_DEFAULTS.ttft_ms,
        metavar="MS",
        help=f"time to the first synthesized token at --speed 1 (default {_DEFAULTS.ttft_ms:g})",
    )


def synth_from_args(args: argparse.Namespace) -> tuple[Literal["error", "synthesize"], SynthConfig | None]:
    """(on_miss, synth settings) for ``create_app``; raises ``ReplyRulesError`` or ``ValueError``."""
    if args.on_miss == "error":
        if args.rules is not None:
            raise ValueError("--rules only applies with --on-miss synthesize")
        return "error", None
    from nim_mock.synth.rules import ReplyRules, load_reply_rules

    rules = load_reply_rules(args.rules) if args.rules is not None else ReplyRules()
    return "synthesize", SynthConfig(rules=rules, tokens_per_s=args.tokens_per_s, ttft_ms=args.ttft_ms)
