"""The pure parts of the server: error bodies, framing headers, metrics text, request checks."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nim_mock.cassette import Event, RecordedResponse
from nim_mock.serve.inbound import (
    BodyTooLarge,
    check_chat_shape,
    check_content_type,
    check_object,
    parse_json,
    read_body,
)
from nim_mock.serve.metrics import _PENDING_KEPT, NIM1_NAMES, VLLM_NAMES, EngineNames, Metrics
from nim_mock.serve.models import build_model_list, merge_listing
from nim_mock.serve.note import Usage
from nim_mock.serve.replay import wire_headers
from nim_mock.wire.errors import Problem, bad_request, check_error_layout, error_body, render_problem
from nim_mock.wire.http import COMPUTED_HEADERS

header_names = st.sampled_from(
    [
        "content-type",
        "Content-Length",
        "server",
        "date",
        "Transfer-Encoding",
        "x-request-id",
        "connection",
        "vary",
    ]
)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20)


@given(st.text(), st.text(min_size=1), st.integers(min_value=400, max_value=599))
def test_error_bodies_have_the_servers_exact_field_order(message: str, type_: str, code: int) -> None:
    flat = json.loads(error_body("nim", message=message, type_=type_, code=code))
    nested = json.loads(error_body("vllm", message=message, type_=type_, code=code))
    assert list(flat.items()) == [
        ("object", "error"),
        ("message", message),
        ("type", type_),
        ("param", None),
        ("code", code),
    ]
    assert list(nested) == ["error"]
    assert list(nested["error"].items()) == [
        ("message", message),
        ("type", type_),
        ("param", None),
        ("code", code),
    ]


def test_error_bodies_are_compact_utf8_like_starlette() -> None:
    assert error_body("nim", message="é", type_="NotFoundError", code=404) == (
        '{"object":"error","message":"é","type":"NotFoundError","param":null,"code":404}'.encode()
    )


def test_problem_type_follows_the_layout() -> None:
    problem = bad_request("no")
    assert json.loads(render_problem(problem, "nim")[2])["type"] == "BadRequestError"
    assert json.loads(render_problem(problem, "vllm")[2])["error"]["type"] == "Bad Request"
    status, headers, _ = render_problem(
        Problem(405, "Method Not Allowed", "x", headers=(("allow", "POST"),)), "nim"
    )
    assert (status, headers) == (405, [("allow", "POST"), ("content-type", "application/json")])


def test_unknown_layout_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="choose one of: nim, vllm"):
        check_error_layout("openai")


@given(st.lists(st.tuples(header_names, header_values), max_size=8), st.binary(max_size=50), st.booleans())
def test_wire_headers_keep_recorded_order_and_recompute_framing(
    headers: list[tuple[str, str]], body: bytes, streamed: bool
) -> None:
    response = RecordedResponse(
        200, tuple(headers), body=b"" if streamed else body, events=(Event(0.0, body),) if streamed else None
    )
    sent = wire_headers(response)
    kept = [
        (k.lower().encode(), v.strip(" \t").encode()) for k, v in headers if k.lower() not in COMPUTED_HEADERS
    ]
    assert [h for h in sent if h[0] != b"content-length"] == kept
    lengths = [v for k, v in sent if k == b"content-length"]
    if streamed:
        assert lengths == []
    else:
        assert lengths == [str(len(body)).encode()]
        position = [k for k, _ in sent].index(b"content-length")
        types = [i for i, (k, _) in enumerate(sent) if k == b"content-type"]
        assert position == (types[0] - 1 if types else len(sent) - 1)


def test_no_content_length_on_204() -> None:
    assert wire_headers(RecordedResponse(204, (("x", "1"),))) == [(b"x", b"1")]


def test_metrics_render_as_prometheus_text(snapshot: Any) -> None:
    metrics = Metrics()
    metrics.request_done("POST", "/v1/chat/completions", 200)
    metrics.request_done("POST", "/v1/chat/completions", 200)
    metrics.request_done("GET", 'odd"route\\', 404)
    metrics.matched()
    metrics.unmatched()
    metrics.disconnected()
    for lag in (0.0001, 0.0015, 0.003, 2.0, -0.5):
        metrics.observe_lag(lag)
    assert metrics.render() == snapshot
    assert metrics.counts == {"matched": 1, "unmatched": 1, "disconnects": 1, "lag_observations": 5}


@settings(max_examples=50)
@given(st.text(max_size=30))
def test_unparseable_bodies_name_line_and_column(text: str) -> None:
    value, problem = parse_json(text.encode("utf-8"))
    expected = _decode_error(text)
    if expected is None:
        assert problem is None
        assert json.dumps(value) == json.dumps(json.loads(text))
    else:
        assert problem is not None
        assert problem.status == 400
        assert f"line {expected.lineno} column {expected.colno}" in problem.message


def _decode_error(text: str) -> json.JSONDecodeError | None:
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return error
    return None


@pytest.mark.parametrize(
    ("content_type", "nim_refuses", "vllm_refuses"),
    [
        ("application/json", False, False),
        ("application/json; charset=utf-8", True, False),  # NIM 1.x compares the whole header
        ("Application/JSON", False, False),
        ("text/plain", True, True),
        (None, True, True),
        ("application/jsonx", True, True),
    ],
)
def test_content_type_check(content_type: str | None, nim_refuses: bool, vllm_refuses: bool) -> None:
    nim = check_content_type(content_type, "nim")
    vllm = check_content_type(content_type, "vllm")
    assert (nim is not None, vllm is not None) == (nim_refuses, vllm_refuses)
    if nim is not None:
        assert nim.status == 415
        assert nim.message == f"Unsupported media type: {content_type or ''}. It must be application/json"
    if vllm is not None:
        assert (vllm.status, vllm.type) == (400, "Bad Request")
        media = "Unsupported Media Type: Only 'application/json' is allowed"
        assert vllm.message == f"1 validation error:\n  {media}"


def test_shape_checks() -> None:
    assert check_object({}) is None
    assert check_object([]) is not None
    assert check_chat_shape({"messages": [{"role": "user", "content": "x"}]}) is None
    for body in ({}, {"messages": []}, {"messages": None}, {"messages": {"role": "user"}}):
        assert check_chat_shape(body) is not None


def test_merge_listing_leaves_anything_but_a_listing_untouched() -> None:
    untouched = [
        RecordedResponse(401, body=b'{"data": [{"id": "a/b"}]}'),
        RecordedResponse(200, body=b"not json"),
        RecordedResponse(200, body=b'{"data": []}'),
        RecordedResponse(200, body=b'["a/b"]'),
        RecordedResponse(200, events=(Event(0.0, b"data: {}\n\n"),)),
    ]
    for response in untouched:
        assert merge_listing(response, ["x/new"]) is response


def test_merge_listing_copies_the_first_entrys_key_order() -> None:
    entry = {"owned_by": "meta", "id": "meta/a", "object": "model", "created": 7}
    listing = RecordedResponse(
        200, (("content-type", "application/json"),), json.dumps({"data": [entry]}).encode()
    )
    merged = merge_listing(listing, ["meta/a", "nvidia/b", "plain"])
    data = json.loads(merged.body)["data"]
    assert [list(e) for e in data] == [list(entry)] * 3
    assert [(e["id"], e["owned_by"]) for e in data] == [
        ("meta/a", "meta"),
        ("nvidia/b", "nvidia"),
        ("plain", "meta"),
    ]
    assert merged.headers == listing.headers


def test_built_model_list_is_stable_and_nim_shaped() -> None:
    first = build_model_list(["a/b", "c/d"], created=5)
    assert first == build_model_list(["a/b", "c/d"], created=5)
    assert [card["owned_by"] for card in first["data"]] == ["system", "system"]
    assert first["data"][0]["permission"][0]["id"] != first["data"][1]["permission"][0]["id"]


def _receiver(messages: list[dict[str, Any]]) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=8), st.integers(min_value=0, max_value=200))
def test_read_body_joins_chunks_and_stops_past_the_limit(chunks: list[bytes], limit: int) -> None:
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    whole = b"".join(chunks)
    if len(whole) > limit:
        with pytest.raises(BodyTooLarge):
            asyncio.run(read_body(_receiver(messages), limit))
    else:
        assert asyncio.run(read_body(_receiver(messages), limit)) == whole


def test_read_body_ends_early_when_the_client_leaves() -> None:
    messages = [{"type": "http.request", "body": b"ab", "more_body": True}, {"type": "http.disconnect"}]
    assert asyncio.run(read_body(_receiver(messages), 100)) == b"ab"
    assert asyncio.run(read_body(_receiver([{"type": "http.disconnect"}]), 100)) == b""


_requests_done = st.lists(
    st.tuples(
        st.sampled_from(["GET", "POST"]),
        st.sampled_from(["/v1/chat/completions", "/v1/completions", "unknown"]),
        st.sampled_from([200, 404, 429]),
        st.integers(0, 3),
        st.integers(0, 3),
        st.sampled_from(["m", "other", None]),  # None: a request with no answer (a 404, a health check)
        st.sampled_from(["stop", "length"]),
        st.floats(0.0, 30.0),
        st.sampled_from(["", "matched", "unmatched"]),
    ),
    max_size=40,
)


def _server_lines(text: str) -> list[str]:
    """The samples that count requests and answers (process and GC samples, and the times a series
    was created, move on their own)."""
    return [
        line
        for line in text.splitlines()
        if not line.startswith(("process_", "python_")) and "_created" not in line.split(" ", 1)[0]
    ]


@settings(max_examples=60)
@given(_requests_done, st.sampled_from([NIM1_NAMES, VLLM_NAMES]))
def test_metrics_counted_by_shape_scrape_as_metrics_counted_one_by_one(
    done: list[tuple[str, str, int, int, int, str | None, str, float, str]], engine: EngineNames
) -> None:
    """A fold of the whole queue, whose values it groups and transposes, gives the very numbers (sums
    to the last bit included) of folds of one request each."""
    at_once, scraped_each_time = Metrics(engine=engine), Metrics(engine=engine)
    for metrics in (at_once, scraped_each_time):
        for method, route, status, size, tokens, model, finish, seconds, mark in done:
            if mark == "matched":
                metrics.matched()
            elif mark == "unmatched":
                metrics.unmatched()
            metrics.request_done(
                method,
                route,
                status,
                request_bytes=size,
                response_bytes=size,
                seconds=seconds,
                answer=Usage(model, tokens, 3 * tokens, finish) if model is not None else None,
                first_token_s=seconds / 3,
            )
            if metrics is scraped_each_time:
                metrics.render()  # folds what was counted so far
    assert at_once.counts == scraped_each_time.counts
    assert _server_lines(at_once.render()) == _server_lines(scraped_each_time.render())
    assert _server_lines(at_once.render(mock=False)) == _server_lines(scraped_each_time.render(mock=False))
    samples = [line.rsplit(" ", 1) for line in _server_lines(at_once.render()) if not line.startswith("#")]
    requests = sum(float(value) for name, value in samples if name.startswith("nim_mock_requests_total{"))
    prompt = "vllm:prompt_tokens_total{" if engine is VLLM_NAMES else "prompt_tokens_total{"
    tokens = sum(float(value) for name, value in samples if name.startswith(prompt))
    assert (requests, tokens) == (len(done), sum(entry[4] for entry in done if entry[5] is not None))


def test_requests_counted_on_one_thread_while_another_scrapes_are_all_counted(build: Any) -> None:
    """The serving thread queues without a lock; a scrape on another thread counts the queue while
    it grows, and must neither lose nor double an entry."""
    metrics, at_least, scrapes_wanted = Metrics(engine=VLLM_NAMES), 20_000, 3
    scrapes, served = 0, 0

    def serve() -> None:
        # Serving goes on until the scraper has run several times, so the scrapes overlap the
        # growing queue however the two threads are scheduled.
        nonlocal served
        while served < at_least or scrapes < scrapes_wanted:
            metrics.request_started()
            metrics.matched()
            metrics.request_done(
                "POST", "/v1/chat/completions", 200, seconds=0.01, answer=Usage("m", 1, 2, "stop")
            )
            metrics.request_finished()
            served += 1

    server = threading.Thread(target=serve)
    server.start()
    while server.is_alive():
        metrics.render()
        scrapes += 1
    server.join()
    text = metrics.render()
    total = 'nim_mock_requests_total{method="POST",route="/v1/chat/completions",status="200"}'
    assert build.metric_value(text, total) == served
    assert build.metric_value(text, 'vllm:prompt_tokens_total{engine="0",model_name="m"}') == served
    assert 'vllm:num_requests_running{engine="0",model_name="m"} 0.0' in text.splitlines()
    assert metrics.counts["matched"] == served
    assert served >= at_least
    assert scrapes >= scrapes_wanted


def test_a_server_nobody_scrapes_keeps_a_bounded_queue() -> None:
    metrics = Metrics()
    for _ in range(3 * _PENDING_KEPT):
        metrics.request_done("GET", "/v1/health/ready", 200)
    assert len(metrics._pending) < _PENDING_KEPT  # counted as it went, not kept
    assert metrics.counts["lag_observations"] == 0
    assert 'route="/v1/health/ready",status="200"} 12288.0' in metrics.render()
