"""Every fault against our ChatNVIDIA, over real uvicorn on a loopback port: what the client does.

The module server replays the bundled cassettes and synthesizes an answer on a miss, so the same
faults are shown on top of recorded and made-up answers. Per-request faults travel in the
``x-nim-mock-fault`` header (``default_headers``); rules that count requests get a fresh server.
Every model has a short timeout, so a fault the client mishandles fails the test instead of hanging it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessageChunk
from nim_harness import (
    APIConnectionError,
    BadRequestError,
    ChatNVIDIA,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)
from starlette.applications import Starlette

from nim_mock import bundled_cassettes_dir, create_app, load_cassettes, serve_in_thread
from nim_mock.faults.kinds import FaultRules
from nim_mock.faults.plan import FaultPlan
from nim_mock.faults.rules import parse_fault_rules

MODEL = "meta/llama-3.1-8b-instruct"
RECORDED = {"temperature": 0.2, "top_p": 0.7, "max_tokens": 1024}
PLAIN = "In one sentence, what is NVIDIA NIM?"  # bundled chat/plain
STREAMED = "Name three primary colors."  # bundled chat/stream_usage
UNRECORDED = "Nothing recorded asks this."  # synthesized


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Starlette]]:
    app = create_app(load_cassettes([bundled_cassettes_dir()]), on_miss="synthesize")
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def base(server: tuple[str, Starlette]) -> str:
    return server[0]


@pytest.fixture
def plan(server: tuple[str, Starlette]) -> Iterator[FaultPlan]:
    """The module server's live fault plan; a test's rules are dropped when it ends."""
    faults: FaultPlan = server[1].state.faults
    yield faults
    faults.replace(FaultRules())


Chat = Callable[..., ChatNVIDIA]


def make_chat(made: list[httpx.Client]) -> Chat:
    """``chat(base, fault=None, **fields)``: a ChatNVIDIA sending ``fault`` in its header, whose
    sync HTTP client lands in ``made`` to be closed (no socket left to the garbage collector)."""

    def chat(base: str, fault: str | None = None, **fields: Any) -> ChatNVIDIA:
        options: dict[str, Any] = {"max_retries": 2, "timeout": 5.0, **RECORDED, **fields}
        headers = {"x-nim-mock-fault": fault} if fault else {}
        made.append(httpx.Client(timeout=options["timeout"]))
        return ChatNVIDIA(
            model=MODEL,
            base_url=f"{base}/v1",
            api_key=None,
            default_headers=headers,
            http_client=made[-1],
            **options,
        )

    return chat


@pytest.fixture
def chat() -> Iterator[Chat]:
    made: list[httpx.Client] = []
    yield make_chat(made)
    for client in made:
        client.close()


def joined(chunks: Iterator[AIMessageChunk]) -> str:
    return "".join(str(chunk.content) for chunk in chunks)


def timed(chunks: Iterator[AIMessageChunk]) -> tuple[str, list[float]]:
    """A stream's text and each chunk's arrival in seconds; the clock starts before the request is sent
    (the stream is lazy), so the first arrival includes the time to the first token."""
    started = time.monotonic()
    arrivals: list[float] = []
    text = ""
    for chunk in chunks:
        arrivals.append(time.monotonic() - started)
        text += str(chunk.content)
    return text, arrivals


@pytest.fixture(scope="module")
def clean(base: str) -> Iterator[dict[str, str]]:
    """The unfaulted answers, to compare faulted ones with."""
    made: list[httpx.Client] = []
    chat = make_chat(made)
    yield {
        "plain": str(chat(base).invoke(PLAIN).content),
        "stream": joined(chat(base).stream(STREAMED)),
        "synth": joined(chat(base).stream(UNRECORDED)),
    }
    for client in made:
        client.close()


# -- 429 and 5xx -------------------------------------------------------------------------------------


def test_429_retry_after_is_honoured_then_success(
    chat: Chat, base: str, plan: FaultPlan, clean: dict[str, str]
) -> None:
    plan.replace(parse_fault_rules({"rules": [{"when": {"first": 2}, "fault": "429;retry_after=0.2"}]}))
    started = time.monotonic()
    answer = chat(base).invoke(PLAIN)
    waited = time.monotonic() - started
    assert answer.content == clean["plain"]  # the recording was kept for the retry, not used up
    assert waited >= 0.35  # two waits of 0.2 s, as the server asked (loose: no upper bound)
    assert [a.labels for a in plan.applied] == [("429 retry_after=0.2 <rules[0]>",)] * 2


def test_429_without_retry_after_backs_off_then_success(
    chat: Chat, base: str, plan: FaultPlan, clean: dict[str, str]
) -> None:
    plan.replace(parse_fault_rules({"rules": [{"when": {"first": 1}, "fault": {"kind": "rate_limit"}}]}))
    answer = chat(base).invoke(PLAIN)
    assert answer.content == clean["plain"]
    assert len(plan.applied) == 1


def test_429_every_time_exhausts_retries(chat: Chat, base: str) -> None:
    with pytest.raises(RateLimitError) as caught:
        chat(base, "429;retry_after=0.05").invoke(PLAIN)
    assert caught.value.retries == 2
    assert caught.value.retry_after == pytest.approx(0.05)
    assert caught.value.status == 429


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_retried_then_server_error(chat: Chat, base: str, status: int) -> None:
    with pytest.raises(ServerError) as caught:
        chat(base, f"{status};retry_after=0.01", max_retries=1).invoke(PLAIN)
    assert caught.value.status == status
    assert caught.value.retries == 1
    assert f"HTTP {status}" in str(caught.value)


def test_5xx_once_then_success(chat: Chat, base: str, plan: FaultPlan, clean: dict[str, str]) -> None:
    plan.replace(
        parse_fault_rules(
            {"rules": [{"when": {"first": 1}, "fault": {"kind": "server_error", "status": 503}}]}
        )
    )
    assert joined(chat(base).stream(STREAMED)) == clean["stream"]
    assert [a.labels for a in plan.applied] == [("503 <rules[0]>",)]


def test_gateway_layout_429_reads_as_rate_limit(chat: Chat, base: str) -> None:
    with pytest.raises(RateLimitError, match="Too Many Requests"):
        chat(base, "429;layout=gateway", max_retries=0).invoke(PLAIN)


# -- 202 + NVCF-REQID polling ----------------------------------------------------------------------


@pytest.mark.parametrize("question", [PLAIN, UNRECORDED])
def test_202_polling_completes(chat: Chat, base: str, clean: dict[str, str], question: str) -> None:
    llm = chat(base, "202;polls=2", polling_base=f"{base}/v2/nvcf/pexec/status/")
    answer = llm.invoke(question)
    if question == PLAIN:
        assert answer.content == clean["plain"]
    else:
        assert answer.content


async def test_202_polling_of_a_stream_delivers_the_stream(
    chat: Chat, base: str, clean: dict[str, str]
) -> None:
    llm = chat(base, "202;polls=1", polling_base=f"{base}/v2/nvcf/pexec/status/")
    text = "".join([str(chunk.content) async for chunk in llm.astream(STREAMED)])
    assert text == clean["stream"]


def test_202_polling_past_the_timeout_is_a_timeout_error(chat: Chat, base: str) -> None:
    from nim_harness import APITimeoutError

    llm = chat(base, "202;polls=1000", polling_base=f"{base}/v2/nvcf/pexec/status/", timeout=0.3)
    with pytest.raises(APITimeoutError, match="still pending"):
        llm.invoke(PLAIN)


# -- broken streams --------------------------------------------------------------------------------


@pytest.mark.parametrize("question", [STREAMED, UNRECORDED])
def test_cut_stream_raises_connection_error_after_the_events_it_got(
    chat: Chat, base: str, question: str
) -> None:
    received: list[AIMessageChunk] = []
    with pytest.raises(APIConnectionError, match=r"dropped after 3 event\(s\)") as caught:
        received.extend(chat(base, "cut;after=3").stream(question))
    assert "incomplete chunked read" in str(caught.value)
    assert 1 <= len(received) <= 3  # what arrived before the drop reached the caller


async def test_cut_before_the_first_event_is_retried(
    chat: Chat, base: str, plan: FaultPlan, clean: dict[str, str]
) -> None:
    plan.replace(parse_fault_rules({"rules": [{"when": {"first": 1}, "fault": {"kind": "cut", "after": 0}}]}))
    text = "".join([str(c.content) async for c in chat(base).astream(STREAMED)])
    assert text == clean["stream"]
    assert [a.labels for a in plan.applied] == [("cut after=0 <rules[0]>",)]


@pytest.mark.parametrize("question", [STREAMED, UNRECORDED])
def test_malformed_event_raises_response_format_error(chat: Chat, base: str, question: str) -> None:
    with pytest.raises(ResponseFormatError, match="not JSON"):
        list(chat(base, "malformed;after=2").stream(question))


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("stream_error;after=2;layout=nim", ServerError),
        ("stream_error;after=2;layout=vllm", ServerError),
        ("stream_error;after=2;layout=nim;code=400", BadRequestError),
        ("stream_error;after=4;layout=vllm;code=429", RateLimitError),
    ],
)
def test_in_stream_error_raises_the_typed_error(
    chat: Chat, base: str, fault: str, error: type[Exception]
) -> None:
    got: list[AIMessageChunk] = []
    with pytest.raises(error, match="the stream failed after") as caught:
        got.extend(chat(base, fault).stream(STREAMED))
    assert getattr(caught.value, "in_stream", False)
    assert got  # the events before the error reached the caller


# -- slow answers ----------------------------------------------------------------------------------


def test_latency_arrives_late_but_correct(chat: Chat, base: str, clean: dict[str, str]) -> None:
    started = time.monotonic()
    answer = chat(base, "latency;ms=150").invoke(PLAIN)
    assert time.monotonic() - started >= 0.12
    assert answer.content == clean["plain"]


@pytest.mark.parametrize("question", [STREAMED, UNRECORDED])
def test_slow_first_token_then_normal_pace(
    chat: Chat, base: str, clean: dict[str, str], question: str
) -> None:
    text, arrivals = timed(chat(base, "slow_first_token;ms=150").stream(question))
    assert text == clean["stream" if question == STREAMED else "synth"]
    assert arrivals[0] >= 0.12
    assert arrivals[-1] - arrivals[0] < 0.12  # the rest came at the replay's own (instant) pace


def test_slow_tokens_spread_the_stream_out(chat: Chat, base: str, clean: dict[str, str]) -> None:
    text, arrivals = timed(chat(base, "slow_tokens;ms=10").stream(STREAMED))
    assert text == clean["stream"]
    assert len(arrivals) > 5
    assert arrivals[-1] - arrivals[0] >= 0.008 * (len(arrivals) - 2)  # roughly 10 ms between events


# -- bad header --------------------------------------------------------------------------------------


def test_bad_fault_header_is_a_bad_request_naming_the_syntax(chat: Chat, base: str) -> None:
    with pytest.raises(BadRequestError, match=r"unknown fault kind 'teapot'.*KIND\[;NAME=VALUE\]"):
        chat(base, "teapot").invoke(PLAIN)
