"""Whole pytest runs in live and record modes, drift, and xdist giving the same outcomes as serial."""

from __future__ import annotations

import json

import pytest
from plugin_runs import SHARED_TEST, run

KEY = "local-" + "Zq9" * 8
"""A key with no recognisable shape (a local server's): scrubbed because the client sent it."""


def test_live_mode_talks_to_the_endpoint_directly(project: pytest.Pytester, upstream: str) -> None:
    project.makepyfile(
        f"""
def test_live(nim_harness_base_url, nim_harness_http_client, nim_harness_mode):
    assert nim_harness_mode == "live"
    assert nim_harness_base_url == "{upstream}/v1"
    assert nim_harness_http_client.get("models").json()["data"][0]["id"] == "up/model"
"""
    )
    run(project, f"--nim-harness-endpoint={upstream}/v1", mode="live").assert_outcomes(passed=1)


RECORDED_TEST = """
import time, pytest

BODY = {"model": "up/model", "messages": [{"role": "user", "content": "hi"}], "stream": True}

@pytest.mark.nim(cassette="rec/stream")
def test_stream(nim_harness_http_client, nim_harness_mode, nim_harness_settings):
    arrivals = []
    headers = {"authorization": "Bearer %(key)s"}
    with nim_harness_http_client.stream("POST", "chat/completions", json=BODY, headers=headers) as r:
        assert r.status_code == 200
        for chunk in r.iter_raw():
            arrivals.append((time.monotonic(), chunk))
    data = b"".join(c for _, c in arrivals)
    assert data.count(b"data: ") == 4 and data.endswith(b"data: [DONE]\\n\\n")
    if nim_harness_mode == "record" or nim_harness_settings.speed == 1:
        first = next(t for t, c in arrivals if b"heard" in c)
        last = next(t for t, c in arrivals if b"[DONE]" in c)
        assert last - first > 0.25  # the upstream sends the last event 0.5 s after the first

@pytest.mark.nim(cassette="rec/failing")
def test_failing(nim_harness_http_client):
    nim_harness_http_client.post("chat/completions", json={**BODY, "stream": False})
    assert False, "this test fails, so its cassette must not be written"
"""


def test_record_then_replay(project: pytest.Pytester, slow_upstream: str) -> None:
    project.makepyfile(test_inner_rec=RECORDED_TEST % {"key": KEY})
    recorded = run(project, f"--nim-harness-endpoint={slow_upstream}/v1", mode="record")
    recorded.assert_outcomes(passed=1, failed=1)
    recorded.stdout.fnmatch_lines(["*nim-harness recorded 1 cassette(s)*", "*cassettes/rec/stream.json"])
    cassette = project.path / "cassettes" / "rec" / "stream.json"
    text = cassette.read_text("utf-8")
    assert KEY not in text
    assert "heard REDACTED" in text
    assert not (project.path / "cassettes" / "rec" / "failing.json").exists()
    document = json.loads(text)
    [interaction] = document["interactions"]
    assert interaction["request"]["path"] == "/v1/chat/completions"
    assert interaction["request"]["headers"]["authorization"] == "REDACTED"
    offsets = [event["t_ms"] for event in interaction["response"]["events"]]
    assert offsets == sorted(offsets)
    assert offsets[-1] - offsets[0] > 250
    run(project, "-k", "test_stream").assert_outcomes(passed=1)
    run(project, "-k", "test_stream", "--nim-harness-speed=1").assert_outcomes(passed=1)


COOKIE = "Yv4" * 6
"""A cookie value with no recognisable shape, which the upstream echoes without its ``session=``."""


def test_record_mode_scrubs_an_echoed_cookie_value(project: pytest.Pytester, upstream: str) -> None:
    project.makepyfile(
        test_inner_cookie=f"""
import pytest
BODY = {{"model": "up/model", "messages": [{{"role": "user", "content": "hi"}}], "stream": False}}

@pytest.mark.nim(cassette="rec/cookie")
def test_cookie(nim_harness_http_client):
    headers = {{"cookie": "session={COOKIE}; lang=en"}}
    answer = nim_harness_http_client.post("chat/completions", json=BODY, headers=headers)
    assert answer.json()["cookies"] == ["{COOKIE}", "en"]
"""
    )
    run(project, f"--nim-harness-endpoint={upstream}/v1", mode="record").assert_outcomes(passed=1)
    text = (project.path / "cassettes" / "rec" / "cookie.json").read_text("utf-8")
    assert COOKIE not in text
    [interaction] = json.loads(text)["interactions"]
    assert interaction["request"]["headers"]["cookie"] == "REDACTED"
    assert interaction["response"]["json"]["cookies"] == ["REDACTED", "en"]  # "en" is too short to scrub


def test_record_mode_reports_a_dropped_upstream_and_writes_nothing(
    project: pytest.Pytester, upstream: str
) -> None:
    project.makepyfile(
        """
import httpx, pytest
@pytest.mark.nim(cassette="rec/dies")
def test_dies(nim_harness_http_client):
    body = {"model": "up/model", "messages": [], "stream": True, "die": True}
    with pytest.raises(httpx.RemoteProtocolError):
        with nim_harness_http_client.stream("POST", "chat/completions", json=body) as r:
            r.read()
"""
    )
    result = run(project, f"--nim-harness-endpoint={upstream}/v1", mode="record")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*nim-harness did not write */rec/dies.json: POST *upstream dropped the response*"]
    )
    assert not (project.path / "cassettes" / "rec" / "dies.json").exists()


def test_live_mode_reports_drift_from_the_cassette(project: pytest.Pytester, upstream: str) -> None:
    project.makepyfile(
        test_inner_drift="""
import pytest
BODY = {"model": "up/model", "messages": [{"role": "user", "content": "hi"}], "stream": True}

@pytest.mark.nim(cassette="drift/stream")
def test_stream(nim_harness_http_client):
    with nim_harness_http_client.stream("POST", "chat/completions", json=BODY) as r:
        r.read()
"""
    )
    endpoint = f"--nim-harness-endpoint={upstream}/v1"
    run(project, endpoint, mode="record").assert_outcomes(passed=1)
    same = run(project, endpoint, mode="live")
    same.assert_outcomes(passed=1)
    assert "nim-harness drift" not in same.stdout.str()
    # Pretend the server used to answer differently: another finish reason, and a field now gone.
    path = project.path / "cassettes" / "drift" / "stream.json"
    document = json.loads(path.read_text())
    events = document["interactions"][0]["response"]["events"]
    events[-2]["data"]["choices"][0]["finish_reason"] = "length"
    events[-2]["data"]["tier"] = "default"
    path.write_text(json.dumps(document))
    drifted = run(project, endpoint, mode="live")
    drifted.assert_outcomes(passed=1)
    drifted.stdout.fnmatch_lines(
        [
            "*- nim-harness drift: 1 live answer(s) differ from their cassette -*",
            "test_inner_drift.py::test_stream (cassette drift/stream):",
            "    #1 POST /v1/chat/completions: keys: `tier` (string) was recorded but is missing live",
            "    #1 POST /v1/chat/completions: finish_reason: recorded length, live stop",
        ]
    )


OUTCOMES_TEST = (
    SHARED_TEST
    + """
@pytest.mark.nim(cassette="chat/plain")
@pytest.mark.parametrize("n", range(4))
def test_hit(n, nim_harness_http_client):
    answer = nim_harness_http_client.post("chat/completions", json=recorded_body("chat/plain"))
    assert answer.status_code == 200

@pytest.mark.nim(cassette="chat/plain")
def test_miss(nim_harness_http_client):
    answer = nim_harness_http_client.post("chat/completions", json={"model": "x", "messages": []})
    assert answer.status_code == 200

def test_missing(nim_harness_base_url):
    pass

def test_plain():
    pass
"""
)


def test_xdist_gives_the_same_outcomes_as_a_serial_run(project: pytest.Pytester) -> None:
    project.makepyfile(test_inner_outcomes=OUTCOMES_TEST)
    serial = run(project).parseoutcomes()
    parallel = run(project, "-n", "2").parseoutcomes()
    assert serial == {"passed": 5, "failed": 1, "errors": 1} | {
        k: v for k, v in serial.items() if k == "seconds"
    }
    assert {k: v for k, v in parallel.items() if k != "seconds"} == {
        k: v for k, v in serial.items() if k != "seconds"
    }
