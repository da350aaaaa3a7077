"""The mock-mode network guard: loopback passes, every other host fails with a message saying why."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

from nim_mock.plugin.guard import (
    GuardedAsyncTransport,
    GuardedTransport,
    NetworkBlockedError,
    blocked_reason,
    loopback_tls_context,
)
from nim_mock.plugin.mounts import SessionServer


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1/v1", "http://localhost/v1", "http://[::1]:8/x", "http://127.8.9.10/"]
)
def test_loopback_is_allowed(url: str) -> None:
    assert blocked_reason(httpx.URL(url)) is None


@pytest.mark.parametrize(
    "url", ["https://integrate.api.nvidia.com/v1/models", "http://10.0.0.1/", "http://x.local/"]
)
def test_other_hosts_are_blocked_with_advice(url: str) -> None:
    reason = blocked_reason(httpx.URL(url))
    assert reason is not None
    assert reason.startswith(f"nim-harness mock mode blocked a request to {url}: ")
    assert "nim_harness_base_url" in reason
    assert "--nim-mode=live" in reason


def test_extra_hosts_can_be_allowed() -> None:
    assert blocked_reason(httpx.URL("http://mock.internal/"), ["mock.internal"]) is None


def echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text=str(request.url))


def test_sync_transport() -> None:
    with httpx.Client(transport=GuardedTransport(httpx.MockTransport(echo))) as client:
        assert client.get("http://127.0.0.1:9/ok").text == "http://127.0.0.1:9/ok"
        with pytest.raises(NetworkBlockedError, match=r"example\.com"):
            client.get("https://example.com/")


async def test_async_transport() -> None:
    async with httpx.AsyncClient(transport=GuardedAsyncTransport(httpx.MockTransport(echo))) as client:
        assert (await client.get("http://localhost/ok")).status_code == 200
        with pytest.raises(NetworkBlockedError, match=r"example\.com"):
            await client.get("https://example.com/")


def test_a_shared_inner_transport_outlives_the_guard() -> None:
    shared = httpx.MockTransport(echo)
    with httpx.Client(transport=GuardedTransport(shared, owns_inner=False)) as client:
        client.get("http://127.0.0.1:9/first")
    with httpx.Client(transport=GuardedTransport(shared, owns_inner=False)) as client:
        assert client.get("http://127.0.0.1:9/second").text == "http://127.0.0.1:9/second"


def test_the_guards_own_tls_context_trusts_no_ca_but_still_checks() -> None:
    context = loopback_tls_context()
    assert context is loopback_tls_context()
    assert context.get_ca_certs() == []
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_the_session_pool_carries_every_tests_requests_on_one_connection() -> None:
    server = SessionServer()
    try:
        prefixes = [server.mounts.mount(_peer_app()) for _ in range(3)]
        peers = set()
        for prefix in prefixes:
            with httpx.Client(transport=GuardedTransport(server.pool(), owns_inner=False)) as client:
                response = client.get(server.url() + prefix + "/peer")
                peers.add(response.text)
        assert len(peers) == 1  # the second and third test reused the first one's connection
    finally:
        server.stop()


def _peer_app() -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        host, port = scope["client"]
        peer = f"{host}:{port}"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": peer.encode()})

    return app
