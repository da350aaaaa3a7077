"""Running an app on a real uvicorn server on a loopback port, in a background thread.

Streams must be tested over a real socket: Starlette's TestClient and httpx's ASGITransport buffer
the whole body, which hides both incremental delivery and timing. The socket is bound before the
server starts (port 0 = the OS picks a free one), so the URL is known up front and two servers
never race for a port. Used by the tests, the benchmarks and the pytest plugin.

uvicorn runs with ``server_header=False`` (a recorded ``server`` header is replayed as recorded and
none is invented) and without its access log (the app writes its own line per request).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

__all__ = ["RunningServer", "bind_socket", "serve_in_thread", "uvicorn_config"]


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket, created with ``proto=IPPROTO_TCP`` on purpose.

    asyncio only turns on ``TCP_NODELAY`` for accepted sockets whose ``proto`` is ``IPPROTO_TCP``;
    ``socket.create_server`` leaves it 0, and then every response whose status line and body leave
    in two writes waits ~40 ms for the client's delayed ACK (Nagle), on each keep-alive request.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_config(app: ASGIApp, *, log_level: str = "warning", graceful_s: float = 1.0) -> uvicorn.Config:
    """The one uvicorn configuration the mock runs under, for threads and the CLI alike."""
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=max(int(graceful_s), 1),
    )


class RunningServer:
    """A uvicorn server serving ``app`` on a bound socket from a daemon thread.

    ``start()`` returns once uvicorn reports it is serving (or raises if it failed to start);
    ``stop()`` asks it to exit and waits, forcing the exit if open streams keep it past ``timeout``.
    """

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        self._socket = bind_socket(host, port)
        self.host, self.port = self._socket.getsockname()[:2]
        self._server = uvicorn.Server(uvicorn_config(app, log_level=log_level))
        self._thread = threading.Thread(target=self._run, name=f"nim-mock:{self.port}", daemon=True)
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as error:  # reported to the starting thread, not lost in this one
            self._error = error

    def start(self, timeout: float = 10.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                reason = repr(self._error) if self._error else "it did not report started in time"
                raise RuntimeError(f"nim-mock server on {self.base_url} failed to start: {reason}")
            time.sleep(0.002)
        return self.base_url

    def request_stop(self) -> None:
        """Ask uvicorn to exit without waiting (stop many servers at once, then wait for each)."""
        self._server.should_exit = True

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to exit and wait; uvicorn polls its exit flag every 0.1 s, so this takes ~0.2 s."""
        self.request_stop()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._socket.close()


@contextmanager
def serve_in_thread(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> Iterator[str]:
    """Serve ``app`` for the duration of a ``with`` block, yielding its base URL (``http://127.0.0.1:N``)."""
    server = RunningServer(app, host=host, port=port, log_level=log_level)
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()
