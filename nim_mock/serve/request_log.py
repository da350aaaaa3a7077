"""The request log: one entry per finished request, formatted cheaply, written in batches.

Why its own module: under load the log line used to cost as much as the rest of the mock's work
on a request: a ``LogRecord`` (5 µs on the dev machine), a ``Formatter`` with its ``strftime``
(15 µs), then a ``write`` and a ``flush`` system call, for every line. Now:

- the app hands each request's :class:`RequestEntry` to a sink. Without one (library use, the
  pytest plugin) the entry goes to the ``nim_mock`` logger at INFO, as the single argument of
  ``"%s"``, so ``caplog`` and any handler work, and with INFO off the cost is one level check;
- ``nim-mock serve`` passes :meth:`RequestLogHandler.write_entry` as the sink: the entry is queued
  with its time, no record at all, and its line is built straight from it when the queue is
  written (the date part rendered once a second), off the request's path;
- the queue is written from the event loop at most every ``interval`` seconds, in writes of whole
  lines of at most ``PIPE_BUF`` bytes, so worker processes sharing one stderr pipe never
  interleave halves of lines. :meth:`RequestLogHandler.flush` writes what is left (the CLI calls
  it when the server stops; :func:`logging.shutdown` does too, the handler being a logging handler).

Two formats: ``text`` (``2026-11-24 12:00:00,123 INFO POST /v1/chat/completions 200 chat/plain#1``,
``[worker 1]`` before the message when several processes share the port) and ``json`` (one JSON
object per line: ``time``, ``level``, ``logger``, ``message`` and the entry's fields).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, TextIO

from nim_mock._log_formats import LOG_FORMATS

__all__ = ["LOG_FORMATS", "RequestEntry", "RequestLogHandler"]


_PIPE_BUF = 4096
"""POSIX guarantees a write of at most this many bytes to a pipe is never interleaved with another's."""


@dataclass(slots=True)
class RequestEntry:
    """What one finished request's log line says; ``str()`` is the text line's message.

    ``sent``/``total`` are the stream's events when the client disconnected (``disconnected``).
    Built once per request, so not frozen: a frozen dataclass sets each field through
    ``object.__setattr__`` and costs 4x as much to build.
    """

    method: str
    path: str
    status: int
    answer: str = ""
    disconnected: bool = False
    sent: int = 0
    total: int = 0

    def __str__(self) -> str:
        line = f"{self.method} {self.path} {self.status}"
        if self.answer:
            line += f" {self.answer}"
        if self.disconnected:
            line += f" (client disconnected after {self.sent}/{self.total} events)"
        return line

    def fields(self) -> dict[str, Any]:
        """The entry as JSON-ready fields (the event counts only when the client left)."""
        fields: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "answer": self.answer,
        }
        if self.disconnected:
            fields.update(disconnected=True, events_sent=self.sent, events_total=self.total)
        return fields


class _Clock:
    """``YYYY-MM-DD HH:MM:SS,mmm`` in local time (logging's default): built once a millisecond, its date
    part once a second (under load, many lines share a millisecond)."""

    __slots__ = ("_date", "_millis", "_second", "_text")

    def __init__(self) -> None:
        self._millis = self._second = -1
        self._date = self._text = ""

    def text(self, created: float) -> str:
        millis = int(created * 1000)
        if millis != self._millis:
            self._millis = millis
            second, ms = divmod(millis, 1000)
            if second != self._second:
                self._second = second
                self._date = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._text = f"{self._date},{ms:03d}"
        return self._text


def _iso_utc(created: float) -> str:
    second = int(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + f".{int((created - second) * 1000):03d}Z"


class RequestLogHandler(logging.Handler):
    """The server's request log: entries and records as ``text`` or ``json`` lines on ``stream``, in batches.

    A line made while an asyncio loop runs in this thread is queued and, if no write is pending,
    one is scheduled on that loop ``interval`` seconds later; made anywhere else, it is written at
    once. A queue that reaches ``max_lines`` is written at once too. Call :meth:`flush` when the
    loop stops (the CLI does): a write scheduled on a loop that never runs it again would hold the
    queue until ``max_lines``. :meth:`set_worker` (in a worker process) tags each line with the
    process's index.
    """

    def __init__(
        self, stream: TextIO, log_format: str = "text", *, interval: float = 0.1, max_lines: int = 512
    ) -> None:
        if log_format not in LOG_FORMATS:
            raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
        super().__init__()
        self.stream = stream
        self._json = log_format == "json"
        self._interval = interval
        self._max_lines = max_lines
        self._pending: list[str | tuple[float, RequestEntry]] = []
        """Lines of log records, and entries with their time (their lines made when written)."""
        self._scheduled_on: asyncio.AbstractEventLoop | None = None
        self._clock = _Clock()
        self._worker: int | None = None
        self._tag = ""

    def set_worker(self, index: int | None) -> None:
        """Tag the lines from now on with worker ``index`` (``None``: a single process, no tag)."""
        self._worker = index
        self._tag = f"[worker {index}] " if index is not None else ""

    def write_entry(self, entry: RequestEntry) -> None:
        """The app's sink: queue ``entry`` (its line is made when the queue is written).

        Called on the event loop's thread; it takes no lock: appending to the queue is atomic, and
        :meth:`_write_pending` swaps the queue for a new one before writing the old.
        """
        pending = self._pending
        pending.append((time.time(), entry))
        if self._scheduled_on is None or len(pending) >= self._max_lines:
            self._see_written()

    def _lines(self, queued: list[str | tuple[float, RequestEntry]]) -> list[str]:
        """The queue's lines: records' as they were made, entries' made now."""
        if self._json:
            return [
                item
                if isinstance(item, str)
                else self._json_line(item[0], "INFO", "nim_mock", str(item[1]), item[1].fields())
                for item in queued
            ]
        # A load test repeats a few requests: each distinct message of the batch is made once, and
        # the time part once a millisecond (as the clock would, without calling it per line).
        clock, tag = self._clock, self._tag
        messages: dict[tuple[str, str, int, str], str] = {}
        lines: list[str] = []
        last_millis, head = -1, ""
        for item in queued:
            if isinstance(item, str):
                lines.append(item)
                continue
            created, entry = item
            millis = int(created * 1000)
            if millis != last_millis:
                last_millis, head = millis, f"{clock.text(created)} INFO {tag}"
            if entry.disconnected:
                lines.append(head + str(entry))
                continue
            key = (entry.method, entry.path, entry.status, entry.answer)
            message = messages.get(key)
            if message is None:
                message = messages[key] = str(entry)
            lines.append(head + message)
        return lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            if self._json:
                args = record.args
                entry = args[0] if isinstance(args, tuple) and len(args) == 1 else None
                extra = entry.fields() if isinstance(entry, RequestEntry) else {}
                line = self._json_line(record.created, record.levelname, record.name, message, extra)
            else:
                line = f"{self._clock.text(record.created)} {record.levelname} {self._tag}{message}"
        except Exception:
            self.handleError(record)
            return
        self._queue(line)

    def _json_line(self, created: float, level: str, logger: str, message: str, extra: dict[str, Any]) -> str:
        fields: dict[str, Any] = {
            "time": _iso_utc(created),
            "level": level,
            "logger": logger,
            "message": message,
        }
        fields.update(extra)
        if self._worker is not None:
            fields["worker"] = self._worker
        return json.dumps(fields, ensure_ascii=False)

    def _queue(self, line: str) -> None:
        self._pending.append(line)
        self._see_written()

    def _see_written(self) -> None:
        """See that the queue gets written: at once when full or when no event loop runs here, else
        by a write scheduled on the running loop (one already scheduled takes what was just queued;
        asking for the running loop costs a system call, so it is only asked when none is)."""
        if len(self._pending) >= self._max_lines:
            self._write_pending()
            return
        if self._scheduled_on is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write_pending()
            return
        self._scheduled_on = loop
        loop.call_later(self._interval, self.flush)

    def flush(self) -> None:
        self.acquire()
        try:
            self._scheduled_on = None
            self._write_pending()
        finally:
            self.release()

    def _write_pending(self) -> None:
        if not self._pending:
            return
        queued, self._pending = self._pending, []
        lines = self._lines(queued)
        try:
            for piece in _pieces(lines, _PIPE_BUF):
                self.stream.write(piece)
                self.stream.flush()
        except (OSError, ValueError):  # the stream is gone (closed, or a pipe nobody reads any more)
            pass


def _pieces(lines: list[str], limit: int) -> list[str]:
    """``lines``, each ended by a newline, joined into pieces of whole lines of at most ``limit``
    bytes where possible (a longer line is a piece of its own)."""
    text = "\n".join(lines) + "\n" if lines else ""
    if not text.isascii():
        return _pieces_by_line(lines, limit)
    # ASCII: a character is a byte, so the cuts are found by searching for newlines (in C).
    pieces: list[str] = []
    start, end = 0, len(text)
    while end - start > limit:
        cut = text.rfind("\n", start, start + limit)  # the last line that ends within the limit
        if cut < 0:  # the first line is longer than the limit
            cut = text.index("\n", start)
        pieces.append(text[start : cut + 1])
        start = cut + 1
    if start < end:
        pieces.append(text[start:])
    return pieces


def _pieces_by_line(lines: list[str], limit: int) -> list[str]:
    """:func:`_pieces` for text whose characters are not all one byte."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        length = len(line.encode("utf-8", "replace")) + 1
        if current and size + length > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(line + "\n")
        size += length
    if current:
        pieces.append("".join(current))
    return pieces
