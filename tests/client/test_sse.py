"""The SSE decoder against the WHATWG spec, its examples, and arbitrary chunkings of valid streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from nim_harness import sse
from nim_harness.sse import ServerSentEvent, SSEDecoder, aiter_events, iter_events


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    return list(iter_events(chunks))


# --- the spec's own examples (html.spec.whatwg.org, "Server-sent events", 9.2.7) -------------


def test_spec_example_multiline_data_joined_with_lf() -> None:
    assert decode(b"data: YHOO\ndata: +2\ndata: 10\n\n") == [ServerSentEvent("YHOO\n+2\n10")]


def test_spec_example_comment_and_ids_carry_over() -> None:
    stream = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"
    assert decode(stream) == [
        ServerSentEvent("first event", id="1"),
        ServerSentEvent("second event", id=""),
        ServerSentEvent(" third event", id=""),
    ]


def test_spec_example_empty_data_fields() -> None:
    # The spec discards the final "data:" (no blank line after it); flush dispatches it on purpose.
    decoder = SSEDecoder()
    assert decoder.feed(b"data\n\ndata\ndata\n\ndata:") == [ServerSentEvent(""), ServerSentEvent("\n")]
    assert decoder.pending
    assert decoder.flush() == [ServerSentEvent("")]
    assert not decoder.pending


def test_spec_example_one_space_removed_at_most() -> None:
    assert decode(b"data:test\n\ndata: test\n\ndata:  test\n\n") == [
        ServerSentEvent("test"),
        ServerSentEvent("test"),
        ServerSentEvent(" test"),
    ]


# --- fields ---------------------------------------------------------------------------------


def test_event_type_id_and_retry_fields() -> None:
    events = decode(b"event: delta\nid: 7\nretry: 1500\ndata: x\n\ndata: y\n\n")
    assert events == [
        ServerSentEvent("x", event="delta", id="7", retry=1500),
        ServerSentEvent("y", event="message", id="7", retry=None),
    ]


@pytest.mark.parametrize("value", ["3s", "", "  10", "1.5", "-1", "²", "1 0"])
def test_retry_that_is_not_ascii_digits_is_ignored(value: str) -> None:
    assert decode(f"retry:{value}\ndata: x\n\n".encode()) == [ServerSentEvent("x")]


def test_id_with_null_is_ignored() -> None:
    assert decode(b"id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n") == [
        ServerSentEvent("a", id="1"),
        ServerSentEvent("b", id="1"),
    ]


def test_unknown_fields_and_field_without_colon_are_ignored() -> None:
    assert decode(b"foo: bar\nDATA: shout\nevent\ndata: kept\n\n") == [ServerSentEvent("kept")]


def test_event_without_data_is_not_dispatched_and_its_type_does_not_leak() -> None:
    assert decode(b"event: ping\n\ndata: x\n\n") == [ServerSentEvent("x", event="message")]
    assert SSEDecoder().feed(b"event: ping\n\n") == []


def test_colon_in_value_is_kept() -> None:
    assert decode(b'data: {"a": "b:c"}\n\n') == [ServerSentEvent('{"a": "b:c"}')]


# --- line ends, BOM, encoding -------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_each_line_end_works(eol: bytes) -> None:
    stream = b"data: a" + eol + b"data: b" + eol + eol + b"data: c" + eol + eol
    assert decode(stream) == [ServerSentEvent("a\nb"), ServerSentEvent("c")]


def test_cr_at_chunk_end_then_lf_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []  # the LF completes the CRLF; it is not a blank line
    assert decoder.feed(b"\r\n") == [ServerSentEvent("a")]


def test_cr_at_chunk_end_then_cr_is_a_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\r") == [ServerSentEvent("a")]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c"])
def test_unicode_line_separators_stay_inside_the_line(char: str) -> None:
    data = f'{{"content":"a{char}b"}}'
    assert decode(f"data: {data}\n\n".encode()) == [ServerSentEvent(data)]


def test_leading_bom_stripped_once_even_when_split() -> None:
    assert decode(b"\xef", b"\xbb", b"\xbfdata: a\n\n") == [ServerSentEvent("a")]
    # A second BOM is content: it becomes part of the field name, so the line is ignored.
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n") == [ServerSentEvent("b")]


def test_bom_is_not_stripped_after_the_start() -> None:
    assert decode(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == [ServerSentEvent("a")]


def test_multibyte_utf8_split_across_chunks() -> None:
    raw = "data: héllo ✓ 😀\n\n".encode()
    chunks = [raw[i : i + 1] for i in range(len(raw))]
    assert decode(*chunks) == [ServerSentEvent("héllo ✓ 😀")]


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert decode(b"data: a\xffb\n\n") == [ServerSentEvent("a\ufffdb")]


def test_truncated_utf8_at_end_is_replaced_on_flush() -> None:
    assert decode(b"data: a\xe2\x82") == [ServerSentEvent("a\ufffd")]


def test_flush_dispatches_event_when_server_closes_without_blank_line() -> None:
    assert decode(b'data: {"a":1}\n\ndata: {"b":2}\n') == [
        ServerSentEvent('{"a":1}'),
        ServerSentEvent('{"b":2}'),
    ]


def test_decoder_is_reusable_after_flush() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 5\ndata: a")
    assert decoder.flush() == [ServerSentEvent("a", id="5")]
    assert decoder.feed(b"\xef\xbb\xbfdata: b\n\n") == [ServerSentEvent("b", id="5")]
    assert decoder.last_event_id == "5"


def test_long_line_in_tiny_chunks() -> None:
    payload = "x" * 20_000
    raw = f"data: {payload}\n\n".encode()
    assert decode(*(raw[i : i + 7] for i in range(0, len(raw), 7))) == [ServerSentEvent(payload)]


def test_public_names() -> None:
    assert sorted(sse.__all__) == ["SSEDecoder", "ServerSentEvent", "aiter_events", "iter_events"]


async def test_aiter_events_matches_iter_events() -> None:
    raw = [b"data: a\r", b"\ndata: b\r\n\r\n", b"event: e\ndata: c"]

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in raw:
            await asyncio.sleep(0)
            yield chunk

    assert [event async for event in aiter_events(chunks())] == list(iter_events(raw))


# --- properties ---------------------------------------------------------------------------

_line_text = st.text(
    alphabet=st.characters(exclude_characters="\r\n\x00", exclude_categories=["Cs"]), max_size=12
)
_event_model = st.tuples(
    st.one_of(st.none(), st.text(alphabet="abcxyz_", min_size=1, max_size=6)),  # event type
    st.lists(_line_text, min_size=1, max_size=3),  # data lines
    st.one_of(st.none(), _line_text),  # id
    st.booleans(),  # a comment line before the event
)
_streams = st.lists(_event_model, max_size=6)


def _encode(events: list[tuple[str | None, list[str], str | None, bool]], eols: list[str]) -> bytes:
    """Render the model with line ends drawn from ``eols`` (cycled), never a CR then a lone LF."""
    lines: list[str] = []
    for kind, data_lines, event_id, comment in events:
        if comment:
            lines.append(": keep-alive")
        if kind is not None:
            lines.append(f"event: {kind}")
        if event_id is not None:
            lines.append(f"id: {event_id}")
        lines.extend(f"data: {line}" for line in data_lines)
        lines.append("")
    out: list[str] = []
    previous = ""
    for index, line in enumerate(lines):
        eol = eols[index % len(eols)]
        if previous == "\r" and eol == "\n":
            eol = "\r\n"  # a CR followed by an LF line end would be read as one CRLF
        out.append(line + eol)
        previous = eol
    return "".join(out).encode()


def _expected(events: list[tuple[str | None, list[str], str | None, bool]]) -> list[ServerSentEvent]:
    result = []
    last_id: str | None = None
    for kind, data_lines, event_id, _comment in events:
        if event_id is not None:
            last_id = event_id
        result.append(ServerSentEvent("\n".join(data_lines), event=kind or "message", id=last_id))
    return result


def _split(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(raw)) for cut in cuts})
    pieces, start = [], 0
    for point in [*points, len(raw)]:
        pieces.append(raw[start:point])
        start = point
    return pieces


@settings(max_examples=150)
@given(
    events=_streams,
    eol=st.sampled_from(["\n", "\r", "\r\n"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    bom=st.booleans(),
)
def test_any_split_of_a_valid_stream_decodes_to_the_same_events(
    events: list[tuple[str | None, list[str], str | None, bool]], eol: str, cuts: list[int], bom: bool
) -> None:
    raw = (b"\xef\xbb\xbf" if bom else b"") + _encode(events, [eol])
    decoder = SSEDecoder()
    incremental = [event for piece in _split(raw, cuts) for event in decoder.feed(piece)]
    assert not decoder.pending  # every event of a well-formed stream ends with its blank line
    assert incremental == decode(raw) == _expected(events)
    assert decoder.flush() == []


@settings(max_examples=100)
@given(events=_streams, eols=st.lists(st.sampled_from(["\n", "\r", "\r\n"]), min_size=1, max_size=5))
def test_cr_lf_and_crlf_are_interchangeable(
    events: list[tuple[str | None, list[str], str | None, bool]], eols: list[str]
) -> None:
    assert decode(_encode(events, eols)) == decode(_encode(events, ["\n"])) == _expected(events)


@settings(max_examples=50)
@given(before=_line_text, after=_line_text, cuts=st.lists(st.integers(0, 60), max_size=6))
@example(before="", after="", cuts=[7, 8])
def test_raw_u2028_stays_in_its_line(before: str, after: str, cuts: list[int]) -> None:
    data = f"{before}\u2028{after}"
    raw = f"data: {data}\n\n".encode()
    assert decode(*_split(raw, cuts)) == [ServerSentEvent(data)]


@settings(max_examples=200)
@given(raw=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=10))
@example(raw=b"\r", cuts=[])
@example(raw=b"\xef\xbb", cuts=[1])
@example(raw=b"data:\xf0\x9f\n\n\r\r\n", cuts=[6, 7])
def test_decoder_never_raises_and_split_does_not_matter(raw: bytes, cuts: list[int]) -> None:
    whole = decode(raw)
    assert decode(*_split(raw, cuts)) == whole
    assert all(isinstance(event, ServerSentEvent) for event in whole)


def test_pending_is_false_after_a_crlf_split_at_the_cr() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\n\r") == [ServerSentEvent("a")]
    assert decoder.feed(b"\n") == []
    assert not decoder.pending


def test_a_lone_bom_leaves_nothing_pending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef\xbb\xbf") == []
    assert not decoder.pending


def test_pending_tracks_an_unfinished_event() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n")
    assert decoder.pending
    assert decoder.feed(b"\n") == [ServerSentEvent("a")]
    assert not decoder.pending


def _reference(raw: bytes) -> list[ServerSentEvent]:
    """The spec's parsing algorithm written as plainly as possible, one line at a time.

    The decoder takes short cuts for the usual ``data: <json>`` framing; this slow twin has
    none, so any field soup must decode the same through both.
    """
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # The last piece has no line end; flush() still reads it as a line, then dispatches.
    lines = [*lines[:-1], *([lines[-1]] if lines[-1] else []), ""]
    events: list[ServerSentEvent] = []
    data: list[str] = []
    kind, last_id, retry = "", None, None
    for line in lines:
        if not line:
            if data:
                events.append(ServerSentEvent("\n".join(data), kind or "message", last_id, retry))
            data, kind, retry = [], "", None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            kind = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            retry = int(value)
    return events


_fragments = st.sampled_from(
    [
        "data:",
        "data: ",
        "data",
        "event: e",
        "id: 7",
        "id",
        "retry: 15",
        ":c",
        "x",
        '{"a":1}',
        " ",
        "\u2028",
        "\n",
        "\n\n",
        "\r",
        "\r\n",
        "é",
    ]
)


@settings(max_examples=300)
@given(parts=st.lists(_fragments, max_size=30), cuts=st.lists(st.integers(0, 200), max_size=8))
@example(parts=["data: ", "x", "\n\n", "data: ", "\n", "data:", "\n\n"], cuts=[3])
@example(parts=["data: ", "x", "\n", "\n\n", "event: e", "\n", "data:", "x", "\n\n"], cuts=[])
@example(parts=["data: ", "x", "\n", "data: ", "x", "\n\n"], cuts=[8])  # a data line pending across chunks
def test_decoder_agrees_with_a_line_by_line_reference(parts: list[str], cuts: list[int]) -> None:
    raw = "".join(parts).encode()
    assert decode(*_split(raw, cuts)) == _reference(raw)
