"""``serve_in_thread`` / ``RunningServer``: the seam the tests, the benches and the pytest plugin share."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from nim_mock import RunningServer, create_app, serve_in_thread
from nim_mock.serve.runner import bind_socket


def test_serves_on_a_free_loopback_port_and_stops(build: Any) -> None:
    with serve_in_thread(create_app([build.plain_chat()])) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert httpx.get(base_url + "/v1/health/live").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + "/v1/health/live")


def test_accepted_sockets_get_tcp_nodelay(build: Any) -> None:
    """Without it every keep-alive response waits ~40 ms on the client's delayed ACK."""
    with bind_socket("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP  # what asyncio checks before setting TCP_NODELAY
    server = RunningServer(create_app([]))
    server.start()
    try:
        with httpx.Client() as client:
            for _ in range(5):
                assert client.get(server.base_url + "/v1/health/ready").status_code == 200
    finally:
        server.stop()


def test_a_port_in_use_fails_at_bind() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken, pytest.raises(OSError, match="in use"):
        RunningServer(create_app([]), port=taken.getsockname()[1])


def test_an_app_that_cannot_start_is_reported() -> None:
    @asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no GPU here")
        yield

    with pytest.raises(RuntimeError, match="failed to start"), serve_in_thread(Starlette(lifespan=broken)):
        pass


def test_stop_twice_is_harmless() -> None:
    server = RunningServer(create_app([]))
    server.start()
    server.stop()
    server.stop()
