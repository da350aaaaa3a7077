"""``SynthConfig``: the settings of synthesized answers (reply rules, pace, the listed models).

Apart from ``synthesize`` so that what reads the settings without answering anything (the
``nim-mock serve`` options, whose help shows the default pace) does not load the answer engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nim_mock.synth.models import CATALOGUE
from nim_mock.synth.retrieval_models import RETRIEVAL_MODEL_IDS
from nim_mock.synth.rules import ReplyRules

__all__ = ["SynthConfig"]


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """How synthesized answers read and pace: ``rules`` for the text, then tokens/s and TTFT.

    The pace is the real-time one; the server's ``speed`` scales it like recorded timing (0 = send
    at once). ``models`` is the catalogue ``GET /v1/models`` adds to the cassettes' models: by default
    the chat catalogue, then the embedding and reranking models the stand-in answers for.
    """

    rules: ReplyRules = field(default_factory=ReplyRules)
    tokens_per_s: float = 50.0
    ttft_ms: float = 200.0
    models: tuple[str, ...] = (*CATALOGUE, *RETRIEVAL_MODEL_IDS)

    def __post_init__(self) -> None:
        if not math.isfinite(self.tokens_per_s) or self.tokens_per_s <= 0:
            raise ValueError(f"tokens_per_s must be a finite number > 0, got {self.tokens_per_s!r}")
        if not math.isfinite(self.ttft_ms) or self.ttft_ms < 0:
            raise ValueError(f"ttft_ms must be a finite number >= 0, got {self.ttft_ms!r}")
        if not self.models:
            raise ValueError("models must name at least one model (the default for requests without one)")
