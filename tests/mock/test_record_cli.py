"""``nim-mock record``: the console script as a user runs it, in front of a real uvicorn upstream.

The upstream is a small Starlette app on a loopback port whose stream can be held before its last
event (a gate the test opens), so "the client sees the first event before the last is sent" is
shown by order, not by timing. The proxy runs as a subprocess per module (announce line, one log
line per exchange, Ctrl-C at teardown must exit 0 without a traceback).
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from cli_runs import nim_mock_command, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from nim_mock import create_app, load_cassettes, serve_in_thread
from nim_mock.cassettes.check import check_folders
from nim_mock.cassettes.naming import cassette_path, derive_cassette_name
from nim_mock.cli import build_parser, main
from nim_mock.record.proxy import create_recording_app
from nim_mock.record.writer import CassetteWriter, TestCassetteWriter

MODEL = "local/tiny-qwen2"
LISTED = "hunter2-listed-value"  # passed with --redact: a secret of no recognisable shape
NOTE = f"Answered by the test upstream (Starlette) serving {MODEL}."  # passed with --description


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


@dataclass
class Upstream:
    """The real server the proxy forwards to; ``gate`` holds its stream before the last event."""

    url: str = ""
    gate: threading.Event = field(default_factory=threading.Event)
    served: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        async def chat(request: Request) -> Response:
            body = json.loads(await request.body())
            if not body.get("stream"):
                return JSONResponse(
                    {
                        "id": "chatcmpl-2",
                        "object": "chat.completion",
                        "created": 1,
                        "model": MODEL,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": "Hi."},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                )
            return StreamingResponse(self._stream(), media_type="text/event-stream")

        async def echo(request: Request) -> Response:
            """Everything the request carried, sent back in the body and a set-cookie header."""
            received = {
                "headers": dict(request.headers),
                "query": request.url.query,
                "body": (await request.body()).decode("utf-8", "replace"),
                "cookies": dict(request.cookies),  # the bare value, without its "session="
            }
            cookie = request.headers.get("cookie")
            return JSONResponse({"echo": received}, headers={"set-cookie": cookie} if cookie else None)

        async def drop(request: Request) -> Response:
            async def events() -> AsyncIterator[bytes]:
                yield _chunk({"role": "assistant", "content": ""})
                yield _chunk({"content": "partial"})
                await asyncio.sleep(0.05)
                raise ConnectionAbortedError("upstream dies mid-stream (on purpose)")

            return StreamingResponse(events(), media_type="text/event-stream")

        async def leaky(request: Request) -> Response:
            return JSONResponse({"cookie": "session=f00dfeed1234abcd", "note": "id f00dfeed1234abcd"})

        async def models(request: Request) -> Response:
            return JSONResponse(
                {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "me"}]}
            )

        return Starlette(
            routes=[
                Route("/v1/chat/completions", chat, methods=["POST"]),
                Route("/v1/echo", echo, methods=["POST", "GET"]),
                Route("/v1/drop", drop, methods=["POST"]),
                Route("/v1/leaky", leaky),
                Route("/v1/models", models),
            ]
        )

    async def _stream(self) -> AsyncIterator[bytes]:
        yield _chunk({"role": "assistant", "content": ""})
        for word in ("Hello", " from", " upstream"):
            yield _chunk({"content": word})
        await asyncio.to_thread(self.gate.wait, 10.0)  # the last event waits for the test
        self.served.append("last event sent")
        yield _chunk({"content": ""}, "stop")
        yield b"data: [DONE]\n\n"


@dataclass
class Proxy:
    process: subprocess.Popen[str]
    url: str
    folder: Path
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def files(self) -> set[Path]:
        return set(self.folder.rglob("*"))

    def next_line(self, timeout: float = 10.0) -> str:
        line = self.lines.get(timeout=timeout)
        self.seen.append(line)
        return line


def _start_proxy(upstream: str, folder: Path, *extra: str) -> Proxy:
    env = {k: v for k, v in os.environ.items() if k not in ("NVIDIA_API_KEY", "NIM_REDACT")}
    argv = ["record", "--upstream", upstream, "--cassettes", str(folder), "--port", "0", *extra]
    process = subprocess.Popen(
        [*nim_mock_command(), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    banner = process.stdout.readline()
    found = re.search(r"recording (http://127\.0\.0\.1:\d+/v1) -> ", banner)
    if not found:
        process.kill()
        raise AssertionError(f"no banner: {banner!r} {process.stderr.read()!r}")
    proxy = Proxy(process, found.group(1), folder)
    stderr = process.stderr

    def pump() -> None:
        for line in stderr:
            proxy.lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return proxy


def _stop(proxy: Proxy) -> str:
    """Ctrl-C, as a user stops it: exit 0, no traceback; returns the rest of its log."""
    proxy.process.send_signal(signal.SIGINT)
    assert proxy.process.wait(timeout=10) == 0
    time.sleep(0.05)
    rest = []
    while not proxy.lines.empty():
        rest.append(proxy.lines.get())
    log = "\n".join([*proxy.seen, *rest])
    assert "Traceback" not in log
    return log


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    server.gate.set()
    with serve_in_thread(server.app()) as url:
        server.url = url
        yield server


@pytest.fixture(scope="module")
def proxy(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    running = _start_proxy(
        upstream.url + "/v1", tmp_path_factory.mktemp("recorded"), "--redact", LISTED, "--description", NOTE
    )
    yield running
    log = _stop(running)
    assert re.search(r"stopped: \d+ written, \d+ failed", log)


def _chat(stream: bool = True, content: str = "Hi") -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": content}], "stream": stream}


def test_the_first_event_reaches_the_client_before_the_upstream_sends_the_last(
    proxy: Proxy, upstream: Upstream, http: httpx.Client
) -> None:
    upstream.gate.clear()
    try:
        received: list[bytes] = []
        with http.stream("POST", proxy.url + "/chat/completions", json=_chat()) as response:
            chunks = response.iter_bytes()
            while b"Hello" not in b"".join(received):
                received.append(next(chunks))
            assert upstream.served == []  # the upstream is still holding its last event
            upstream.gate.set()
            received.extend(chunks)
    finally:
        upstream.gate.set()
    assert upstream.served == ["last event sent"]
    assert b"".join(received).endswith(b"data: [DONE]\n\n")
    line = proxy.next_line()
    assert re.fullmatch(
        r"nim-mock: POST /v1/chat/completions 200, 6 events, first [\d.]+ ms, last [\d.]+ ms: wrote .*\.json",
        line,
    )
    path = Path(line.rsplit("wrote ", 1)[1])
    assert path.name.endswith("-post-v1-chat-completions-local-tiny-qwen2.json")
    events = (
        next(c for c in load_cassettes([proxy.folder]) if c.name == path.stem).interactions[0].response.events
    )
    assert events is not None
    assert b"".join(e.raw for e in events) == b"".join(received)  # byte for byte, as relayed
    assert [e.t_ms for e in events] == sorted(e.t_ms for e in events)


def test_each_exchange_gets_its_own_file_and_log_line_and_replays(
    proxy: Proxy, upstream: Upstream, http: httpx.Client
) -> None:
    before = proxy.files()
    plain = http.post(proxy.url + "/chat/completions", json=_chat(stream=False, content="plain please"))
    listing = http.get(proxy.url + "/models")
    assert (plain.status_code, listing.status_code) == (200, 200)
    first, second = proxy.next_line(), proxy.next_line()
    assert re.fullmatch(
        r"nim-mock: POST /v1/chat/completions 200, \d+ bytes, headers at [\d.]+ ms: wrote .*", first
    )
    assert re.fullmatch(r"nim-mock: GET /v1/models 200, \d+ bytes, headers at [\d.]+ ms: wrote .*", second)
    new = sorted(p.name for p in proxy.files() - before)
    assert len(new) == 2
    assert re.fullmatch(r"\d{4}-post-v1-chat-completions-local-tiny-qwen2\.json", new[0])
    assert re.fullmatch(r"\d{4}-get-v1-models\.json", new[1])
    assert int(new[1][:4]) == int(new[0][:4]) + 1
    for name in new:  # where, when, and what answered (--description)
        description = json.loads((proxy.folder / name).read_text(encoding="utf-8"))["description"]
        assert re.fullmatch(
            rf"Recorded by nim-mock record from {re.escape(upstream.url)}/v1 at "
            rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\. {re.escape(NOTE)}",
            description,
        )
    # what was recorded is what `nim-mock serve` replays
    with serve_in_thread(create_app(load_cassettes([proxy.folder]))) as mock:
        replayed = http.post(mock + "/v1/chat/completions", json=_chat(stream=False, content="plain please"))
        assert replayed.content == plain.content
        assert http.get(mock + "/v1/models").content == listing.content


@contextmanager
def _in_process(upstream_url: str, folder: Path) -> Iterator[tuple[str, CassetteWriter, list[str]]]:
    """What ``nim-mock record`` runs (the writer behind the recording app) without a process start:
    the console script itself is covered by the module's ``proxy``; these tests need a fresh folder
    or upstream each, and a subprocess apiece would cost a second of interpreter start-up."""
    lines: list[str] = []
    writer = CassetteWriter(folder, upstream_url, lines.append)
    origin, _, api = upstream_url.rpartition("/")
    with serve_in_thread(create_recording_app(origin, writer)) as base:
        yield f"{base}/{api}", writer, lines


def test_an_existing_cassette_is_never_overwritten(
    upstream: Upstream, tmp_path: Path, http: httpx.Client
) -> None:
    taken = tmp_path / "0001-get-v1-models.json"
    taken.write_text("not mine")
    with _in_process(upstream.url + "/v1", tmp_path) as (url, writer, lines):
        assert http.get(url + "/models").status_code == 200
    assert lines[0].endswith("0002-get-v1-models.json")
    assert writer.written == [tmp_path / "0002-get-v1-models.json"]
    assert taken.read_text() == "not mine"


def _hold_a_stream(url: str, started: threading.Event, outcome: list[str]) -> None:
    try:
        with httpx.Client(timeout=10.0) as client, client.stream("POST", url, json=_chat()) as response:
            for chunk in response.iter_bytes():
                if b"upstream" in chunk:
                    started.set()
        outcome.append("complete")
    except httpx.HTTPError as error:
        outcome.append(type(error).__name__)
    finally:
        started.set()


def test_ctrl_c_during_a_stream_stops_cleanly_and_writes_nothing(upstream: Upstream, tmp_path: Path) -> None:
    proxy = _start_proxy(upstream.url + "/v1", tmp_path / "out")
    upstream.gate.clear()  # the stream stays open until after the proxy is stopped
    started, outcome = threading.Event(), []
    reader = threading.Thread(target=_hold_a_stream, args=(proxy.url + "/chat/completions", started, outcome))
    try:
        reader.start()
        assert started.wait(10)
        log = _stop(proxy)  # exit 0 and no traceback, even with an exchange in flight
    finally:
        upstream.gate.set()
        reader.join(10)
    assert len(outcome) == 1
    assert outcome != ["complete"]  # the client sees a cut stream, not a clean end
    assert "FAILED POST" in log
    assert "nothing recorded" in log
    assert "stopped: 0 written, 1 failed" in log
    assert not (tmp_path / "out").exists()


def test_openai_sdk_and_chat_nvidia_record_through_the_proxy(proxy: Proxy) -> None:
    from nim_harness import ChatNVIDIA

    sdk = openai.OpenAI(base_url=proxy.url, api_key="local-key-not-a-secret-shape-1234", max_retries=0)
    words = [
        c.choices[0].delta.content
        for c in sdk.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "sdk"}], stream=True
        )
        if c.choices
    ]
    assert "".join(w or "" for w in words) == "Hello from upstream"
    assert ": wrote " in proxy.next_line()
    llm = ChatNVIDIA(
        model=MODEL, base_url=proxy.url, api_key="local-key-not-a-secret-shape-1234", max_retries=0
    )
    assert llm.invoke("nvidia").content == "Hi."
    written = proxy.next_line()
    assert ": wrote " in written
    # the key the clients sent has no known shape, yet it never reaches disk
    for path in proxy.folder.glob("*.json"):
        assert "local-key-not-a-secret-shape-1234" not in path.read_text()


# -- secrets ---------------------------------------------------------------------------------------

token = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=16, max_size=40
).filter(
    lambda text: (
        "redacted" not in text.lower()
    )  # Hypothesis also draws the code's own "REDACTED": a placeholder
)


@st.composite
def secrets_request(draw: st.DrawFn) -> tuple[dict[str, str], str, dict[str, Any], list[str]]:
    """Headers, a query and a body carrying fake keys, and the secret strings that must not be stored."""
    nvapi = "nvapi-" + draw(token)
    bearer = draw(token)
    api_key = draw(token)
    cookie = draw(token)
    query_key = draw(token)
    headers: dict[str, str] = {}
    secret_values = [nvapi]
    if draw(st.booleans()):
        headers["authorization"] = f"Bearer {bearer}"
        secret_values.append(bearer)
    if draw(st.booleans()):
        headers["api-key"] = api_key
        secret_values.append(api_key)
    if draw(st.booleans()):
        headers["cookie"] = f"session={cookie}"
        secret_values.append(cookie)
    where = draw(st.sampled_from(["header", "body", "query", "key"]))
    listed_in = draw(st.sampled_from(["header", "body"]))
    headers[draw(st.sampled_from(["x-note", "x-trace"]))] = (
        f"id {nvapi}" if where == "header" else "plain"
    ) + (f" {LISTED}" if listed_in == "header" else "")
    text = draw(st.text(max_size=20))
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": text + (f" use {nvapi}" if where == "body" else "")}],
        "note": LISTED if listed_in == "body" else "none",
    }
    if where == "key":
        body[nvapi] = "a key as a key"
    query = f"api_key={query_key}&token={nvapi if where == 'query' else 'x'}"
    secret_values.append(query_key)
    return headers, query, body, [*secret_values, LISTED]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=secrets_request())
def test_fake_keys_never_reach_disk(proxy: Proxy, case: Any) -> None:
    headers, query, body, secret_values = case
    before = proxy.files()
    with httpx.Client(timeout=10.0) as http:  # fresh: no cookie jar carried over from another example
        response = http.post(f"{proxy.url}/echo?{query}", headers=headers, json=body)
    assert response.status_code == 200
    line = proxy.next_line()
    assert ": wrote " in line, line
    new = proxy.files() - before
    assert len(new) == 1
    stored = next(iter(new)).read_bytes()
    for value in secret_values:
        for form in (value, json.dumps(value)[1:-1]):
            assert form.encode() not in stored, f"{form!r} reached disk"
    assert b"REDACTED" in stored


def test_a_credential_in_an_answer_is_masked_and_the_exchange_kept(proxy: Proxy, http: httpx.Client) -> None:
    before = proxy.files()
    assert http.get(proxy.url + "/leaky").status_code == 200  # the client still gets its answer
    line = proxy.next_line()
    assert "GET /v1/leaky 200" in line
    assert ": wrote " in line
    [written] = proxy.files() - before
    stored = json.loads(written.read_text("utf-8"))
    assert stored["interactions"][0]["response"]["json"] == {"cookie": "REDACTED", "note": "id REDACTED"}


# -- failures leave no file --------------------------------------------------------------------------


def test_an_upstream_dropping_mid_stream_leaves_no_file(proxy: Proxy, http: httpx.Client) -> None:
    before = proxy.files()
    with pytest.raises(httpx.HTTPError), http.stream("POST", proxy.url + "/drop", json=_chat()) as response:
        for _ in response.iter_bytes():
            pass
    line = proxy.next_line()
    assert line.startswith("nim-mock: FAILED POST ")
    assert "/v1/drop: the upstream dropped the response mid-way" in line
    assert line.endswith("; nothing recorded")
    assert proxy.files() == before  # no cassette, no temporary file


UPSTREAM_SCRIPT = """
import socket, sys, time
sock = socket.create_server(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
conn, _ = sock.accept()
conn.recv(65536)
conn.sendall(b"HTTP/1.1 200 OK\\r\\ncontent-type: text/event-stream\\r\\n")
conn.sendall(b"transfer-encoding: chunked\\r\\n\\r\\n")
event = b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\\n\\n'
conn.sendall(b"%x\\r\\n%s\\r\\n" % (len(event), event))
time.sleep(60)
"""


def _read_killing_after_first_event(http: httpx.Client, url: str, server: subprocess.Popen[str]) -> None:
    with http.stream("POST", url, json=_chat()) as response:
        chunks = response.iter_bytes()
        assert b'"content":"a"' in next(chunks)
        server.kill()  # the upstream process dies mid-stream
        for _ in chunks:
            pass


def test_a_killed_upstream_process_leaves_no_file(tmp_path: Path, http: httpx.Client) -> None:
    script = tmp_path / "upstream.py"
    script.write_text(UPSTREAM_SCRIPT)
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        folder = tmp_path / "out"
        with _in_process(f"http://127.0.0.1:{port}/v1", folder) as (url, writer, lines):
            with pytest.raises(httpx.HTTPError):
                _read_killing_after_first_event(http, url + "/chat/completions", server)
            assert writer.in_flight == 0
        assert len(lines) == 1
        assert lines[0].startswith(
            f"FAILED POST http://127.0.0.1:{port}/v1/chat/completions: the upstream dropped"
        )
        assert lines[0].endswith("nothing recorded")
        assert (writer.written, len(writer.failed)) == ([], 1)
        assert not folder.exists()
    finally:
        server.kill()
        server.wait()


def test_an_unreachable_upstream_gets_a_502_and_no_file(tmp_path: Path, http: httpx.Client) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with _in_process(f"http://127.0.0.1:{port}/v1", tmp_path / "out") as (url, writer, lines):
        answer = http.get(url + "/models")
    assert answer.status_code == 502
    assert "upstream unreachable" in answer.json()["error"]["message"]
    assert len(lines) == 1
    assert "upstream unreachable" in lines[0]
    assert writer.written == []
    assert not (tmp_path / "out").exists()


def test_the_written_cassettes_pass_check(proxy: Proxy, http: httpx.Client) -> None:
    http.post(proxy.url + "/chat/completions", json=_chat())
    proxy.next_line()
    count, problems = check_folders([proxy.folder])
    assert count >= 1
    assert problems == []


# -- usage errors ----------------------------------------------------------------------------------


def test_a_second_session_numbers_after_the_first(
    upstream: Upstream, tmp_path: Path, http: httpx.Client
) -> None:
    # Different models give different names, so skipping taken names alone would reuse 0001.
    (tmp_path / "0007-post-v1-chat-completions-other-model.json").write_text("earlier session")
    with _in_process(upstream.url + "/v1", tmp_path) as (url, writer, _):
        assert http.get(url + "/models").status_code == 200
    assert writer.written == [tmp_path / "0008-get-v1-models.json"]


def test_test_mode_writes_the_one_cassette_the_plugin_replays(
    upstream: Upstream, tmp_path: Path, http: httpx.Client
) -> None:
    name = derive_cassette_name("tests/test_chat.py", "TestChat::test_hello[a]")
    path = cassette_path(tmp_path, name)
    lines: list[str] = []
    writer = TestCassetteWriter(tmp_path, upstream.url + "/v1", lines.append, name=name)
    with serve_in_thread(create_recording_app(upstream.url, writer)) as base:
        first = http.post(base + "/v1/chat/completions", json=_chat(stream=False, content="one"))
        second = http.get(base + "/v1/models")
    assert (first.status_code, second.status_code) == (200, 200)
    assert writer.written == [path]
    assert path == tmp_path / "tests" / "test_chat" / "TestChat.test_hello[a].json"
    assert lines[-1].endswith(f"interaction #2 of {path}")
    [loaded] = load_cassettes([tmp_path])
    assert loaded.name == name
    assert [i.request.path for i in loaded.interactions] == ["/v1/chat/completions", "/v1/models"]


def test_a_test_that_is_not_a_node_id_exits_2(tmp_path: Path) -> None:
    err = _refused(
        ["record", "--upstream", "http://127.0.0.1:9/v1", "--cassettes", str(tmp_path), "--test", "hello"]
    )
    assert "is not a pytest node id; give one as pytest prints it, e.g. tests/test_chat.py::test_hello" in err


def test_record_listens_on_another_port_than_serve() -> None:
    record = build_parser().parse_args(["record", "--upstream", "http://127.0.0.1:9/v1"])
    serve = build_parser().parse_args(["serve"])
    assert (serve.port, record.port) == (8000, 8001)


def _refused(argv: list[str]) -> str:
    """What ``nim-mock`` says on stderr when it refuses ``argv`` (exit 2, nothing on stdout)."""
    run = run_cli(argv, env={})
    assert (run.code, run.out) == (2, ""), run
    return run.err


def test_an_upstream_that_is_not_a_url_exits_2(tmp_path: Path) -> None:
    for bad in ("localhost:8000", "ftp://host/v1", "http://"):
        err = _refused(["record", "--upstream", bad, "--cassettes", str(tmp_path)])
        assert "is not an http(s) URL" in err


def test_a_file_as_the_cassette_folder_exits_2(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    err = _refused(["record", "--upstream", "http://127.0.0.1:9/v1", "--cassettes", str(tmp_path / "file")])
    assert "give a folder" in err


def test_a_port_in_use_exits_2(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        err = _refused(
            [
                "record",
                "--upstream",
                "http://127.0.0.1:9/v1",
                "--cassettes",
                str(tmp_path),
                "--port",
                str(port),
            ]
        )
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_upstream_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["record"])
    assert exited.value.code == 2
    assert "--upstream" in capsys.readouterr().err
