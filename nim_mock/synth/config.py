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
    at once). ``models`` are the models the stand-in serves (the first answers a request without
    one; ``GET /v1/models`` lists them after the cassettes' models, a request for any other is a
    404): by default the chat catalogue, then the embedding and reranking models the stand-in
    answers for. ``max_model_len`` is their context length, in the mock's tokens.
    """

    rules: ReplyRules = field(default_factory=ReplyRules)
    tokens_per_s: float = 50.0
    ttft_ms: float = 200.0
    models: tuple[str, ...] = (*CATALOGUE, *RETRIEVAL_MODEL_IDS)
    max_model_len: int = 131072
    """Llama 3.1's context length; ``--max-model-len`` sets another, as for vLLM."""
    served_only: bool = False
    """Answer a model not in ``models`` with a 404 (``--served-model-name`` sets it; ``nim2`` always
    does, as vLLM does). Otherwise ``nim1`` and ``hosted`` stand in for any model asked for."""
    vocab_size: int = 128256
    """Llama 3's vocabulary: what ``top_logprobs: -1`` (every token) asks for."""

    def __post_init__(self) -> None:
        if not math.isfinite(self.tokens_per_s) or self.tokens_per_s <= 0:
            raise ValueError(f"tokens_per_s must be a finite number > 0, got {self.tokens_per_s!r}")
        if not math.isfinite(self.ttft_ms) or self.ttft_ms < 0:
            raise ValueError(f"ttft_ms must be a finite number >= 0, got {self.ttft_ms!r}")
        if self.vocab_size < 1:
            raise ValueError(f"vocab_size must be a positive number of tokens, got {self.vocab_size!r}")
        if self.max_model_len < 1:
            raise ValueError(f"max_model_len must be a positive number of tokens, got {self.max_model_len!r}")
        if not self.models:
            raise ValueError("models must name at least one model (the default for requests without one)")
