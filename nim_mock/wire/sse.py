"""Raw server-sent event framing: a byte stream cut into whole events, every byte kept.

The recorder stores each event with the time it arrived, and the fault shaper counts events to
know where ``cut;after=N`` or ``malformed;after=N`` strike; both cut with this one splitter, so a
recorded event and a counted event are the same thing. Parsing the fields is not done here (the
client's :class:`nim_harness.sse.SSEDecoder` does that); this only finds where each event ends.

An event is whatever blank lines precede it, one or more non-empty lines, and the blank line that
ends them, bytes exact: exactly the bytes an SSE parser reads up to one dispatch. Lines end at CR,
LF or CRLF and nowhere else (a raw U+2028 or U+0085 inside a JSON ``data:`` line stays in its
line). A stray blank line is never an event of its own: it belongs to the event after it, or to
the tail when none follows.
"""

from __future__ import annotations

from typing import Final

__all__ = ["EventSplitter"]

_CR: Final = 0x0D
_LF: Final = 0x0A


class EventSplitter:
    """Bytes in, whole events out: ``feed`` each chunk as it arrives, ``close`` when the stream ends.

    How the stream is chunked never changes the result. A CR that ends the bytes fed so far may be
    the first half of a CRLF, so the line it ends is read once the next chunk shows what follows.
    Concatenating every event ``feed`` returned and ``close``'s tail gives back the input exactly.

    Each byte is searched once (``bytes.find``, remembering where the next CR and LF are), and the
    unfinished event grows in place in a ``bytearray``, so a long event arriving in many small
    chunks costs linear time, not quadratic.
    """

    __slots__ = ("_has_line", "_line", "_look", "_pending")

    def __init__(self) -> None:
        self._pending = bytearray()  # the unfinished event, from its first byte
        self._line = 0  # where in _pending the line being read starts
        self._look = 0  # where in _pending to look for that line's end (all before it is read)
        self._has_line = False  # whether the unfinished event has a non-empty line yet

    def feed(self, chunk: bytes) -> list[bytes]:
        """The events that ``chunk`` finishes, each as the exact bytes received."""
        pending = self._pending
        if not pending and _is_one_event(chunk):
            return [chunk]  # how a server sends a stream, one event per write: nothing to copy
        data: bytes | bytearray
        if pending:
            pending += chunk
            data = pending
        else:
            data = chunk
        size = len(data)
        events: list[bytes] = []
        start, line, look, has_line = 0, self._line, self._look, self._has_line
        find = data.find
        cr, lf = find(b"\r", look), find(b"\n", look)
        while True:
            if cr == -1 or (lf != -1 and lf < cr):
                if lf == -1:
                    look = size
                    break
                end = lf
                after = lf + 1
            else:
                end = cr
                if cr + 1 == size:
                    look = cr  # maybe half of a CRLF: the next chunk says where this line ends
                    break
                after = cr + 2 if data[cr + 1] == _LF else cr + 1
            if end != line:
                has_line = True
            elif has_line:  # a blank line after a non-empty one: the event is complete
                events.append(bytes(data[start:after]))
                start, has_line = after, False
            line = look = after
            if cr != -1 and cr < after:
                cr = find(b"\r", after)
            if lf != -1 and lf < after:
                lf = find(b"\n", after)
        if data is pending:
            del pending[:start]
        else:
            pending += data[start:]
        self._line, self._look, self._has_line = line - start, look - start, has_line
        return events

    def close(self) -> bytes:
        """What never ended in a blank line (possibly empty): an unfinished event, blank lines no
        event followed, or a last event whose closing CR might have been half of a CRLF. The
        splitter is ready for a new stream afterwards."""
        tail = bytes(self._pending)
        self._pending.clear()
        self._line = self._look = 0
        self._has_line = False
        return tail


def _is_one_event(chunk: bytes) -> bool:
    """Whether ``chunk``, read from an event's start, is exactly one whole event with LF line ends.

    True when it ends in ``\\n\\n``, holds no CR, and no earlier ``\\n\\n``: then every line before
    the last is non-empty (but perhaps a first, stray blank one), so the closing blank line is the
    only one that ends an event, and the byte before it belongs to a non-empty line.
    """
    size = len(chunk)
    return size > 2 and chunk.endswith(b"\n\n") and chunk.find(b"\n\n") == size - 2 and b"\r" not in chunk
