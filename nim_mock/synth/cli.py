"""The ``nim-mock serve`` options for synthesizing on a miss, kept apart so ``cli`` only wires them.

--on-miss error|synthesize   what a chat, completions, embeddings or ranking request no cassette
                             matches gets
--rules FILE                 JSON rules file for synthesized replies (see ``rules``)
--tokens-per-s N             pace of synthesized streams (default 50; scaled by --speed)
--ttft-ms MS                 time to the first synthesized token (default 200; scaled by --speed)
--served-model-name NAME...  the models the stand-in serves (default: the catalogue's); others get 404
--max-model-len N            their context length in the mock's tokens (default 131072)
--vocab-size N               their vocabulary, for top_logprobs -1 (default 128256)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal

from nim_mock._cli_args import finite_number, positive_tokens
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
        help='JSON rules for synthesized replies: {"rules": [{"match": REGEX, "reply": TEXT} or '
        '{"match": REGEX, "tool": NAME, "arguments": {...}}], "default": TEXT}; needs --on-miss synthesize',
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
    _add_served_options(group)


def _add_served_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--served-model-name",
        nargs="+",
        default=None,
        metavar="NAME",
        help="the models the stand-in serves, as vLLM's option names them: listed by /v1/models, the "
        "first answers a request without a model, any other gets 404 (default: NVIDIA's catalogue)",
    )
    for flag, default, text in (
        ("--max-model-len", _DEFAULTS.max_model_len, "their context length in the mock's tokens; a longer "
         "prompt or max_tokens gets vLLM's 400"),
        ("--vocab-size", _DEFAULTS.vocab_size, "their vocabulary (Llama 3's by default): what "
         "top_logprobs -1 asks for"),
    ):  # fmt: skip
        group.add_argument(
            flag, type=positive_tokens, default=default, metavar="N", help=f"{text} (default {default})"
        )


def synth_from_args(args: argparse.Namespace) -> tuple[Literal["error", "synthesize"], SynthConfig | None]:
    """(on_miss, synth settings) for ``create_app``; raises ``ReplyRulesError`` or ``ValueError``."""
    if args.on_miss == "error":
        if args.rules is not None:
            raise ValueError("--rules only applies with --on-miss synthesize")
        if args.served_model_name is not None:
            raise ValueError("--served-model-name only applies with --on-miss synthesize")
        return "error", None
    from nim_mock.synth.rules import ReplyRules, load_reply_rules

    rules = load_reply_rules(args.rules) if args.rules is not None else ReplyRules()
    served = tuple(dict.fromkeys(args.served_model_name)) if args.served_model_name else _DEFAULTS.models
    return "synthesize", SynthConfig(
        rules=rules,
        tokens_per_s=args.tokens_per_s,
        ttft_ms=args.ttft_ms,
        models=served,
        served_only=args.served_model_name is not None,
        max_model_len=args.max_model_len,
        vocab_size=args.vocab_size,
    )
