"""The network guard for mock mode: an httpx transport that refuses every host but loopback.

Why a transport and not a socket-level guard: the transport is httpx's documented seam (STYLE.md,
"inject seams instead of patching"), it sees the URL (so the message can name the host and the
fixture to use instead), and it lives exactly as long as the client it is given to, so nothing in
the process changes for code outside the test. A socket guard would have to replace
``socket.socket.connect`` for everyone in the process (or install a permanent ``sys.addaudithook``),
which is the global monkeypatching this project avoids. What it cannot catch: a client the test
builds itself without it; the plugin's ``nim_harness_http_client`` and ``nim_harness_chat`` fixtures
hand out guarded clients for exactly that case.

The decision is one pure function (``blocked_reason``); the sync and async transports are shells
around it. Their inner httpx transports are built on the first request, with one TLS context for
the whole process that loads no CA bundle (``loopback_tls_context``): the mock speaks plain HTTP on
loopback, so a test that never makes an async call builds no async transport, and none of them
pays the ~20 ms an httpx default transport spends loading certifi's bundle.
"""

from __future__ import annotations

import functools
import ipaddress
import ssl
from collections.abc import Iterable

import httpx

__all__ = [
    "LOOPBACK_HOSTS",
    "GuardedAsyncTransport",
    "GuardedTransport",
    "NetworkBlockedError",
    "blocked_reason",
    "loopback_tls_context",
]

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class NetworkBlockedError(RuntimeError):
    """A test in mock mode tried to reach a host other than the mock.

    Deliberately not an ``httpx`` error: clients catch and retry those, and the test should stop at
    once with this message instead.
    """


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def blocked_reason(url: httpx.URL, extra_allowed: Iterable[str] = ()) -> str | None:
    """Why a request to ``url`` must not leave this machine in mock mode, or ``None`` when it may."""
    host = url.host
    if _is_loopback(host) or host in set(extra_allowed):
        return None
    target = f"{url.scheme}://{host}{url.raw_path.decode('ascii', 'replace')}"
    return (
        f"nim-harness mock mode blocked a request to {target}: "
        "tests in mock mode may only talk to the mock on 127.0.0.1. Point the client at the "
        "nim_harness_base_url fixture (or use nim_harness_chat), or run with --nim-mode=live to reach "
        "the real endpoint."
    )


@functools.cache
def loopback_tls_context() -> ssl.SSLContext:
    """The TLS context of the guard's own transports: certificates checked, no CA trusted.

    Traffic the guard lets through goes to the mock on loopback over plain HTTP, which needs no
    context at all; httpx wants one anyway. Trusting nothing costs nothing to build, and an https
    request to a loopback server fails its certificate check instead of being trusted blindly.
    """
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class GuardedTransport(httpx.BaseTransport):
    """Sync transport: refuses non-loopback hosts, passes everything else to ``inner``.

    Without ``inner``, a plain httpx transport is built on the first request that passes.
    ``owns_inner=False``: ``inner`` is shared (the plugin's session pool) and ``close`` leaves it open.
    """

    def __init__(
        self, inner: httpx.BaseTransport | None = None, *, allow: Iterable[str] = (), owns_inner: bool = True
    ) -> None:
        self._inner = inner
        self._allow = tuple(allow)
        self._owns_inner = owns_inner or inner is None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        reason = blocked_reason(request.url, self._allow)
        if reason is not None:
            raise NetworkBlockedError(reason)
        if self._inner is None:
            self._inner = httpx.HTTPTransport(verify=loopback_tls_context())
        return self._inner.handle_request(request)

    def close(self) -> None:
        if self._inner is not None and self._owns_inner:
            self._inner.close()


class GuardedAsyncTransport(httpx.AsyncBaseTransport):
    """Async transport: the same rule as ``GuardedTransport``."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None, *, allow: Iterable[str] = ()) -> None:
        self._inner = inner
        self._allow = tuple(allow)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        reason = blocked_reason(request.url, self._allow)
        if reason is not None:
            raise NetworkBlockedError(reason)
        if self._inner is None:
            self._inner = httpx.AsyncHTTPTransport(verify=loopback_tls_context())
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()
