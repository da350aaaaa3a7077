"""``nim-mock serve --workers N``: sockets on one port, the workers as real processes, and how they stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
from cli_runs import run_cli, serve_process

from nim_mock import bundled_cassettes_dir, load_cassettes
from nim_mock.serve.runner import BALANCED_REUSE_PORT, bind_socket, worker_sockets

linux_only = pytest.mark.skipif(not BALANCED_REUSE_PORT, reason="SO_REUSEPORT balancing is Linux's")
posix_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="--workers forks its workers (POSIX)")

_REQUESTS = re.compile(r'nim_mock_requests_total\{method="POST",[^}]*worker="(\d+)"\} (\d+)\.0')
_WORKERS = re.compile(r'nim_mock_workers\{worker="(\d+)"\} (\d+)\.0')


@linux_only
def test_each_worker_gets_its_own_reuse_port_socket_on_one_port() -> None:
    sockets = worker_sockets("127.0.0.1", 0, 3)
    try:
        assert len({id(sock) for sock in sockets}) == 3
        assert len({sock.getsockname() for sock in sockets}) == 1
        assert all(sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def test_one_worker_gets_the_ordinary_socket() -> None:
    (sock,) = worker_sockets("127.0.0.1", 0, 1)
    with sock:
        assert not sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)


def test_a_port_someone_listens_on_is_refused_even_with_reuse_port() -> None:
    with bind_socket("127.0.0.1", 0, reuse_port=True) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="in use"):
            worker_sockets("127.0.0.1", port, 2)


def test_no_workers_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        worker_sockets("127.0.0.1", 0, 0)


def test_serve_with_workers_on_a_busy_port_says_so_and_exits_2() -> None:
    with bind_socket("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        run = run_cli(["serve", "--port", str(port), "--workers", "2"], env={})
    assert run.code == 2
    assert f"nim-mock: cannot listen on 127.0.0.1:{port}: " in run.err
    assert "Traceback" not in run.err


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _metrics_of_every_worker(base_url: str, workers: int) -> dict[str, str]:
    """Each worker's /v1/metrics text, by worker index: fresh connections until each was reached."""
    seen: dict[str, str] = {}
    for _ in range(200):
        with httpx.Client(timeout=10.0) as client:  # a new connection: the kernel picks a worker
            text = client.get(base_url + "/metrics").text
        found = _WORKERS.search(text)
        assert found, text
        seen[found[1]] = text
        if len(seen) == workers:
            break
    return seen


@linux_only
@posix_only
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads worker processes from /proc")
def test_two_workers_share_the_port_count_apart_and_stop_together_on_ctrl_c() -> None:
    plain = next(c for c in load_cassettes([bundled_cassettes_dir()]) if c.name == "chat/plain")
    recorded = plain.interactions[0]
    with serve_process(["--workers", "2"]) as served:
        assert served.banner.rstrip().endswith(", 2 workers")
        workers = _children(served.process.pid)
        assert len(workers) == 2
        for _ in range(6):
            with httpx.Client(timeout=10.0) as client:
                answer = client.post(served.base_url + "/chat/completions", json=recorded.request.body)
                assert answer.content == recorded.response.body
        every = _metrics_of_every_worker(served.base_url, 2)
        assert sorted(every) == ["0", "1"]
        for index, text in every.items():
            assert _WORKERS.findall(text) == [(index, "2")]
        answered = sum(int(n) for text in every.values() for _, n in _REQUESTS.findall(text))
        assert answered == 6
    assert served.returncode == 0
    assert all(_gone(pid) for pid in workers)
    assert "[worker 0] " in served.err
    assert "[worker 1] " in served.err
    assert "Traceback" not in served.err


@posix_only
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads worker processes from /proc")
def test_a_worker_that_dies_takes_the_server_down_with_exit_1_and_says_which() -> None:
    with serve_process(["--workers", "2"]) as served:
        first, second = sorted(_children(served.process.pid))
        os.kill(first, signal.SIGKILL)
        served.process.wait(timeout=15)
    assert served.returncode == 1
    assert re.search(rf"nim-mock: worker \d \(pid {first}\) was killed by SIGKILL; stopping", served.err)
    deadline = time.monotonic() + 5
    while not _gone(second) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(second)


@posix_only
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads worker processes from /proc")
def test_workers_stop_by_themselves_when_the_supervising_process_is_killed() -> None:
    with serve_process(["--workers", "2"]) as served:
        workers = _children(served.process.pid)
        assert len(workers) == 2
        served.process.kill()
        served.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(pid) for pid in workers)
