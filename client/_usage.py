"""Token usage from the wire to LangChain's ``UsageMetadata``, with streamed totals turned into steps.

Servers report usage in a stream in three ways: once in a trailing chunk with no choices (vLLM
and NIM with ``stream_options.include_usage``), inside the finish chunk (``transformers serve``),
or as running totals on every chunk (vLLM ``continuous_usage_stats``). LangChain *adds* the
``usage_metadata`` of the chunks it merges, so every report is treated as a running total and
only the growth since the previous one is emitted. The streamed sum then always equals the last
total, whichever way the server reported it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata

Counts = dict[str, int]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def counts_of(usage: Mapping[str, Any]) -> Counts:
    """Flatten a wire ``usage`` object to the counters we keep (absent details are left out)."""
    counts = {
        "input": _int(usage.get("prompt_tokens")),
        "output": _int(usage.get("completion_tokens")),
    }
    total = usage.get("total_tokens")
    counts["total"] = _int(total) if total is not None else counts["input"] + counts["output"]
    prompt_details = usage.get("prompt_tokens_details")
    if isinstance(prompt_details, Mapping) and prompt_details.get("cached_tokens") is not None:
        counts["cache_read"] = _int(prompt_details.get("cached_tokens"))
    completion_details = usage.get("completion_tokens_details")
    if isinstance(completion_details, Mapping) and completion_details.get("reasoning_tokens") is not None:
        counts["reasoning"] = _int(completion_details.get("reasoning_tokens"))
    return counts


def to_metadata(counts: Counts) -> UsageMetadata:
    metadata = UsageMetadata(
        input_tokens=counts["input"], output_tokens=counts["output"], total_tokens=counts["total"]
    )
    if "cache_read" in counts:
        metadata["input_token_details"] = InputTokenDetails(cache_read=counts["cache_read"])
    if "reasoning" in counts:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=counts["reasoning"])
    return metadata


def growth(current: Counts, previous: Counts) -> Counts:
    """What ``current`` adds to ``previous``; a detail only present now counts from zero."""
    return {key: value - previous.get(key, 0) for key, value in current.items()}
