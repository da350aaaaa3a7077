"""One loopback server per pytest session (per xdist worker); each test gets its own app under a prefix.

Why per-test apps behind one server, instead of one app scoped by a header: a fresh ``create_app``
per test starts every cassette from its first interaction, serves only that test's cassette (a
request meant for another test's cassette is a miss, not a silent hit), and needs nothing from the
client beyond its base URL, so any client (ChatNVIDIA, the openai SDK, plain httpx) works unchanged.
Building an app is cheap next to a test; starting uvicorn is not, so the server is shared.

A test's base URL is ``http://127.0.0.1:PORT/t/<token>`` (plus the API path). The dispatcher strips
the prefix, so the test's app sees the very paths the cassette holds. It also keeps the message of
every mock miss (responses marked ``x-nim-mock-miss``), so the plugin can print them under a failed
test even when the code under test swallowed the error.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nim_mock.wire.http import MISS_HEADER

if TYPE_CHECKING:  # the plugin creates a SessionServer in every run; uvicorn loads once a test mounts
    import httpx
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from nim_mock.serve.runner import RunningServer

__all__ = ["Mounts", "SessionServer"]

_MISS = MISS_HEADER.encode("latin-1")
_PREFIX = "/t/"


@dataclass
class _Mount:
    app: ASGIApp
    misses: list[str] = field(default_factory=list)


def _error_message(body: bytes) -> str:
    """The human message of a mock error body (NIM flat or vLLM nested layout), else the text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
    if isinstance(data, dict):
        inner = data.get("error", data)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return body.decode("utf-8", "replace")


class Mounts:
    """An ASGI app dispatching ``/t/<token>/...`` to the app mounted under ``token``."""

    def __init__(self) -> None:
        self._mounts: dict[str, _Mount] = {}
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)

    def mount(self, app: ASGIApp) -> str:
        """Serve ``app`` under a new token; returns the URL prefix (``/t/<token>``)."""
        with self._lock:
            token = str(next(self._tokens))
            self._mounts[token] = _Mount(app)
        return _PREFIX + token

    def unmount(self, prefix: str) -> list[str]:
        """Stop serving the app under ``prefix``; returns the miss messages it produced."""
        with self._lock:
            mount = self._mounts.pop(prefix.removeprefix(_PREFIX), None)
        return list(mount.misses) if mount else []

    def misses(self, prefix: str) -> list[str]:
        with self._lock:
            mount = self._mounts.get(prefix.removeprefix(_PREFIX))
            return list(mount.misses) if mount else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        token, _, rest = path.removeprefix(_PREFIX).partition("/")
        with self._lock:
            mount = self._mounts.get(token) if path.startswith(_PREFIX) else None
        if mount is None:
            await self._not_mounted(path, send)
            return
        inner = dict(scope)
        inner["path"] = "/" + rest
        inner["raw_path"] = ("/" + rest).encode("utf-8")
        await mount.app(inner, receive, self._watch(mount, send))

    @staticmethod
    def _watch(mount: _Mount, send: Send) -> Send:
        """Pass messages through, keeping the body of a response the mock marked as a miss."""
        body: list[bytes] = []
        is_miss = False

        async def watched(message: Message) -> None:
            nonlocal is_miss
            if message["type"] == "http.response.start":
                is_miss = any(name.lower() == _MISS for name, _ in message.get("headers", []))
            elif message["type"] == "http.response.body" and is_miss:
                body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    mount.misses.append(_error_message(b"".join(body)))
            await send(message)

        return watched

    @staticmethod
    async def _not_mounted(path: str, send: Send) -> None:
        message = (
            f"nim-harness: no test owns {path} right now. Tests get their URL from the nim_harness_base_url "
            "fixture (or nim_harness_chat), and it is only valid while that test runs."
        )
        body = json.dumps(
            {"object": "error", "message": message, "type": "NotFoundError", "code": 404}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [(b"content-type", b"application/json"), (_MISS, b"1")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


_POOL_IDLE_S = 2.0
"""How long the session pool keeps an idle connection: less than uvicorn's keep-alive (5 s), so the
client lets go of a connection before the server closes it, never while a request is on its way."""


class SessionServer:
    """The session's uvicorn server, started on first use and stopped at session end.

    It also owns the connection pool the fixtures' sync clients share (``pool``): every test talks
    to this one server, so a test reuses the connection the previous one left open instead of
    paying a new TCP connection and a new uvicorn protocol per test. Async clients keep their own
    pools, since a pool belongs to one event loop and pytest-asyncio gives each test its own.
    """

    def __init__(self) -> None:
        self.mounts = Mounts()
        self._server: RunningServer | None = None
        self._url = ""
        self._lock = threading.Lock()
        self._pool: httpx.HTTPTransport | None = None

    def pool(self) -> httpx.HTTPTransport:
        """The session's sync connection pool to this server (unbounded: a leaked stream never blocks)."""
        with self._lock:
            if self._pool is None:
                import httpx

                from nim_mock.plugin.guard import loopback_tls_context

                limits = httpx.Limits(max_connections=None, keepalive_expiry=_POOL_IDLE_S)
                self._pool = httpx.HTTPTransport(verify=loopback_tls_context(), limits=limits)
            return self._pool

    def url(self) -> str:
        """The server's origin (``http://127.0.0.1:PORT``), starting it the first time."""
        with self._lock:
            if self._server is None:
                from nim_mock.serve.runner import RunningServer

                server = RunningServer(self.mounts, host="127.0.0.1", port=0)
                self._url = server.start()
                self._server = server
            return self._url

    def stop(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
            if self._server is not None:
                self._server.stop()
                self._server = None
