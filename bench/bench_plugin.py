"""Per-test cost of the pytest plugin against an in-process floor and the vcrpy habit, in one run.

Usage:  .venv/bin/python bench/bench_plugin.py [--tests 300] [--rounds 3] [--first-calls 40]

Three generated projects, each with the same ``--tests`` tests (half ``invoke``, half ``stream``,
each asserting on the answer), run as a user runs them (``python -m pytest -q``, every installed
plugin loaded), alternating which goes first in each round:

- ``nim``:   ``nim_harness_chat`` on the bundled cassettes ``chat/plain`` and ``chat/stream_usage``,
             replayed by the plugin's mock on its loopback server;
- ``floor``: our ``ChatNVIDIA`` with ``http_client=httpx.Client(transport=httpx.MockTransport(...))``
             answering the same recorded bytes in-process (no socket, no server: the floor);
- ``vcr``:   the published ``langchain_nvidia_ai_endpoints.ChatNVIDIA`` under pytest-recording
             (``@pytest.mark.vcr``, ``--record-mode=none``), its two cassettes recorded by this
             script from ``nim-mock`` serving the same bundled cassettes.

A test's cost is its setup + call + teardown time as pytest's reports give it (collection and
start-up are the same for all three and left out; the session's wall time is shown as well). The
figure compared is the median test of a run (the median of the rounds); the mean is shown beside
it, because the plugin's first test also pays once-per-session work the others do at import time
(importing the client, starting the loopback server).

Then the first call of a ChatNVIDIA built without ``http_client=`` against later calls: each of
``--first-calls`` fresh models, pointed at a loopback mock, times its first ``invoke`` and its
second; the medians and their ratio are reported (the process's very first model is shown apart:
it is the one that builds the process's shared TLS context). Beside it, the same two requests on
a fresh ``httpx.Client`` handed a ready TLS context: the part of a first call that is the new
connection itself, which every client pays.

Results go to stdout and ``bench/results/plugin.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

os.environ["NVIDIA_USAGE_TELEMETRY_ENABLED"] = "0"  # the published client must not leave loopback

from _servers import ROOT

RESULTS = ROOT / "bench" / "results" / "plugin.json"
MODEL = "meta/llama-3.1-8b-instruct"
INVOKE_QUESTION = "In one sentence, what is NVIDIA NIM?"
STREAM_QUESTION = "Name three primary colors."
INVOKE_START = "NVIDIA NIM is"
STREAM_START = "The"
SAMPLING = {"temperature": 0.2, "max_tokens": 1024, "top_p": 0.7}
"""What the bundled cassettes were recorded with; every client here sends the same."""

NIM_TESTS = """
import pytest

SAMPLING = {sampling!r}

@pytest.mark.nim(cassette="bundled:chat/plain")
@pytest.mark.parametrize("i", range({half}))
def test_invoke(nim_harness_chat, i):
    assert nim_harness_chat(**SAMPLING).invoke({invoke!r}).content.startswith({invoke_start!r})

@pytest.mark.nim(cassette="bundled:chat/stream_usage")
@pytest.mark.parametrize("i", range({half}))
def test_stream(nim_harness_chat, i):
    text = "".join(chunk.content for chunk in nim_harness_chat(**SAMPLING).stream({stream!r}))
    assert text.startswith({stream_start!r})
"""

FLOOR_TESTS = """
import json
from pathlib import Path

import httpx
import pytest
from nim_harness import ChatNVIDIA

SAMPLING = {sampling!r}
FOLDER = Path({folder!r})
PLAIN = json.loads((FOLDER / "chat" / "plain.json").read_text())["interactions"][0]["response"]
STREAMED = json.loads((FOLDER / "chat" / "stream_usage.json").read_text())["interactions"][0]["response"]
PLAIN_BODY = json.dumps(PLAIN["json"]).encode()
SSE_BODY = b"".join(
    e["raw"].encode() if "raw" in e else b"data: " + json.dumps(e["data"]).encode() + b"\\n\\n"
    for e in STREAMED["events"]
)


def answer(request):
    if json.loads(request.content).get("stream"):
        return httpx.Response(200, headers={{"content-type": "text/event-stream"}}, content=SSE_BODY)
    return httpx.Response(200, headers={{"content-type": "application/json"}}, content=PLAIN_BODY)


@pytest.fixture
def chat():
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        yield ChatNVIDIA(
            model={model!r}, base_url="http://nim.test/v1", api_key=None, http_client=client, **SAMPLING
        )


@pytest.mark.parametrize("i", range({half}))
def test_invoke(chat, i):
    assert chat.invoke({invoke!r}).content.startswith({invoke_start!r})


@pytest.mark.parametrize("i", range({half}))
def test_stream(chat, i):
    text = "".join(chunk.content for chunk in chat.stream({stream!r}))
    assert text.startswith({stream_start!r})
"""

VCR_TESTS = """
import os

os.environ["NVIDIA_USAGE_TELEMETRY_ENABLED"] = "0"

import pytest
from langchain_nvidia_ai_endpoints import ChatNVIDIA

BASE_URL = {base_url!r}
SAMPLING = {sampling!r}


def chat():
    return ChatNVIDIA(model={model!r}, base_url=BASE_URL, api_key="nvapi-bench-not-a-real-key", **SAMPLING)


@pytest.mark.default_cassette("invoke.yaml")
@pytest.mark.vcr
@pytest.mark.parametrize("i", range({half}))
def test_invoke(i):
    assert chat().invoke({invoke!r}).content.startswith({invoke_start!r})


@pytest.mark.default_cassette("stream.yaml")
@pytest.mark.vcr
@pytest.mark.parametrize("i", range({half}))
def test_stream(i):
    text = "".join(chunk.content for chunk in chat().stream({stream!r}))
    assert text.startswith({stream_start!r})
"""


TIMING_PLUGIN = """
import json, pytest

DURATIONS = {}


def pytest_runtest_logreport(report):
    DURATIONS[report.nodeid] = DURATIONS.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    with open("durations.json", "w") as f:
        json.dump(DURATIONS, f)
"""
"""Loaded with ``-p bench_timing`` in every project: each test's setup + call + teardown seconds at
full clock resolution (JUnit XML rounds them to the millisecond)."""


def _write_project(folder: Path, source: str) -> None:
    folder.mkdir(parents=True)
    (folder / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    (folder / "bench_timing.py").write_text(TIMING_PLUGIN)
    (folder / "test_bench.py").write_text(textwrap.dedent(source))


def _fill(template: str, **extra: Any) -> str:
    return template.format(
        invoke=INVOKE_QUESTION,
        invoke_start=INVOKE_START,
        stream=STREAM_QUESTION,
        stream_start=STREAM_START,
        model=MODEL,
        sampling=SAMPLING,
        **extra,
    )


def _pytest(folder: Path, *args: str) -> tuple[float, list[float]]:
    """Run the project's tests; the session's wall seconds and each test's seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "bench_timing", *args],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder)},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{folder.name}: pytest failed\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
    durations: dict[str, float] = json.loads((folder / "durations.json").read_text())
    return wall, list(durations.values())


def _record_vcr_cassettes(folder: Path, half: int) -> None:
    """Record the vcr project's two cassettes from nim-mock serving the bundled ones."""
    from nim_mock.app import create_app
    from nim_mock.cassettes.persist import bundled_cassettes_dir, load_cassette
    from nim_mock.serve.runner import RunningServer

    bundled = bundled_cassettes_dir()
    cassettes = [
        load_cassette(bundled / "chat" / name, root=bundled) for name in ("plain.json", "stream_usage.json")
    ]
    server = RunningServer(create_app(cassettes))
    base_url = server.start() + "/v1"
    try:
        _write_project(folder, _fill(VCR_TESTS, half=half, base_url=base_url))
        _pytest(folder, "--record-mode=once", "-k", "i0 or [0]")
    finally:
        server.stop()


def measure_sessions(tests: int, rounds: int) -> dict[str, Any]:
    from nim_mock.cassettes.persist import bundled_cassettes_dir

    half = tests // 2
    work = Path(tempfile.mkdtemp(prefix="nim-bench-plugin-"))
    projects = {
        "nim": work / "nim",
        "floor": work / "floor",
        "vcr": work / "vcr",
    }
    _write_project(projects["nim"], _fill(NIM_TESTS, half=half))
    _write_project(projects["floor"], _fill(FLOOR_TESTS, half=half, folder=str(bundled_cassettes_dir())))
    _record_vcr_cassettes(projects["vcr"], half)
    extra = {"nim": (), "floor": (), "vcr": ("--record-mode=none",)}
    per_test: dict[str, list[float]] = {name: [] for name in projects}
    mean_per_test: dict[str, list[float]] = {name: [] for name in projects}
    walls: dict[str, list[float]] = {name: [] for name in projects}
    order = list(projects)
    for round_number in range(rounds):
        for name in order[round_number % 3 :] + order[: round_number % 3]:
            wall, times = _pytest(projects[name], *extra[name])
            if len(times) != 2 * half:
                raise SystemExit(f"{name}: {len(times)} tests ran, expected {2 * half}")
            per_test[name].append(1000 * statistics.median(times))
            mean_per_test[name].append(1000 * sum(times) / len(times))
            walls[name].append(wall)
    ms = {name: statistics.median(values) for name, values in per_test.items()}
    return {
        "tests": 2 * half,
        "rounds": rounds,
        "per_test_ms": ms,
        "per_test_ms_rounds": per_test,
        "mean_per_test_ms": {name: statistics.median(values) for name, values in mean_per_test.items()},
        "session_wall_s": {name: statistics.median(values) for name, values in walls.items()},
        "nim_over_vcr": ms["nim"] / ms["vcr"],
        "nim_over_floor": ms["nim"] / ms["floor"],
    }


def measure_first_calls(models: int) -> dict[str, Any]:
    """First ``invoke`` of fresh ChatNVIDIAs (no ``http_client=``) against their second one."""
    import ssl

    import certifi
    import httpx
    from nim_harness import ChatNVIDIA

    from nim_mock.app import create_app
    from nim_mock.cassettes.persist import bundled_cassettes_dir, load_cassette
    from nim_mock.serve.runner import RunningServer

    bundled = bundled_cassettes_dir()
    server = RunningServer(create_app([load_cassette(bundled / "chat" / "plain.json", root=bundled)]))
    base_url = server.start() + "/v1"
    context = ssl.create_default_context(cafile=certifi.where())
    body = json.dumps(
        {"messages": [{"role": "user", "content": INVOKE_QUESTION}], "model": MODEL, **SAMPLING}
    ).encode()
    headers = {"content-type": "application/json", "accept": "application/json"}
    firsts: list[float] = []
    laters: list[float] = []
    raw_firsts: list[float] = []
    raw_laters: list[float] = []
    try:
        for _ in range(models + 1):
            chat = ChatNVIDIA(model=MODEL, base_url=base_url, api_key=None, **SAMPLING)
            for into in (firsts, laters):
                started = time.perf_counter()
                chat.invoke(INVOKE_QUESTION)
                into.append(1000 * (time.perf_counter() - started))
            # The same two calls on a fresh httpx.Client given a ready TLS context: what a new
            # connection costs any client, with nothing of ChatNVIDIA's in it.
            with httpx.Client(verify=context) as client:
                for into in (raw_firsts, raw_laters):
                    started = time.perf_counter()
                    client.post(base_url + "/chat/completions", content=body, headers=headers).read()
                    into.append(1000 * (time.perf_counter() - started))
    finally:
        server.stop()
    first = statistics.median(firsts[1:])
    later = statistics.median(laters[1:])
    return {
        "models": models,
        "process_first_call_ms": firsts[0],
        "first_call_ms": first,
        "later_call_ms": later,
        "first_over_later": first / later,
        "httpx_first_request_ms": statistics.median(raw_firsts[1:]),
        "httpx_later_request_ms": statistics.median(raw_laters[1:]),
        "httpx_first_over_later": statistics.median(raw_firsts[1:]) / statistics.median(raw_laters[1:]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=300, help="tests per project (half invoke, half stream)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each project")
    parser.add_argument("--first-calls", type=int, default=40, help="fresh ChatNVIDIAs timed")
    args = parser.parse_args(argv)
    if args.tests < 2 or args.rounds < 1 or args.first_calls < 1:
        parser.error("--tests must be >= 2, --rounds and --first-calls >= 1")
    sessions = measure_sessions(args.tests, args.rounds)
    first = measure_first_calls(args.first_calls)
    ms = sessions["per_test_ms"]
    walls = sessions["session_wall_s"]
    print(f"{sessions['tests']} tests, median of {sessions['rounds']} rounds")
    means = sessions["mean_per_test_ms"]
    print(f"{'project':<8} {'median ms/test':>15} {'mean ms/test':>13} {'session s':>10}")
    for name in ("nim", "floor", "vcr"):
        print(f"{name:<8} {ms[name]:>15.2f} {means[name]:>13.2f} {walls[name]:>10.2f}")
    print(f"nim / vcr   = {sessions['nim_over_vcr']:.2f}  (target <= 1.5)")
    print(f"nim / floor = {sessions['nim_over_floor']:.2f}  (target <= 3)")
    print(
        f"ChatNVIDIA without http_client=: first call {first['first_call_ms']:.2f} ms, later "
        f"{first['later_call_ms']:.2f} ms, ratio {first['first_over_later']:.2f} (target <= 1.5); "
        f"the process's first model: {first['process_first_call_ms']:.2f} ms"
    )
    print(
        f"a fresh httpx.Client (TLS context ready): first request {first['httpx_first_request_ms']:.2f} ms, "
        f"later {first['httpx_later_request_ms']:.2f} ms, ratio {first['httpx_first_over_later']:.2f} "
        "(the cost of a new connection)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"sessions": sessions, "first_call": first}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
