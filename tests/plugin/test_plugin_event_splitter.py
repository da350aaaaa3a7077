"""Raw SSE framing for the recorder: any chunking gives the same events, and nothing is lost."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nim_mock.record.proxy import EventSplitter

line_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=30)
newlines = st.sampled_from(["\n", "\r", "\r\n"])


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


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[start:point])
        start = point
    return pieces


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
