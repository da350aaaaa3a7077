"""Drift: has the real API moved away from what a cassette recorded? Compare shapes, never wording.

A live model samples, so its text, ids, timestamps and exact event count change on every call; a
cassette is still right as long as the *contract* holds. ``compare_shape`` therefore reduces each
response to what a client relies on and lists the differences, one sentence each:

- the HTTP status, and whether the body is a stream of events or a single body;
- the JSON layout: every key path (list items collapsed to ``[]``) with its value types, over the
  body or over all ``data:`` events of a stream together. Values are never compared, only their
  types (``int`` and ``float`` are both "number"), and ``id``/``created``/``system_fingerprint``
  are left out entirely because servers add or drop them freely;
- the finish reasons, the tool calls (names and the key sets of their parsed arguments, assembled
  from stream fragments), whether usage is reported, whether the stream ends with ``[DONE]``;
- the number of events, only when the live count falls outside a generous range (0.25x-4x of the
  recorded count): token counts vary with sampling, a tenfold change means a different framing;
- for embeddings and rankings, the values a retrieval index depends on (vector dimension, cosine
  similarity for the same texts, passage order): see ``drift_retrieval``.

Pure: two ``Interaction`` objects in, a list of strings out (empty = no drift). Live mode builds the
live ``Interaction`` with the same recorder as record mode (``tee``) and :func:`describe_drift`
pairs a test's exchanges with its cassette the way the mock would replay them, labels each
sentence with the exchange it is about, and keeps the terminal summary short. Drift never fails a
test (the test's own assertions do that).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from nim_harness.sse import SSEDecoder

from nim_mock.cassette import Interaction, RecordedResponse
from nim_mock.cassettes.canonical import json_type
from nim_mock.plugin.drift_retrieval import retrieval_differences

__all__ = ["EVENT_COUNT_RANGE", "VOLATILE_KEYS", "Shape", "compare_shape", "describe_drift", "shape_of"]

VOLATILE_KEYS: Final = frozenset({"id", "created", "system_fingerprint"})
"""Keys left out of the layout comparison: per-call values whose presence also varies by server."""

EVENT_COUNT_RANGE: Final = (0.25, 4.0)
"""The live event count may be this many times the recorded one (inclusive) without being drift."""

_DONE: Final = "[DONE]"
_MAX_LINES: Final = 12


@dataclass
class Shape:
    """What a response looks like to a client, with every value-level detail dropped."""

    status: int
    streamed: bool
    layout: dict[str, set[str]] = field(default_factory=dict)
    """JSON key path (``choices[].delta.content``) -> the value types seen there."""
    finish_reasons: set[str] = field(default_factory=set)
    tool_calls: list[str] = field(default_factory=list)
    """One ``name(key, key)`` per call, sorted; ``name(<unparsable arguments>)`` when they are not JSON."""
    usage: bool = False
    events: int = 0
    done: bool = False
    unparsable: int = 0
    """``data:`` payloads that are neither JSON nor ``[DONE]``."""
    json_body: bool = False


def _walk(value: object, path: str, layout: dict[str, set[str]]) -> None:
    layout.setdefault(path or "$", set()).add(json_type(value))
    if isinstance(value, dict):
        for key, item in value.items():
            if key in VOLATILE_KEYS:
                continue
            _walk(item, f"{path}.{key}" if path else key, layout)
    elif isinstance(value, list):
        for item in value:
            _walk(item, f"{path}[]", layout)


def _indexed(items: object) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of a JSON array with their ``index`` field (their position where it is missing or
    not an integer): choices and tool-call fragments are matched up by it across stream events."""
    if not isinstance(items, list):
        return
    for position, item in enumerate(items):
        if isinstance(item, dict):
            index = item.get("index", position)
            yield (index if isinstance(index, int) else position), item


class _ToolCalls:
    """Assembles tool calls from whole messages or stream fragments (name once, arguments in pieces)."""

    def __init__(self) -> None:
        self._calls: dict[tuple[int, int], list[str]] = {}  # (choice, call index) -> [name, arguments]

    def add(self, choice: int, calls: object) -> None:
        for index, call in _indexed(calls):
            slot = self._calls.setdefault((choice, index), ["", ""])
            function = call.get("function")
            if isinstance(function, dict):
                if isinstance(function.get("name"), str) and function["name"]:
                    slot[0] = function["name"]
                if isinstance(function.get("arguments"), str):
                    slot[1] += function["arguments"]
                elif isinstance(function.get("arguments"), dict):  # a few servers send an object
                    slot[1] += json.dumps(function["arguments"])

    def summary(self) -> list[str]:
        out: list[str] = []
        for name, arguments in self._calls.values():
            try:
                parsed = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                out.append(f"{name or '?'}(<unparsable arguments>)")
                continue
            keys = ", ".join(sorted(parsed)) if isinstance(parsed, dict) else f"<{json_type(parsed)}>"
            out.append(f"{name or '?'}({keys})")
        return sorted(out)


def _read_payload(shape: Shape, payload: object, calls: _ToolCalls) -> None:
    _walk(payload, "", shape.layout)
    if not isinstance(payload, dict):
        return
    if isinstance(payload.get("usage"), dict):
        shape.usage = True
    for index, choice in _indexed(payload.get("choices")):
        if isinstance(choice.get("finish_reason"), str):
            shape.finish_reasons.add(choice["finish_reason"])
        for part in ("message", "delta"):
            message = choice.get(part)
            if isinstance(message, dict):
                calls.add(index, message.get("tool_calls"))


def _events_data(response: RecordedResponse) -> Iterable[str]:
    decoder = SSEDecoder()
    for event in response.events or ():
        for decoded in decoder.feed(event.raw):
            yield decoded.data
    for decoded in decoder.flush():
        yield decoded.data


def shape_of(response: RecordedResponse) -> Shape:
    """The shape of one recorded or live response."""
    shape = Shape(status=response.status, streamed=response.streamed)
    calls = _ToolCalls()
    if response.streamed:
        shape.events = len(response.events or ())
        for data in _events_data(response):
            if data.strip() == _DONE:
                shape.done = True
                continue
            try:
                payload = json.loads(data)
            except ValueError:
                shape.unparsable += 1
                continue
            _read_payload(shape, payload, calls)
    elif response.body:
        try:
            payload = json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            pass
        else:
            shape.json_body = True
            _read_payload(shape, payload, calls)
    shape.tool_calls = calls.summary()
    return shape


def _types(types: set[str]) -> str:
    return "|".join(sorted(types))


def _layout_differences(recorded: dict[str, set[str]], live: dict[str, set[str]]) -> list[str]:
    out: list[str] = []
    for path in sorted(recorded.keys() | live.keys()):
        if path not in live:
            out.append(f"keys: `{path}` ({_types(recorded[path])}) was recorded but is missing live")
        elif path not in recorded:
            out.append(f"keys: `{path}` ({_types(live[path])}) is new live, not in the recording")
        elif recorded[path] != live[path]:
            out.append(
                f"types: `{path}` was recorded as {_types(recorded[path])}, live it is {_types(live[path])}"
            )
    return out


def _listed(items: Iterable[str]) -> str:
    values = list(items)
    return ", ".join(values) if values else "none"


def _event_count_difference(recorded: int, live: int) -> str | None:
    low, high = EVENT_COUNT_RANGE
    if recorded == 0 and live == 0:
        return None
    if recorded and low * recorded <= live <= high * recorded:
        return None
    return f"events: recorded {recorded}, live {live} (outside {low:g}x-{high:g}x of the recording)"


def compare_shape(recorded: Interaction, live: Interaction) -> list[str]:
    """How ``live``'s response differs in shape from ``recorded``'s; an empty list when it does not.

    Each entry is one sentence starting with what differs (``status:``, ``body:``, ``keys:``,
    ``types:``, ``finish_reason:``, ``tool calls:``, ``usage:``, ``events:``, ``[DONE]:``,
    ``data:``, ``embeddings:``, ``rankings:``), so a terminal summary can print them as they are.
    """
    old, new = shape_of(recorded.response), shape_of(live.response)
    out: list[str] = []
    if old.status != new.status:
        out.append(f"status: recorded {old.status}, live {new.status}")
    if old.streamed != new.streamed:
        kinds = {True: "a stream of events", False: "a single body"}
        out.append(f"body: recorded {kinds[old.streamed]}, live {kinds[new.streamed]}")
    elif not old.streamed and old.json_body != new.json_body:
        kinds = {True: "a JSON body", False: "a body that is not JSON"}
        out.append(f"body: recorded {kinds[old.json_body]}, live {kinds[new.json_body]}")
    out.extend(_layout_differences(old.layout, new.layout))
    if old.finish_reasons != new.finish_reasons:
        out.append(
            f"finish_reason: recorded {_listed(sorted(old.finish_reasons))}, "
            f"live {_listed(sorted(new.finish_reasons))}"
        )
    if old.tool_calls != new.tool_calls:
        out.append(f"tool calls: recorded {_listed(old.tool_calls)}, live {_listed(new.tool_calls)}")
    if old.usage != new.usage:
        presence = {True: "present", False: "absent"}
        out.append(f"usage: recorded {presence[old.usage]}, live {presence[new.usage]}")
    if old.streamed and new.streamed:
        count = _event_count_difference(old.events, new.events)
        if count is not None:
            out.append(count)
        if old.done != new.done:
            out.append(
                "[DONE]: recorded stream ends with data: [DONE], live does not"
                if old.done
                else "[DONE]: live stream ends with data: [DONE], the recording does not"
            )
        if (old.unparsable == 0) != (new.unparsable == 0):
            out.append(
                f"data: recorded {old.unparsable} event(s) neither JSON nor [DONE], live {new.unparsable}"
            )
    out.extend(retrieval_differences(recorded, live))
    return out


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
        lines.extend(f"{where}: {line}" for line in compare_shape(old, new))
    if len(lines) > _MAX_LINES:
        lines = [*lines[:_MAX_LINES], f"... and {len(lines) - _MAX_LINES} more"]
    return lines
