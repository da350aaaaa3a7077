"""The request log: what an entry says, the two line formats, and when the batched handler writes."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nim_mock import create_app, serve_in_thread
from nim_mock.serve.request_log import RequestEntry, RequestLogHandler, _pieces

TEXT_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO (.*)")


def _message(line: str) -> str:
    found = TEXT_LINE.fullmatch(line)
    assert found, line
    return found[1]


def test_an_entry_reads_as_the_request_line_and_says_how_far_a_left_stream_got() -> None:
    assert str(RequestEntry("POST", "/v1/chat/completions", 200, "chat/plain#1")) == (
        "POST /v1/chat/completions 200 chat/plain#1"
    )
    assert str(RequestEntry("GET", "/v1/models", 404)) == "GET /v1/models 404"
    left = RequestEntry("POST", "/v1/chat/completions", 200, "chat/stream#1", True, 3, 9)
    assert str(left) == "POST /v1/chat/completions 200 chat/stream#1 (client disconnected after 3/9 events)"
    assert left.fields() == {
        "method": "POST",
        "path": "/v1/chat/completions",
        "status": 200,
        "answer": "chat/stream#1",
        "disconnected": True,
        "events_sent": 3,
        "events_total": 9,
    }


def test_text_lines_carry_date_time_level_and_the_worker_when_there_are_several() -> None:
    stream = io.StringIO()
    handler = RequestLogHandler(stream)
    handler.write_entry(RequestEntry("GET", "/v1/health/ready", 200, "nim1 health"))
    handler.set_worker(3)
    handler.write_entry(RequestEntry("GET", "/v1/health/ready", 200, "nim1 health"))
    assert [_message(line) for line in stream.getvalue().splitlines()] == [
        "GET /v1/health/ready 200 nim1 health",
        "[worker 3] GET /v1/health/ready 200 nim1 health",
    ]


def test_json_lines_hold_the_entry_fields_and_the_worker() -> None:
    stream = io.StringIO()
    handler = RequestLogHandler(stream, "json")
    handler.set_worker(1)
    handler.write_entry(RequestEntry("POST", "/v1/completions", 429, "[faults: rate_limit <rules[0]>]"))
    line = json.loads(stream.getvalue())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line.pop("time"))
    assert line == {
        "level": "INFO",
        "logger": "nim_mock",
        "message": "POST /v1/completions 429 [faults: rate_limit <rules[0]>]",
        "method": "POST",
        "path": "/v1/completions",
        "status": 429,
        "answer": "[faults: rate_limit <rules[0]>]",
        "worker": 1,
    }


def test_records_through_the_logger_read_like_entries_written_directly() -> None:
    text, as_json = io.StringIO(), io.StringIO()
    logger = logging.getLogger("nim_mock.test_request_log")
    logger.propagate = False
    handlers = [RequestLogHandler(text), RequestLogHandler(as_json, "json")]
    for handler in handlers:
        logger.addHandler(handler)
    try:
        logger.warning("%s", RequestEntry("POST", "/v1/chat/completions", 500, "boom"))
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
    assert text.getvalue().endswith(" WARNING POST /v1/chat/completions 500 boom\n")
    fields = json.loads(as_json.getvalue())
    assert (fields["level"], fields["logger"], fields["status"]) == ("WARNING", logger.name, 500)


def test_an_app_with_a_sink_hands_it_each_entry_and_leaves_the_logger_alone(
    build: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="nim_mock")
    entries: list[RequestEntry] = []
    plain = build.plain_chat()
    with serve_in_thread(create_app([plain], request_log=entries.append)) as base_url:
        httpx.post(base_url + "/v1/chat/completions", json=plain.interactions[0].request.body)
        httpx.get(base_url + "/v1/nope")
        assert build.wait_for(lambda: len(entries) == 2)
    answered, refused = entries
    assert str(answered) == "POST /v1/chat/completions 200 chat/plain#1"
    assert (refused.method, refused.path, refused.status) == ("GET", "/v1/nope", 404)
    assert refused.answer.startswith("refused: Route GET /v1/nope does not exist")
    assert not [record for record in caplog.records if record.name == "nim_mock"]


def test_an_unknown_format_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="one of text, json"):
        RequestLogHandler(io.StringIO(), "yaml")


async def test_on_a_running_loop_lines_wait_for_the_interval_and_then_go_out_together() -> None:
    stream = io.StringIO()
    handler = RequestLogHandler(stream, interval=0.05)
    for n in range(3):
        handler.write_entry(RequestEntry("GET", f"/v1/{n}", 200))
    assert stream.getvalue() == ""
    await asyncio.sleep(0.2)
    assert [line.rsplit(" ", 2)[1] for line in stream.getvalue().splitlines()] == ["/v1/0", "/v1/1", "/v1/2"]
    handler.write_entry(RequestEntry("GET", "/v1/3", 200))
    handler.flush()  # what the CLI does when the server stops
    assert stream.getvalue().count("\n") == 4


async def test_a_full_queue_is_written_at_once() -> None:
    stream = io.StringIO()
    handler = RequestLogHandler(stream, interval=60.0, max_lines=4)
    for n in range(5):
        handler.write_entry(RequestEntry("GET", f"/v1/{n}", 200))
    assert stream.getvalue().count("\n") == 4
    handler.flush()
    assert stream.getvalue().count("\n") == 5


def test_a_closed_stream_loses_the_lines_but_raises_nothing() -> None:
    stream = io.StringIO()
    handler = RequestLogHandler(stream)
    stream.close()
    handler.write_entry(RequestEntry("GET", "/v1/models", 200))


@given(st.lists(st.text(alphabet=st.characters(exclude_characters="\n"), max_size=300), max_size=40))
def test_pieces_are_whole_lines_in_order_each_within_the_limit_unless_one_line_is_longer(
    lines: list[str],
) -> None:
    limit = 256
    pieces = _pieces(lines, limit)
    assert "".join(pieces) == "".join(line + "\n" for line in lines)
    for piece in pieces:
        assert piece.endswith("\n")
        size = len(piece.encode("utf-8", "replace"))
        assert size <= limit or piece.count("\n") == 1


@given(
    st.lists(
        st.text(alphabet=st.characters(max_codepoint=127, exclude_characters="\n"), max_size=300), max_size=40
    ),
    st.booleans(),
)
def test_ascii_and_other_lines_are_cut_alike_and_as_few_pieces_as_fit(lines: list[str], wide: bool) -> None:
    """ASCII text is cut by searching for newlines, other text line by line: both must pack whole
    lines greedily (a piece ends only where the next line would not fit)."""
    limit = 256
    if wide and lines:
        lines = [*lines[:-1], lines[-1] + "é"]  # one non-ASCII character sends all of it line by line
    pieces = _pieces(lines, limit)
    assert "".join(pieces) == "".join(line + "\n" for line in lines)
    sizes = [len(piece.encode("utf-8")) for piece in pieces]
    for size, following in zip(sizes, pieces[1:], strict=False):
        next_line = len(following.split("\n", 1)[0].encode("utf-8")) + 1
        assert size + next_line > limit


_ENTRIES = st.builds(
    RequestEntry,
    st.sampled_from(["GET", "POST"]),
    st.sampled_from(["/v1/chat/completions", "/v1/models"]),
    st.sampled_from([200, 404, 503]),
    st.sampled_from(["", "chat/plain#1", "miss: no recording"]),
    st.booleans(),
    st.integers(0, 5),
    st.integers(0, 5),
)


@given(
    st.lists(
        st.one_of(
            st.tuples(st.floats(1.7e9, 1.7e9 + 3, allow_nan=False), _ENTRIES),
            st.just("2026-12-04 10:00:00,000 WARNING a record's own line"),
        ),
        max_size=60,
    ),
    st.sampled_from([None, 1]),
)
def test_a_batch_reads_line_for_line_as_each_entry_made_alone(queued: list[Any], worker: int | None) -> None:
    """Messages are made once per batch and the time once a millisecond: the lines must not show it."""
    handler = RequestLogHandler(io.StringIO())
    handler.set_worker(worker)
    tag = f"[worker {worker}] " if worker is not None else ""
    alone = [
        item if isinstance(item, str) else f"{handler._clock.text(item[0])} INFO {tag}{item[1]}"
        for item in queued
    ]
    assert handler._lines(queued) == alone
