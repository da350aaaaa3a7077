"""The four transport shells over respx, sync and async alike (transport injected, nothing patched)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import nim_harness._errors as errors
import pytest
import respx
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from nim_harness._events import EventReader
from nim_harness._http import (
    USER_AGENT,
    HTTPSettings,
    arequest_json,
    astream_events,
    build_async_client,
    build_client,
    build_headers,
    request_json,
    stream_events,
)

BASE = "http://127.0.0.1:9/v1"
CHAT = f"{BASE}/chat/completions"
POLL_BASE = "http://127.0.0.1:9/status/"
SSE = {"content-type": "text/event-stream; charset=utf-8"}

Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """An injected clock: sleeping advances it instantly and is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def clock(self) -> float:
        return self.now


def make_settings(fake: FakeTime, **overrides: Any) -> HTTPSettings:
    values: dict[str, Any] = {
        "base_url": BASE,
        "api_key": None,
        "timeout": 5.0,
        "max_retries": 2,
        "default_headers": {},
        "polling_base": POLL_BASE,
        "poll_interval": 0.5,
        "sleep": fake.sleep,
        "asleep": fake.asleep,
        "clock": fake.clock,
        "jitter": lambda: 1.0,
    }
    values.update(overrides)
    return HTTPSettings(**values)


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.MockRouter(using=None, assert_all_called=False) as mock_router:
        yield mock_router


def call_json(
    kind: str,
    router: respx.MockRouter,
    settings: HTTPSettings,
    method: str = "POST",
    path: str = "chat/completions",
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    transport = httpx.MockTransport(router.handler)
    body = {"model": "m", "messages": []} if payload is None and method == "POST" else payload
    if kind == "sync":
        with httpx.Client(transport=transport) as client:
            return request_json(client, settings, method, path, body)

    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient(transport=transport) as client:
            return await arequest_json(client, settings, method, path, body)

    return asyncio.run(go())


def collect(
    kind: str, router: respx.MockRouter, settings: HTTPSettings, events: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """All events of a stream; ``events`` (when given) keeps those seen before an error."""
    seen: list[dict[str, Any]] = [] if events is None else events
    transport = httpx.MockTransport(router.handler)
    payload = {"model": "m", "messages": [], "stream": True}
    if kind == "sync":
        with httpx.Client(transport=transport) as client:
            for event in stream_events(client, settings, "chat/completions", payload):
                seen.append(event)
        return seen

    async def go() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            async for event in astream_events(client, settings, "chat/completions", payload):
                seen.append(event)

    asyncio.run(go())
    return seen


def sse_body(*events: object, done: bool = True) -> bytes:
    parts = [f"data: {json.dumps(event, separators=(',', ':'))}\n\n" for event in events]
    if done:
        parts.append("data: [DONE]\n\n")
    return "".join(parts).encode()


def chunk(text: str) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}}],
    }


USAGE = {
    "id": "c1",
    "object": "chat.completion.chunk",
    "choices": [],
    "usage": {"prompt_tokens": 3, "total_tokens": 5},
}
COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "choices": [{"index": 0, "message": {"content": "hi"}}],
}


class BrokenStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Delivers ``parts`` and then fails the way a dropped (or stalled) connection does."""

    def __init__(self, *parts: bytes, error: type[httpx.TransportError] = httpx.RemoteProtocolError) -> None:
        self.parts = parts
        self.error = error

    def __iter__(self) -> Iterator[bytes]:
        yield from self.parts
        raise self.error("peer closed connection without sending complete message body")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part
        raise self.error("peer closed connection without sending complete message body")


# --- headers and clients --------------------------------------------------------------------


def test_headers_without_key_have_no_authorization(fake: FakeTime) -> None:
    headers = build_headers(make_settings(fake), stream=False)
    assert headers == {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    assert USER_AGENT.startswith("nim-harness/")


def test_headers_with_key_and_case_insensitive_defaults(fake: FakeTime) -> None:
    settings = make_settings(
        fake, api_key=" nvapi-k ", default_headers={"user-agent": "app/1", "X-Extra": "y"}
    )
    assert build_headers(settings, stream=True) == {
        "Accept": "text/event-stream",
        "Content-Type": "application/json",
        "Authorization": "Bearer nvapi-k",
        "user-agent": "app/1",
        "X-Extra": "y",
    }


def test_key_with_a_newline_is_a_clear_error(fake: FakeTime) -> None:
    with pytest.raises(ValueError, match="NVIDIA_API_KEY"):
        make_settings(fake, api_key="nvapi-a\nb")


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"X Bad": "v"}, "invalid header name"),
        ({"": "v"}, "invalid header name"),
        ({"X-Num": 3}, "must be a string"),
        ({"X-Inject": "a\r\nEvil: 1"}, "line break"),
    ],
)
def test_bad_default_headers_are_named(fake: FakeTime, headers: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        make_settings(fake, default_headers=headers)


def test_settings_repr_hides_the_key(fake: FakeTime) -> None:
    assert "secret" not in repr(make_settings(fake, api_key="nvapi-secret"))


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("max_retries", -1, "max_retries"),
        ("timeout", 0, "timeout"),
        ("backoff_base", -0.1, "backoff_base"),
        ("base_url", "localhost:8000", "http://"),
        ("polling_base", "nvcf/status", "polling_base"),
    ],
)
def test_bad_settings_are_rejected(fake: FakeTime, field: str, value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        make_settings(fake, **{field: value})


def test_settings_normalise_the_base_url(fake: FakeTime) -> None:
    assert make_settings(fake, base_url="http://127.0.0.1:9/").base_url == "http://127.0.0.1:9/v1"


async def test_built_clients_are_pooled_and_rooted(fake: FakeTime) -> None:
    settings = make_settings(fake, timeout=7.0)
    with build_client(settings) as client:
        assert str(client.base_url) == f"{BASE}/"
        assert client.timeout.read == 7.0
    async with build_async_client(settings) as aclient:
        assert str(aclient.base_url) == f"{BASE}/"


def test_unserialisable_payload_is_a_clear_error(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    with pytest.raises(ValueError, match="cannot be sent as JSON"):
        call_json(kind, router, make_settings(fake), payload={"x": float("nan")})


# --- request_json ---------------------------------------------------------------------------


def test_request_sends_compact_json_and_no_authorization(
    kind: str, router: respx.MockRouter, fake: FakeTime
) -> None:
    route = router.post(CHAT).mock(return_value=httpx.Response(200, json=COMPLETION))
    assert (
        call_json(kind, router, make_settings(fake), payload={"model": "m", "messages": ["é"]}) == COMPLETION
    )
    request = route.calls.last.request
    assert "authorization" not in request.headers
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert request.content == '{"model":"m","messages":["é"]}'.encode()


def test_request_sends_the_key_when_set(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    route = router.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json={"data": []}))
    call_json(kind, router, make_settings(fake, api_key="nvapi-x"), method="GET", path="models")
    assert route.calls.last.request.headers["authorization"] == "Bearer nvapi-x"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (410, errors.NotFoundError),
        (413, errors.BadRequestError),
        (415, errors.BadRequestError),
        (422, errors.BadRequestError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (501, errors.ServerError),
        (502, errors.ServerError),
        (503, errors.ServerError),
        (504, errors.ServerError),
    ],
)
def test_each_error_status_raises_its_class(
    kind: str, router: respx.MockRouter, fake: FakeTime, status: int, cls: type[errors.NVIDIAError]
) -> None:
    route = router.post(CHAT).mock(
        return_value=httpx.Response(
            status, json={"error": {"message": f"said {status}"}}, headers={"x-request-id": "r"}
        )
    )
    with pytest.raises(cls) as info:
        call_json(kind, router, make_settings(fake))
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.message == f"said {status}"
    assert info.value.request_id == "r"
    retried = status in (429, 500, 502, 503, 504)
    assert route.call_count == (3 if retried else 1)
    assert fake.sleeps == ([0.5, 1.0] if retried else [])


def test_retry_then_success(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    route = router.post(CHAT).mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json=COMPLETION)]
    )
    assert call_json(kind, router, make_settings(fake)) == COMPLETION
    assert route.call_count == 3
    assert fake.sleeps == [0.5, 1.0]
    assert route.calls[0].request.content == route.calls[2].request.content


def test_retry_after_is_the_delay_chosen(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json=COMPLETION)]
    )
    call_json(kind, router, make_settings(fake))
    assert fake.sleeps == [3.0]


def test_rate_limit_retries_exhausted(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    route = router.post(CHAT).mock(
        return_value=httpx.Response(429, json={"status": 429, "title": "Too Many Requests"})
    )
    with pytest.raises(errors.RateLimitError, match="gave up after 2 retries") as info:
        call_json(kind, router, make_settings(fake))
    assert route.call_count == 3
    assert "slow down" in str(info.value)


def test_connection_error_is_retried(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    route = router.post(CHAT).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=COMPLETION)]
    )
    assert call_json(kind, router, make_settings(fake)) == COMPLETION
    assert route.call_count == 2


def test_connection_errors_exhausted(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(errors.APIConnectionError, match="ConnectError"):
        call_json(kind, router, make_settings(fake))


def test_timeout_exhausted(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    route = router.post(CHAT).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(errors.APITimeoutError):
        call_json(kind, router, make_settings(fake, max_retries=1))
    assert route.call_count == 2


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b""])
def test_success_that_is_not_a_json_object(
    kind: str, router: respx.MockRouter, fake: FakeTime, body: bytes
) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(200, content=body))
    with pytest.raises(errors.ResponseFormatError, match="expected a JSON object"):
        call_json(kind, router, make_settings(fake))


def test_error_object_with_status_200_is_raised(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(200, json={"error": {"message": "nope", "code": 404}}))
    with pytest.raises(errors.NotFoundError, match="nope"):
        call_json(kind, router, make_settings(fake))


def test_202_polling_on_request_json(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    post = router.post(CHAT).mock(return_value=httpx.Response(202, json={}, headers={"NVCF-REQID": "req-1"}))
    poll = router.get(f"{POLL_BASE}req-1").mock(
        side_effect=[httpx.Response(202), httpx.Response(202), httpx.Response(200, json=COMPLETION)]
    )
    settings = make_settings(fake, api_key="nvapi-k")
    assert call_json(kind, router, settings) == COMPLETION
    assert post.call_count == 1
    assert poll.call_count == 3
    assert fake.sleeps == [0.5, 0.5, 0.5]
    assert poll.calls.last.request.headers["authorization"] == "Bearer nvapi-k"
    assert poll.calls.last.request.headers["accept"] == "application/json"


def test_202_polling_times_out_naming_the_request(
    kind: str, router: respx.MockRouter, fake: FakeTime
) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(202, headers={"NVCF-REQID": "req-slow"}))
    poll = router.get(f"{POLL_BASE}req-slow").mock(return_value=httpx.Response(202))
    with pytest.raises(errors.APITimeoutError, match="req-slow") as info:
        call_json(kind, router, make_settings(fake, timeout=2.0))
    assert info.value.request_id == "req-slow"
    assert poll.call_count == 4  # polls at t=0.5, 1.0, 1.5, 2.0; the next would pass 2.0s
    assert fake.now <= 2.0


def test_202_without_reqid(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(202, json={}))
    with pytest.raises(errors.ResponseFormatError, match="NVCF-REQID"):
        call_json(kind, router, make_settings(fake))


def test_poll_that_fails_is_retried_then_succeeds(
    kind: str, router: respx.MockRouter, fake: FakeTime
) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(202, headers={"NVCF-REQID": "r2"}))
    poll = router.get(f"{POLL_BASE}r2").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=COMPLETION)]
    )
    assert call_json(kind, router, make_settings(fake)) == COMPLETION
    assert poll.call_count == 2


def test_poll_error_is_typed(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(202, headers={"NVCF-REQID": "r3"}))
    router.get(f"{POLL_BASE}r3").mock(
        return_value=httpx.Response(400, json={"status": 400, "title": "Bad Request", "detail": "bad input"})
    )
    with pytest.raises(errors.BadRequestError, match="bad input"):
        call_json(kind, router, make_settings(fake))


# --- stream_events --------------------------------------------------------------------------


def test_stream_events_and_done(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    route = router.post(CHAT).mock(
        return_value=httpx.Response(200, headers=SSE, content=sse_body(chunk("a"), chunk("b"), USAGE))
    )
    assert collect(kind, router, make_settings(fake)) == [chunk("a"), chunk("b"), USAGE]
    request = route.calls.last.request
    assert request.headers["accept"] == "text/event-stream"
    assert "authorization" not in request.headers


def test_usage_only_final_chunk_passes_through(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, content=sse_body(chunk("a"), USAGE)))
    assert collect(kind, router, make_settings(fake))[-1] == USAGE


def test_events_after_done_are_ignored(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    body = sse_body(chunk("a")) + b"data: not even json\n\n"
    router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, content=body))
    assert collect(kind, router, make_settings(fake)) == [chunk("a")]


def test_done_with_stray_whitespace_still_ends_the_stream(
    kind: str, router: respx.MockRouter, fake: FakeTime
) -> None:
    body = sse_body(chunk("a"), done=False) + b"data:  [DONE] \n\ndata: after\n\n"
    router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, content=body))
    assert collect(kind, router, make_settings(fake)) == [chunk("a")]


def test_missing_done_ends_quietly(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    # transformers serve: the finish chunk carries usage, then the stream just ends.
    body = sse_body(chunk("a"), chunk("b"), done=False)
    router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, content=body))
    assert collect(kind, router, make_settings(fake)) == [chunk("a"), chunk("b")]


def test_last_event_without_blank_line_is_delivered(
    kind: str, router: respx.MockRouter, fake: FakeTime
) -> None:
    body = sse_body(chunk("a"), done=False) + b'data: {"id":"c1","choices":[]}'
    router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, content=body))
    assert collect(kind, router, make_settings(fake)) == [chunk("a"), {"id": "c1", "choices": []}]


def test_stream_cut_inside_an_event(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    body = sse_body(chunk("a"), done=False) + b'data: {"id":"c1","choi'
    router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, content=body))
    seen: list[dict[str, Any]] = []
    with pytest.raises(errors.APIConnectionError, match="middle of an event"):
        collect(kind, router, make_settings(fake), seen)
    assert seen == [chunk("a")]


def test_connection_dropped_mid_stream_is_not_retried(
    kind: str, router: respx.MockRouter, fake: FakeTime
) -> None:
    route = router.post(CHAT).mock(
        return_value=httpx.Response(
            200, headers={**SSE, "x-request-id": "rq"}, stream=BrokenStream(sse_body(chunk("a"), done=False))
        )
    )
    seen: list[dict[str, Any]] = []
    with pytest.raises(errors.APIConnectionError, match="after 1 event") as info:
        collect(kind, router, make_settings(fake), seen)
    assert type(info.value) is errors.APIConnectionError
    assert info.value.request_id == "rq"
    assert seen == [chunk("a")]
    assert route.call_count == 1


def test_stream_that_stalls_mid_way_is_a_timeout(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    stream = BrokenStream(sse_body(chunk("a"), chunk("b"), done=False), error=httpx.ReadTimeout)
    route = router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, stream=stream))
    with pytest.raises(errors.APITimeoutError, match="stalled after 2 event"):
        collect(kind, router, make_settings(fake))
    assert route.call_count == 1


def test_absurdly_deep_json_is_a_format_error(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    router.post(CHAT).mock(return_value=httpx.Response(200, content=deep))
    with pytest.raises(errors.ResponseFormatError):
        call_json(kind, router, make_settings(fake))
    router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, content=b"data: " + deep + b"\n\n"))
    with pytest.raises(errors.ResponseFormatError):
        collect(kind, router, make_settings(fake))


def test_drop_before_the_first_event_is_retried(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    route = router.post(CHAT).mock(
        side_effect=[
            httpx.Response(200, headers=SSE, stream=BrokenStream(b'data: {"id"')),
            httpx.Response(200, headers=SSE, content=sse_body(chunk("a"))),
        ]
    )
    assert collect(kind, router, make_settings(fake)) == [chunk("a")]
    assert route.call_count == 2


def test_stream_retried_on_503_before_it_starts(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, headers=SSE, content=sse_body(chunk("a")))]
    )
    assert collect(kind, router, make_settings(fake)) == [chunk("a")]
    assert fake.sleeps == [0.5]


def test_stream_http_error_is_typed(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(
        return_value=httpx.Response(
            400, json={"detail": "Server is pinned to 'local/tiny-qwen2'; requested 'x'."}
        )
    )
    with pytest.raises(errors.BadRequestError, match="pinned"):
        collect(kind, router, make_settings(fake))


@pytest.mark.parametrize(
    ("error_event", "cls"),
    [
        (
            {
                "error": {
                    "object": "error",
                    "message": "too long",
                    "type": "BadRequestError",
                    "param": None,
                    "code": 400,
                }
            },
            errors.BadRequestError,
        ),
        (
            {"error": {"message": "engine died", "type": "InternalServerError", "param": None, "code": 500}},
            errors.ServerError,
        ),
        ({"error": "CUDA out of memory"}, errors.ServerError),
    ],
)
def test_in_stream_error_events_raise_after_earlier_events(
    kind: str,
    router: respx.MockRouter,
    fake: FakeTime,
    error_event: dict[str, Any],
    cls: type[errors.NVIDIAError],
) -> None:
    # vLLM writes error events with json.dumps' default spacing; keep that on the wire.
    body = sse_body(chunk("a"), done=False) + f"data: {json.dumps(error_event)}\n\ndata: [DONE]\n\n".encode()
    router.post(CHAT).mock(
        return_value=httpx.Response(200, headers={**SSE, "x-request-id": "rid"}, content=body)
    )
    seen: list[dict[str, Any]] = []
    with pytest.raises(cls) as info:
        collect(kind, router, make_settings(fake), seen)
    assert seen == [chunk("a")]
    assert info.value.request_id == "rid"
    assert info.value.in_stream


def test_event_type_error_with_plain_text(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(
        return_value=httpx.Response(200, headers=SSE, content=b"event: error\ndata: overloaded\n\n")
    )
    with pytest.raises(errors.ServerError, match="overloaded"):
        collect(kind, router, make_settings(fake))


@pytest.mark.parametrize("data", [b"data: {not json}\n\n", b"data: [1, 2]\n\n"])
def test_undecodable_event_data(kind: str, router: respx.MockRouter, fake: FakeTime, data: bytes) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, content=data))
    with pytest.raises(errors.ResponseFormatError, match="stream event"):
        collect(kind, router, make_settings(fake))


def test_keep_alive_comments_and_empty_events_are_skipped(
    kind: str, router: respx.MockRouter, fake: FakeTime
) -> None:
    body = b": ping\n\ndata:\n\n" + sse_body(chunk("a"))
    router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, content=body))
    assert collect(kind, router, make_settings(fake)) == [chunk("a")]


def test_html_instead_of_a_stream_is_a_format_error(
    kind: str, router: respx.MockRouter, fake: FakeTime
) -> None:
    router.post(CHAT).mock(
        return_value=httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>login</html>")
    )
    with pytest.raises(errors.ResponseFormatError, match="text/html: '<html>login</html>'"):
        collect(kind, router, make_settings(fake))


@pytest.mark.parametrize("body", [b"", b": just a comment\n\n", b"event: ping\n\n"])
def test_stream_without_any_event_is_a_format_error(
    kind: str, router: respx.MockRouter, fake: FakeTime, body: bytes
) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, content=body))
    with pytest.raises(errors.ResponseFormatError, match="without a single event"):
        collect(kind, router, make_settings(fake))


def test_stream_of_only_done_is_empty_not_an_error(
    kind: str, router: respx.MockRouter, fake: FakeTime
) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(200, headers=SSE, content=b"data: [DONE]\n\n"))
    assert collect(kind, router, make_settings(fake)) == []


def test_stream_without_content_type_is_read_as_sse(
    kind: str, router: respx.MockRouter, fake: FakeTime
) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(200, content=sse_body(chunk("a"))))
    assert collect(kind, router, make_settings(fake)) == [chunk("a")]


def test_202_polling_on_stream_delivers_sse(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(202, json={}, headers={"NVCF-REQID": "s1"}))
    poll = router.get(f"{POLL_BASE}s1").mock(
        side_effect=[
            httpx.Response(202),
            httpx.Response(200, headers=SSE, content=sse_body(chunk("a"), USAGE)),
        ]
    )
    assert collect(kind, router, make_settings(fake, api_key="nvapi-k")) == [chunk("a"), USAGE]
    assert poll.calls.last.request.headers["accept"] == "text/event-stream"
    assert poll.calls.last.request.headers["authorization"] == "Bearer nvapi-k"


def test_202_polling_on_stream_delivers_json_as_one_event(
    kind: str, router: respx.MockRouter, fake: FakeTime
) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(202, headers={"NVCF-REQID": "s2"}))
    router.get(f"{POLL_BASE}s2").mock(return_value=httpx.Response(200, json=COMPLETION))
    assert collect(kind, router, make_settings(fake)) == [COMPLETION]


def test_202_polling_on_stream_times_out(kind: str, router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(return_value=httpx.Response(202, headers={"NVCF-REQID": "s3"}))
    router.get(f"{POLL_BASE}s3").mock(return_value=httpx.Response(202))
    with pytest.raises(errors.APITimeoutError, match="s3"):
        collect(kind, router, make_settings(fake, timeout=1.0))


def test_closing_the_stream_early_stops_reading(router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(
        return_value=httpx.Response(200, headers=SSE, content=sse_body(chunk("a"), chunk("b")))
    )
    with httpx.Client(transport=httpx.MockTransport(router.handler)) as client:
        events = stream_events(client, make_settings(fake), "chat/completions", {"stream": True})
        assert next(events) == chunk("a")
        events.close()  # GeneratorExit closes the response; nothing leaks
        with pytest.raises(StopIteration):
            next(events)


async def test_async_stream_can_be_closed_early(router: respx.MockRouter, fake: FakeTime) -> None:
    router.post(CHAT).mock(
        return_value=httpx.Response(200, headers=SSE, content=sse_body(chunk("a"), chunk("b")))
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.handler)) as client:
        events = astream_events(client, make_settings(fake), "chat/completions", {"stream": True})
        assert await anext(events) == chunk("a")
        await events.aclose()
        with pytest.raises(StopAsyncIteration):
            await anext(events)


# --- the reader alone: chunking never changes what a stream means ------------------------------

_event_dicts = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.text(max_size=5),
            "choices": st.lists(
                st.fixed_dictionaries({"delta": st.fixed_dictionaries({"content": st.text(max_size=10)})}),
                min_size=1,
                max_size=2,
            ),
        }
    ),
    min_size=1,
    max_size=6,
)


@hypothesis_settings(max_examples=100)
@given(
    events=_event_dicts,
    done=st.booleans(),
    cuts=st.lists(st.integers(0, 2000), max_size=10),
    eol=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_event_reader_is_split_invariant(
    events: list[dict[str, Any]], done: bool, cuts: list[int], eol: str
) -> None:
    lines = [f"data: {json.dumps(event, ensure_ascii=False)}{eol}{eol}" for event in events]
    raw = ("".join(lines) + (f"data: [DONE]{eol}{eol}" if done else "")).encode()
    points = sorted({min(cut, len(raw)) for cut in cuts})
    pieces = [raw[start:end] for start, end in zip([0, *points], [*points, len(raw)], strict=True)]
    reader = EventReader(200, SSE)
    seen = [event for piece in pieces for event in reader.feed(piece)]
    seen.extend(reader.finish())
    assert seen == events
    assert reader.done is done


@pytest.mark.parametrize(
    "data",
    [
        '{"choices":[{"delta":{"content":"x"}}],"score":NaN}',
        '{"choices":[{"delta":{"content":"x"}}],"score":-Infinity}',
        '{"choices":[{"delta":{"content":"\\ud800"}}]}',
        '{"choices":[{"delta":{"content":"x"}}],"big":1e400}',
    ],
    ids=["nan", "infinity", "lone-surrogate", "float-overflow"],
)
def test_event_reader_reads_what_json_loads_reads_where_the_fast_parser_refuses(data: str) -> None:
    reader = EventReader(200, SSE)
    seen = list(reader.feed(f"data: {data}\n\n".encode()))
    # compared as JSON text: NaN is not equal to itself
    assert json.dumps(seen) == json.dumps([json.loads(data)])


def test_models_with_the_same_settings_share_one_sync_client_and_keep_their_keys_apart() -> None:
    """A fresh model's first call reuses the process's pool instead of building a client of its own."""
    from nim_harness import ChatNVIDIA

    first = ChatNVIDIA(model="m", base_url="http://127.0.0.1:9/v1", api_key="nvapi-first-key-0000")
    second = ChatNVIDIA(model="m", base_url="http://127.0.0.1:9/v1", api_key="nvapi-second-key-000")
    other_url = ChatNVIDIA(model="m", base_url="http://127.0.0.1:10/v1", api_key=None)
    other_timeout = ChatNVIDIA(model="m", base_url="http://127.0.0.1:9/v1", timeout=5.0)
    shared = first._http()
    assert second._http() is shared
    assert other_url._http() is not shared
    assert other_timeout._http() is not shared
    assert "authorization" not in shared.headers  # keys travel with each request, never on the client
    shared.close()
    replaced = ChatNVIDIA(model="m", base_url="http://127.0.0.1:9/v1")._http()
    assert replaced is not shared
    assert not replaced.is_closed
