"""Raw SSE framing, shared by the recorder and the fault shaper: whole events, every byte, any chunking.

Streams are drawn as the lines they were written as, so each test knows which events it wrote;
arbitrary byte soups (stray blank lines, lone CRs, raw U+2028, broken UTF-8) check the rest.
The client's spec-following ``SSEDecoder`` is the referee for "one event is one dispatch".
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from nim_harness.sse import SSEDecoder

from nim_mock.faults import shaper
from nim_mock.plugin import tee
from nim_mock.record import proxy
from nim_mock.wire.sse import EventSplitter

line_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=30)
newlines = st.sampled_from(["\n", "\r", "\r\n"])
LINE_ENDS = ("\n", "\r", "\r\n")

field_lines = st.one_of(
    line_text.map(lambda text: "data: " + text),
    line_text.map(lambda text: "data:" + text),
    st.just("data"),
    line_text.map(lambda text: ": " + text),  # a comment (keep-alive)
    st.sampled_from(["event: delta", "id: 7", "id", "retry: 1500", "retry: soon"]),
    line_text.filter(bool),  # a field no parser knows
)


@st.composite
def written_streams(draw: st.DrawFn) -> tuple[bytes, list[bytes], bytes]:
    """A stream drawn line by line: its bytes, the events it holds, and the tail ``close`` returns.

    Every event has a ``data`` line, any fields around it, stray blank lines before it, and mixed
    line ends. A stream may end in blank lines or in an unfinished event. One line end is never
    drawn: a bare LF for a blank line right after a CR, which reads as the CRLF it then is.
    """
    written_so_far = [""]  # the last line end drawn

    def line(text: str) -> bytes:
        allowed = LINE_ENDS if text or written_so_far[0] != "\r" else ("\r", "\r\n")
        end = draw(st.sampled_from(allowed))
        written_so_far[0] = end
        return (text + end).encode("utf-8")

    def blank_lines(most: int) -> bytes:
        return b"".join(line("") for _ in range(draw(st.integers(0, most))))

    events: list[bytes] = []
    for _ in range(draw(st.integers(0, 5))):
        fields = draw(st.lists(field_lines, max_size=3))
        fields.insert(draw(st.integers(0, len(fields))), "data: " + draw(line_text))
        events.append(blank_lines(2) + b"".join(line(text) for text in fields) + line(""))
    tail = blank_lines(2)
    if draw(st.booleans()):  # the stream stops inside an event
        tail += b"".join(line(text) for text in draw(st.lists(field_lines, max_size=2)))
        tail += draw(line_text).encode("utf-8")
    whole = b"".join(events) + tail
    if not tail and events and events[-1].endswith(b"\r"):
        tail = events.pop()  # its closing CR could still have become a CRLF
    return whole, events, tail


byte_soups = st.lists(
    st.sampled_from(
        [b"\n", b"\r", b"\r\n", b"data: x", b"a", b":", b" ", "\u2028".encode(), b"\xe2\x80", b"\xff"]
    ),
    max_size=40,
).map(b"".join)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[start:point])
        start = point
    return pieces


def split_events(pieces: list[bytes]) -> tuple[list[bytes], bytes]:
    splitter = EventSplitter()
    events = [event for piece in pieces for event in splitter.feed(piece)]
    return events, splitter.close()


cuts_anywhere = st.lists(st.integers(0, 10_000), max_size=12)


@given(written_streams(), cuts_anywhere)
def test_a_stream_splits_into_the_events_it_was_written_as(
    stream: tuple[bytes, list[bytes], bytes], cuts: list[int]
) -> None:
    whole, events, tail = stream
    assert split_events([whole]) == (events, tail)
    assert split_events(split(whole, cuts)) == (events, tail)


@given(byte_soups, cuts_anywhere)
@example(b"data: a\r\n\r\n", [10])  # between the CR and the LF of the closing CRLF
@example(b"\n\ndata: a\n\n\n", [1])
def test_any_bytes_come_back_whole_however_they_are_chunked(data: bytes, cuts: list[int]) -> None:
    events, tail = split_events(split(data, cuts))
    assert b"".join(events) + tail == data
    assert (events, tail) == split_events([data])
    assert split_events([bytes([byte]) for byte in data]) == (events, tail)


@given(byte_soups)
@example(b"\n")
@example(b"data: a\n\n\r\n\ndata: b\n\n")
def test_a_stray_blank_line_is_never_an_event_of_its_own(data: bytes) -> None:
    events, _ = split_events([data])
    for event in events:
        assert event.strip(b"\r\n"), event


@given(written_streams())
def test_each_event_is_exactly_one_dispatch(stream: tuple[bytes, list[bytes], bytes]) -> None:
    whole, events, tail = stream
    by_event, at_once = SSEDecoder(), SSEDecoder()
    dispatched: list[object] = []
    for event in events:
        got = by_event.feed(event)
        assert len(got) == 1, event
        assert not by_event.pending, event  # the event ends where its dispatch happens, not later
        dispatched += got
    assert dispatched == at_once.feed(whole.removesuffix(tail))


@given(byte_soups)
def test_no_event_holds_two_dispatches_and_none_is_split(data: bytes) -> None:
    events, tail = split_events([data])
    by_event, at_once = SSEDecoder(), SSEDecoder()
    dispatched: list[object] = []
    for event in events:
        got = by_event.feed(event)
        assert len(got) <= 1, event
        assert not by_event.pending, event
        dispatched += got
    dispatched += by_event.feed(tail)
    assert dispatched == at_once.feed(data)


def test_the_recorder_the_tee_and_the_fault_shaper_split_with_one_class() -> None:
    assert proxy.EventSplitter is tee.EventSplitter is shaper.EventSplitter is EventSplitter


def test_every_two_piece_cut_of_mixed_line_ends_gives_the_same_events() -> None:
    data = b"\r\ndata: a\r\n\r\ndata: b\r\rdata: c\n\r\n\r\n: tail\r"
    expected = split_events([data])
    assert expected == ([b"\r\ndata: a\r\n\r\n", b"data: b\r\r", b"data: c\n\r\n"], b"\r\n: tail\r")
    for cut in range(len(data) + 1):
        assert split_events([data[:cut], data[cut:]]) == expected, cut


def test_the_splitter_starts_over_after_close() -> None:
    splitter = EventSplitter()
    assert splitter.feed(b"data: a\n\ndata: unfinished\n") == [b"data: a\n\n"]
    assert splitter.close() == b"data: unfinished\n"
    assert splitter.feed(b"\ndata: b\n\n") == [b"\ndata: b\n\n"]
    assert splitter.close() == b""


# -- kept from the recorder's and the fault shaper's own splitter tests ------------------------


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """A stream of events (each: some lines, then an empty line) with mixed line endings."""
    events: list[bytes] = []
    for _ in range(draw(st.integers(1, 6))):
        lines = draw(st.lists(line_text.filter(bool), min_size=1, max_size=3))
        text = "".join(line + draw(newlines) for line in lines) + draw(newlines)
        events.append(text.encode("utf-8"))
    # A CR line end followed by an LF empty line reads as one CRLF; the tests compare against a
    # single whole-stream feed, so such pairs are read the same way on both sides.
    whole = b"".join(events)
    return whole, events


@given(streams(), st.lists(st.integers(0, 10_000), max_size=12))
def test_any_chunking_gives_the_same_events(stream: tuple[bytes, list[bytes]], cuts: list[int]) -> None:
    whole, _ = stream
    reference = EventSplitter()
    expected = [*reference.feed(whole), reference.close()]
    splitter = EventSplitter()
    got: list[bytes] = []
    for piece in split(whole, cuts):
        got.extend(splitter.feed(piece))
    got.append(splitter.close())
    assert got == expected
    assert b"".join(got) == whole


def test_events_keep_their_terminators() -> None:
    splitter = EventSplitter()
    assert splitter.feed(b"data: a\n\ndata: b\r\n\r\ndata: c\r\r") == [b"data: a\n\n", b"data: b\r\n\r\n"]
    assert splitter.feed(b"\ndata: d\n\n") == [b"data: c\r\r\n", b"data: d\n\n"]
    assert splitter.feed(b"data: tail") == []
    assert splitter.close() == b"data: tail"


def test_a_raw_line_separator_does_not_end_a_line() -> None:
    event = 'data: {"t":"a\u2028b\u0085c"}\n\n'.encode()
    assert EventSplitter().feed(event) == [event]


def test_a_cr_at_a_chunk_end_waits_for_the_next_chunk() -> None:
    splitter = EventSplitter()
    assert splitter.feed(b"data: x\r\n\r") == []
    assert splitter.feed(b"\n") == [b"data: x\r\n\r\n"]


@st.composite
def split_streams(draw: st.DrawFn) -> tuple[list[bytes], list[bytes]]:
    ending = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    texts = draw(
        st.lists(st.text(st.characters(codec="ascii", exclude_characters="\r\n"), max_size=10), max_size=6)
    )
    events = [b"data: " + t.encode() + ending + ending for t in texts]
    whole = b"".join(events)
    cuts = sorted(draw(st.lists(st.integers(0, len(whole)), max_size=6)))
    pieces = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True)]
    return events, pieces


@given(split_streams())
def test_any_split_of_a_stream_yields_the_same_events(case: tuple[list[bytes], list[bytes]]) -> None:
    events, pieces = case
    splitter = EventSplitter()
    got = [event for piece in pieces for event in splitter.feed(piece)]
    rest = splitter.close()
    if rest:  # only a lone CR-terminated last event can wait for a LF that never comes
        got.append(rest)
    assert got == events
