"""Playback bookkeeping: which of a cassette's interactions a test never asked for.

vcrpy plays each recorded interaction once and can tell which were never played
(``cassette.all_played``); a cassette whose interactions go unplayed usually means the code under
test stopped making a call it used to make, or the cassette holds leftovers of an older version of
the test. The plugin lists them at the end of the session, or fails the test
(``--nim-harness-unplayed=fail``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nim_mock.serve.match import Matcher

__all__ = ["unplayed_lines"]


def unplayed_lines(matcher: Matcher) -> list[str]:
    """One line per interaction no request was answered with: cassette, position, method, path, model."""
    lines = []
    for cassette, index in matcher.unplayed():
        request = cassette.interactions[index].request
        details = [f"model {request.model}"] if request.model else []
        if request.wants_stream:
            details.append("streamed")
        suffix = f" ({', '.join(details)})" if details else ""
        lines.append(f"{cassette.name} #{index + 1}: {request.method} {request.path}{suffix}")
    return lines
