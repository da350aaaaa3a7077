"""The mock-mode network guard: loopback passes, every other host fails with a message saying why."""

from __future__ import annotations

import httpx
import pytest

from nim_mock.plugin.guard import (
    GuardedAsyncTransport,
    GuardedTransport,
    NetworkBlockedError,
    blocked_reason,
)


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
