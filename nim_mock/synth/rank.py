"""Answering ``POST /v1/ranking`` no cassette matches: NIM's checks, then term-overlap logits.

The request is read as NeMo Retriever's reranking NIM reads it: ``model`` (one of
:data:`~nim_mock.synth.retrieval_models.RANKING_MODELS`), ``query`` ``{"text": ...}``, ``passages``
(a non-empty list of ``{"text": ...}``, other keys such as ``image`` ignored, at most the model's
``max_passages``) and ``truncate`` (``NONE``, default: a query and passage over the model's token
limit together is a 400; ``END``: the pair is cut to the limit from its end).

The answer is ``{"rankings":[{"index","logit"}]}``, every passage once, sorted by logit from the
most relevant down (equal logits keep the passages' order). The relevance of a passage is BM25's
per-term score without corpus statistics: for each distinct query word (``\\w+``, case-folded, the
English function words of :data:`STOP_WORDS` left out, as an IDF would nearly zero them) that the
passage holds ``tf`` times, ``tf·(k1+1) / (tf + k1·(1 - b + b·len/avg))`` with ``k1 = 1.2``,
``b = 0.75`` and a fixed average passage length of 100 words, averaged over the query's words. Using
no statistics of the other passages means a pair scores the same in any batch, as a cross-encoder's
does, so a client that splits passages into batches and merges them ranks like one request. The
score ``r`` becomes a probability ``p = 0.001 + 0.998·(1 - e^(-2r))`` and the logit is
``ln(p / (1 - p))``: about -6.9 for a passage with no query word, positive for a good match.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from nim_mock.cassette import RecordedResponse
from nim_mock.cassettes.canonical import a_json_type
from nim_mock.synth.retrieval_fields import choice, known_model, synthesized_json, too_long, truncated
from nim_mock.synth.retrieval_models import RANKING_MODELS
from nim_mock.synth.tokens import count_tokens
from nim_mock.wire.errors import Problem, bad_request

__all__ = ["STOP_WORDS", "relevance_logit", "synthesize_ranking"]

_WORD = re.compile(r"\w+")
_K1 = 1.2
_B = 0.75
_AVERAGE_WORDS = 100.0
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "do",
        "does",
        "for",
        "from",
        "how",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "with",
    ]
)
"""Words that say nothing about relevance; a query made only of them scores by them after all."""


def synthesize_ranking(body: dict[str, Any]) -> RecordedResponse | Problem:
    """NIM's answer to a ranking request (a JSON object already), or the error it gives."""
    model = known_model(body, RANKING_MODELS, "ranking")
    if isinstance(model, Problem):
        return model
    query = _text_of(body.get("query"), "query")
    if isinstance(query, Problem):
        return query
    passages = _passages(body, model.max_passages)
    if isinstance(passages, Problem):
        return passages
    truncate = choice(body, "truncate", ("NONE", "END"), "NONE")
    if isinstance(truncate, Problem):
        return truncate
    query_tokens = count_tokens(query)
    scored: list[tuple[float, int]] = []
    for index, passage in enumerate(passages):
        if truncate == "NONE":
            length = query_tokens + count_tokens(passage)
            if length > model.max_tokens:
                return too_long(length, model.max_tokens)
            pair_query, pair_passage = query, passage
        else:
            pair_query, kept = truncated(query, model.max_tokens, "END")
            pair_passage, _ = truncated(passage, model.max_tokens - kept, "END")
        scored.append((relevance_logit(pair_query, pair_passage), index))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return synthesized_json({"rankings": [{"index": index, "logit": logit} for logit, index in scored]})


def relevance_logit(query: str, passage: str) -> float:
    """The stand-in reranker's logit for one query/passage pair (see the module docstring)."""
    words_of_query = set(_WORD.findall(query.casefold()))
    terms = (words_of_query - STOP_WORDS) or words_of_query
    words = _WORD.findall(passage.casefold())
    score = 0.0
    if terms and words:
        counts = Counter(words)
        norm = _K1 * (1 - _B + _B * len(words) / _AVERAGE_WORDS)
        score = sum(counts[t] * (_K1 + 1) / (counts[t] + norm) for t in terms if t in counts) / len(terms)
    probability = 0.001 + 0.998 * (1 - math.exp(-2 * score))
    return round(math.log(probability / (1 - probability)), 6)


def _text_of(value: Any, where: str) -> str | Problem:
    if value is None:
        return bad_request(f"Field required: '{where}' (an object {{\"text\": ...}}).")
    if not isinstance(value, dict):
        return bad_request(f"'{where}' must be an object {{\"text\": ...}}, got {a_json_type(value)}.")
    text = value.get("text")
    if not isinstance(text, str):
        shown = "missing" if text is None else a_json_type(text)
        return bad_request(f"'{where}.text' must be a string, got {shown}.")
    return text


def _passages(body: dict[str, Any], limit: int) -> list[str] | Problem:
    value = body.get("passages")
    if value is None:
        return bad_request("Field required: 'passages' (a list of objects {\"text\": ...} to rank).")
    if not isinstance(value, list):
        return bad_request(
            f"'passages' must be a list of objects {{\"text\": ...}}, got {a_json_type(value)}."
        )
    if not value:
        return bad_request("'passages' must contain at least one passage to rank.")
    if len(value) > limit:
        return bad_request(
            f"{len(value)} passages exceed the maximum of {limit} per request. "
            "Send fewer passages per request."
        )
    texts: list[str] = []
    for index, item in enumerate(value):
        text = _text_of(item, f"passages.{index}")
        if isinstance(text, Problem):
            return text
        texts.append(text)
    return texts
