"""Running an app on a real uvicorn server on a loopback port, in a background thread.

Streams must be tested over a real socket: Starlette's TestClient and httpx's ASGITransport buffer
the whole body, which hides both incremental delivery and timing. The socket is bound before the
server starts (port 0 = the OS picks a free one), so the URL is known up front and two servers
never race for a port. Used by the tests, the benchmarks and the pytest plugin.

uvicorn runs with ``server_header=False`` (a recorded ``server`` header is replayed as recorded and
none is invented) and without its access log (the app writes its own line per request).

Several processes (``nim-mock serve --workers N``): :func:`worker_sockets` binds one socket per
worker on the same port and :func:`serve_workers` forks the workers, each serving its own app on its
own socket, and supervises them; see their docstrings for why it is done this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import uvicorn
from starlette.types import ASGIApp

__all__ = [
    "RunningServer",
    "bind_socket",
    "run_on_server_loop",
    "serve_in_thread",
    "serve_until_stopped",
    "serve_workers",
    "uvicorn_config",
    "worker_sockets",
]

BALANCED_REUSE_PORT = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
"""Whether the kernel spreads new connections over ``SO_REUSEPORT`` sockets (Linux does; macOS and
the BSDs' plain ``SO_REUSEPORT`` allow the sharing but not the balancing)."""


def bind_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket, created with ``proto=IPPROTO_TCP`` on purpose.

    asyncio only turns on ``TCP_NODELAY`` for accepted sockets whose ``proto`` is ``IPPROTO_TCP``;
    ``socket.create_server`` leaves it 0, and then every response whose status line and body leave
    in two writes waits ~40 ms for the client's delayed ACK (Nagle), on each keep-alive request.
    ``reuse_port`` sets ``SO_REUSEPORT``, so other sockets that set it may listen on the same port.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def worker_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """The listening sockets of ``count`` workers on one port (``port`` 0: a free one), one per worker.

    On Linux each worker gets its own ``SO_REUSEPORT`` socket, and the kernel hashes every new
    connection to one of them: a load tester that opens 64 connections at once gets them spread
    evenly. With one shared socket instead, whichever worker wakes first accepts the whole burst
    (asyncio accepts up to 100 pending connections per wake-up) and the others sit idle for the
    rest of the run. Elsewhere all workers share one socket (the kernel's order decides).

    The port is first bound the ordinary way, so a port another server already listens on,
    ``SO_REUSEPORT`` or not, fails here with ``EADDRINUSE`` rather than silently joining its group.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    first = bind_socket(host, port)
    if count == 1 or not BALANCED_REUSE_PORT:
        return [first] * count
    chosen = first.getsockname()[1]
    first.close()
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(bind_socket(host, chosen, reuse_port=True))
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def uvicorn_config(app: ASGIApp, *, log_level: str = "warning", graceful_s: float = 1.0) -> uvicorn.Config:
    """The one uvicorn configuration the mock runs under, for threads and the CLI alike.

    ``http`` and ``loop`` stay uvicorn's ``auto``: httptools and uvloop (dependencies, as in vLLM's
    server) where they are installed, h11 and asyncio where a platform has no build of them.
    """
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=max(int(graceful_s), 1),
    )


def run_on_server_loop(server: uvicorn.Server, main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on the event loop uvicorn's own ``Server.run`` would choose (uvloop where installed).

    ``nim-mock serve`` and its workers drive uvicorn themselves (to announce readiness, to watch the
    parent), and a plain ``asyncio.run`` would put them on the stdlib loop while the thread-hosted
    servers run on uvloop: the same mock, two speeds.
    """
    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(main)


async def serve_until_stopped(
    server: uvicorn.Server, sock: socket.socket, on_ready: Callable[[], None] = lambda: None
) -> None:
    """Run ``server`` on ``sock`` until it stops, calling ``on_ready`` once it accepts requests."""
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    # uvicorn exposes readiness only as a flag, so poll it (briefly: start-up takes milliseconds).
    while not server.started and not serving.done():  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    if server.started:
        on_ready()
    await serving


def serve_workers(
    build: Callable[[int], ASGIApp],
    sockets: Sequence[socket.socket],
    *,
    on_ready: Callable[[], None],
    report: Callable[[str], None],
    start_timeout: float = 60.0,
) -> int:
    """Serve ``build(i)`` in worker process ``i`` on ``sockets[i]`` until SIGINT/SIGTERM; the exit code.

    The workers are forked (POSIX only), so what the caller loaded before (cassettes, rules) is
    shared with them copy-on-write and each worker only builds its app, after the fork. The calling
    process supervises: once every worker reports it is serving it calls ``on_ready``; on SIGINT or
    SIGTERM it asks each worker to stop (SIGTERM: uvicorn's graceful shutdown) and returns 0. A
    worker that fails to start or dies takes the others down and makes it return 1, after
    ``report`` said which and how: a load test must not go on against a server missing a worker.
    Each worker also stops by itself if this process disappears (its end of a pipe closes).

    Nothing is shared between the workers once they run: each app has its own matcher, fault plan
    and metrics (label them with the worker's index).
    """
    if not hasattr(os, "fork"):
        raise RuntimeError("several worker processes need os.fork(), which this platform lacks")
    ready_r, ready_w = os.pipe()
    lifeline_r, lifeline_w = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    # What exists now is shared with the workers; frozen, the collector never writes to it in them
    # (which would copy its pages into each worker).
    gc.freeze()
    workers: dict[int, int] = {}
    for index, sock in enumerate(sockets):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the forked worker (tests see it from outside)
            os.close(ready_r)
            os.close(lifeline_w)
            for other in sockets:
                if other is not sock:
                    other.close()
            _worker_main(index, build, sock, ready_w, lifeline_r)
        workers[pid] = index
    os.close(ready_w)
    os.close(lifeline_r)
    for sock in {id(sock): sock for sock in sockets}.values():
        sock.close()
    # Both signals stop the server, even where SIGINT arrives ignored (a job started in the background).
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        failure = _wait_until_ready(ready_r, workers, start_timeout)
        if failure is not None:
            report(failure)
            return 1
        on_ready()
        while True:
            pid, status = os.wait()
            if pid in workers:
                index = workers.pop(pid)
                report(f"worker {index} (pid {pid}) {_ended(status)}; stopping the other workers")
                return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop_workers(workers)
        os.close(ready_r)
        os.close(lifeline_w)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _ended(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def _wait_until_ready(ready_r: int, workers: dict[int, int], timeout: float) -> str | None:
    """Wait for one byte from each worker; what went wrong instead, or ``None`` when all are serving."""
    deadline = time.monotonic() + timeout
    waiting = len(workers)
    while waiting:
        for pid in list(workers):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                index = workers.pop(pid)
                return f"worker {index} (pid {pid}) {_ended(status)} before it was serving"
        left = deadline - time.monotonic()
        if left <= 0:
            return f"{waiting} of {len(workers)} workers were not serving after {timeout:g} s"
        readable, _, _ = select.select([ready_r], [], [], min(left, 0.1))
        if readable:
            got = os.read(ready_r, waiting)
            waiting -= len(got)
    return None


def _stop_workers(workers: dict[int, int], timeout: float = 5.0) -> None:
    """SIGTERM every worker still running, wait up to ``timeout`` s in all, then SIGKILL the rest."""
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while workers and time.monotonic() < deadline:
        for pid in list(workers):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            del workers[pid]
        time.sleep(0.02)
    for pid in list(workers):
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        del workers[pid]


def _worker_main(  # pragma: no cover - runs in the forked worker
    index: int, build: Callable[[int], ASGIApp], sock: socket.socket, ready_w: int, lifeline_r: int
) -> NoReturn:
    code = 0
    try:
        # uvicorn re-raises the signal it stopped on once it is done: SIGTERM must then end nothing
        # more (this function exits on its own, after flushing the log), and SIGINT stays Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: None)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        server = uvicorn.Server(uvicorn_config(build(index)))
        run_on_server_loop(server, _serve_worker(server, sock, ready_w, lifeline_r))
    except KeyboardInterrupt:
        pass
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        logging.shutdown()  # write what the request log still holds: os._exit skips atexit
        os._exit(code)


async def _serve_worker(server: uvicorn.Server, sock: socket.socket, ready_w: int, lifeline_r: int) -> None:
    def parent_gone() -> None:
        asyncio.get_running_loop().remove_reader(lifeline_r)
        server.should_exit = True

    def serving() -> None:
        os.write(ready_w, b".")

    asyncio.get_running_loop().add_reader(lifeline_r, parent_gone)
    await serve_until_stopped(server, sock, serving)


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
