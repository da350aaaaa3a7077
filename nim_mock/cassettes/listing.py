"""``nim-mock list``: what a cassette folder holds, as a plain table a terminal or CI log shows well.

Plain text on purpose (no colours, no box drawing): it is read in CI logs and pasted into issues.
"""

from __future__ import annotations

from collections.abc import Sequence

from nim_mock.cassette import Cassette

__all__ = ["format_listing"]

_HEADINGS = ("SCENARIO", "N", "MODELS", "STREAMED", "STATUSES", "DESCRIPTION")
_DESCRIPTION_WIDTH = 60
_MODELS_WIDTH = 40


def _shorten(text: str, width: int | None) -> str:
    line = " ".join(text.split())  # one line: descriptions may wrap in the file
    return line if width is None or len(line) <= width else line[: width - 1] + "…"


def _row(cassette: Cassette, *, full: bool) -> tuple[str, ...]:
    statuses = sorted({interaction.response.status for interaction in cassette.interactions})
    return (
        cassette.name,
        str(len(cassette.interactions)),
        _shorten(", ".join(cassette.models), None if full else _MODELS_WIDTH) or "-",
        "yes" if cassette.streamed else "no",
        ",".join(str(status) for status in statuses),
        _shorten(cassette.description, None if full else _DESCRIPTION_WIDTH),
    )


def format_listing(cassettes: Sequence[Cassette], *, full: bool = False) -> str:
    """A table of scenarios (name, interactions, models, streamed, statuses, description) plus totals.

    Descriptions and model lists are cut to fit a terminal, unless ``full`` (``nim-mock list --long``).
    """
    if not cassettes:
        return "no cassettes found (a cassette is a *.json file in format v1; see cassettes/README.md)\n"
    rows = [_HEADINGS, *(_row(cassette, full=full) for cassette in cassettes)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_HEADINGS) - 1)]
    lines = [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)), row[-1]]
        ).rstrip()
        for row in rows
    ]
    interactions = sum(len(cassette.interactions) for cassette in cassettes)
    streamed = sum(1 for cassette in cassettes if cassette.streamed)
    models: dict[str, None] = {}
    for cassette in cassettes:
        for model in cassette.models:
            models.setdefault(model)
    scenario_word = "scenario" if len(cassettes) == 1 else "scenarios"
    interaction_word = "interaction" if interactions == 1 else "interactions"
    lines.append("")
    lines.append(f"{len(cassettes)} {scenario_word}, {interactions} {interaction_word}, {streamed} streamed")
    lines.append(f"models ({len(models)}): {', '.join(sorted(models)) if models else '-'}")
    return "\n".join(lines) + "\n"
