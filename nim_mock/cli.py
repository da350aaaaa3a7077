"""``nim-mock``: serve cassettes as a mock NIM, or list what a cassette folder holds.

    nim-mock serve [--cassettes DIR ...] [--host 127.0.0.1] [--port 8000] [--speed S]
                   [--ignore PATH ...] [--error-layout nim|vllm]
    nim-mock list [DIR ...]
    nim-mock --version

Exit codes: 0 success (Ctrl-C included: stopping the server is the normal way to end it),
2 bad arguments or a bad cassette (the message says which file, which field and what to do).
The user never sees a traceback for their own mistakes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import uvicorn

from nim_mock._app import LOGGER_NAME, create_app, harness_version
from nim_mock._listing import format_listing
from nim_mock._nim_errors import ERROR_LAYOUTS
from nim_mock._persist import bundled_cassettes_dir, load_cassettes
from nim_mock._server import bind_socket, uvicorn_config
from nim_mock.cassette import Cassette, CassetteError

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_USAGE = 2


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (0 = no delays, 1 = real time)") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be a finite number >= 0 (0 = no delays, 1 = real time)"
        )
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535; 0 = any free port)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nim-mock", description="A mock NVIDIA NIM that replays recorded cassettes."
    )
    parser.add_argument("--version", action="version", version=f"nim-mock (nim-harness) {harness_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve cassettes over HTTP like a NIM")
    serve.add_argument(
        "--cassettes",
        action="extend",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="cassette folders (repeatable); default: the bundled cassettes",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default: 8000; 0 = any free port)")
    serve.add_argument(
        "--speed",
        type=_speed,
        default=0.0,
        help="recorded timing factor: 0 = no delays (default), 1 = real time",
    )
    serve.add_argument(
        "--ignore",
        action="extend",
        nargs="+",
        default=[],
        metavar="PATH",
        help="body paths left out of matching for every cassette, e.g. seed messages.*.name (repeatable)",
    )
    serve.add_argument(
        "--error-layout",
        choices=ERROR_LAYOUTS,
        default="nim",
        help="shape of the mock's own errors: nim (NIM 1.x flat, default) or vllm (vLLM >= 0.10 nested)",
    )
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))

    listing = commands.add_parser("list", help="show what cassette folders hold")
    listing.add_argument("dirs", nargs="*", type=Path, metavar="DIR", help="default: the bundled cassettes")
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    stdout = out or sys.stdout
    stderr = err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            cassettes = load_cassettes(args.dirs or [bundled_cassettes_dir()])
            stdout.write(format_listing(cassettes))
            return EXIT_OK
        return _serve(args, stdout, stderr)
    except CassetteError as error:
        stderr.write(f"nim-mock: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


def _serve(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    cassettes = load_cassettes(args.cassettes or [bundled_cassettes_dir()])
    try:
        app = create_app(cassettes, speed=args.speed, ignore=args.ignore, error_layout=args.error_layout)
    except ValueError as error:  # e.g. a malformed --ignore path or two cassettes with one name
        stderr.write(f"nim-mock: {error}\n")
        return EXIT_USAGE
    _log_to(stderr, args.log_level)
    try:
        # Bound before uvicorn starts, so --port 0 is announced with the port actually chosen.
        sock = bind_socket(args.host, args.port)
    except OSError as error:
        stderr.write(f"nim-mock: cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
        return EXIT_USAGE
    server = uvicorn.Server(uvicorn_config(app, log_level="warning"))
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    announce = (
        f"nim-mock: serving {_summary(cassettes)} on http://{shown_host}:{port}/v1 (speed {args.speed:g})"
    )
    try:
        asyncio.run(_run_until_stopped(server, sock, lambda: print(announce, file=stdout, flush=True)))
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl-C it caught once it has shut down cleanly; that is a normal stop.
        pass
    finally:
        sock.close()
    return EXIT_OK


async def _run_until_stopped(
    server: uvicorn.Server, sock: socket.socket, on_ready: Callable[[], None]
) -> None:
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    # uvicorn exposes readiness only as a flag, so poll it (briefly: start-up takes milliseconds).
    while not server.started and not serving.done():  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    if server.started:
        on_ready()
    await serving


def _summary(cassettes: Sequence[Cassette]) -> str:
    models: dict[str, None] = {}
    for cassette in cassettes:
        for model in cassette.models:
            models.setdefault(model)
    n, m = len(cassettes), len(models)
    return f"{n} cassette{'s' if n != 1 else ''} ({m} model{'s' if m != 1 else ''})"


def _log_to(stream: TextIO, level: str) -> None:
    """The one log line per request goes to stderr; configured here, never at import."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


if __name__ == "__main__":  # pragma: no cover - `python -m nim_mock.cli`
    raise SystemExit(main())
