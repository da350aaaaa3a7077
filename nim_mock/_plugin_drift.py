"""Drift: how a live answer's shape differs from what its cassette recorded.

Mock mode is only as good as its cassettes. In live mode the plugin watches each exchange a test
makes (``_plugin_tee``) and compares it with the test's cassette, here, on what a client depends
on and a model does not vary: status, streamed or not, the JSON keys and their types, finish
reasons, tool-call names, whether a stream ends with ``[DONE]``, and the event count within a
factor of two. Text is never compared. The result is a list of sentences for the terminal summary;
drift never fails a test (the test's own assertions do that).

Pure functions only, so every rule is tested on hand-made interactions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

from nim_mock.cassette import Interaction, RecordedResponse

__all__ = ["describe_drift", "shape_of"]

_DONE: Final = b"data: [DONE]"
_MAX_LINES: Final = 12


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_of(value: Any, prefix: str = "", into: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Every path of ``value`` (list indices as ``*``) with the JSON types seen there."""
    shape = into if into is not None else {}
    if prefix:
        shape.setdefault(prefix, set()).add(_type_name(value))
    if isinstance(value, dict):
        for key, item in value.items():
            shape_of(item, f"{prefix}.{key}" if prefix else str(key), shape)
    elif isinstance(value, list):
        for item in value:
            shape_of(item, f"{prefix}.*" if prefix else "*", shape)
    return shape


def _payloads(response: RecordedResponse) -> list[Any]:
    """The JSON documents of a response: its body, or the ``data:`` JSON of each event."""
    if response.events is None:
        try:
            return [json.loads(response.body)] if response.body else []
        except ValueError:
            return []
    documents = []
    for event in response.events:
        for line in event.raw.splitlines():
            if line.startswith(b"data:") and line.strip() != _DONE:
                try:
                    documents.append(json.loads(line[5:]))
                except ValueError:
                    continue
    return documents


def _values_at(documents: Iterable[Any], *paths: tuple[str, ...]) -> set[str]:
    """Non-null scalar values found at any of ``paths`` (``*`` walks every list item)."""
    found: set[str] = set()

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if not path:
            if value is not None and not isinstance(value, (dict, list)):
                found.add(str(value))
            return
        head, rest = path[0], path[1:]
        if head == "*" and isinstance(value, list):
            for item in value:
                walk(item, rest)
        elif isinstance(value, dict) and head in value:
            walk(value[head], rest)

    for document in documents:
        for path in paths:
            walk(document, path)
    return found


_FINISH = (("choices", "*", "finish_reason"),)
_TOOLS = (
    ("choices", "*", "message", "tool_calls", "*", "function", "name"),
    ("choices", "*", "delta", "tool_calls", "*", "function", "name"),
)


def _merged_shape(documents: Iterable[Any]) -> dict[str, set[str]]:
    shape: dict[str, set[str]] = {}
    for document in documents:
        shape_of(document, "", shape)
    return shape


def _shape_lines(recorded: dict[str, set[str]], live: dict[str, set[str]]) -> list[str]:
    lines = [f"no longer sent: {path}" for path in recorded if path not in live]
    lines += [f"new field: {path} ({'/'.join(sorted(live[path]))})" for path in live if path not in recorded]
    for path in recorded.keys() & live.keys():
        if not (recorded[path] & live[path]):
            lines.append(
                f"type changed at {path}: recorded {'/'.join(sorted(recorded[path]))}, "
                f"live {'/'.join(sorted(live[path]))}"
            )
    return sorted(lines)


def _ends_with_done(response: RecordedResponse) -> bool:
    return bool(response.events) and any(e.raw.strip() == _DONE for e in response.events or ())


def _compare(recorded: RecordedResponse, live: RecordedResponse) -> list[str]:
    if recorded.status != live.status:
        return [f"status: recorded {recorded.status}, live {live.status}"]
    if recorded.streamed != live.streamed:
        kinds = {True: "a stream", False: "one body"}
        return [f"recorded {kinds[recorded.streamed]}, live sent {kinds[live.streamed]}"]
    lines: list[str] = []
    old, new = _payloads(recorded), _payloads(live)
    for label, paths in (("finish reasons", _FINISH), ("tool calls", _TOOLS)):
        before, after = _values_at(old, *paths), _values_at(new, *paths)
        if before != after:
            lines.append(f"{label}: recorded {sorted(before)}, live {sorted(after)}")
    if recorded.events is not None and live.events is not None:
        if _ends_with_done(recorded) != _ends_with_done(live):
            lines.append(
                f"stream ends with [DONE]: recorded {_ends_with_done(recorded)}, live {_ends_with_done(live)}"
            )
        count_old, count_new = len(recorded.events), len(live.events)
        if not (count_old / 2 <= count_new <= count_old * 2):
            lines.append(f"event count: recorded {count_old}, live {count_new} (outside half to double)")
    return lines + _shape_lines(_merged_shape(old), _merged_shape(new))


def describe_drift(recorded: Sequence[Interaction], live: Sequence[Interaction]) -> list[str]:
    """Sentences describing how ``live`` exchanges differ in shape from ``recorded`` ones."""
    lines: list[str] = []
    if not recorded:
        return lines
    # Compared in order and cyclically, as the mock replays them: how many exchanges a test makes
    # is the test's business (tests may share a cassette), not the server's.
    pairs = [(recorded[index % len(recorded)], new) for index, new in enumerate(live)]
    for index, (old, new) in enumerate(pairs, start=1):
        where = f"#{index} {new.request.method} {new.request.path}"
        if (old.request.method, old.request.path) != (new.request.method, new.request.path):
            lines.append(f"{where}: recorded {old.request.method} {old.request.path} at this position")
            continue
        lines.extend(f"{where}: {line}" for line in _compare(old.response, new.response))
    if len(lines) > _MAX_LINES:
        lines = [*lines[:_MAX_LINES], f"... and {len(lines) - _MAX_LINES} more"]
    return lines
