"""``nim-mock``: serve cassettes as a mock NIM, record new ones through a proxy, list or lint them.

    nim-mock serve [--cassettes DIR ...] [--host 127.0.0.1] [--port 8000] [--speed S]
                   [--ignore PATH ...] [--identity nim1|nim2|hosted]
                   [--on-miss error|synthesize] [--rules FILE] [--tokens-per-s N] [--ttft-ms MS]
                   [--faults FILE] [--seed N]
                   [--log-level LEVEL] [--quiet] [--log-format text|json] [--workers N]
    nim-mock record --upstream URL [--cassettes DIR] [--test NODEID] [--host 127.0.0.1] [--port 8001]
                    [--redact VALUE ...]
                    [--description TEXT]
    nim-mock list [DIR ...] [--long]
    nim-mock check [DIR ...] [--tests PATH ...] [--rootdir DIR]
    nim-mock --version

Exit codes: 0 success (Ctrl-C included: stopping the server is the normal way to end it),
1 ``check`` found problems, 2 bad arguments or a bad cassette (the message says which file, which
field and what to do). The user never sees a traceback for their own mistakes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from nim_mock._cli_args import finite_number, port
from nim_mock._environment import API_KEY_ENV, REDACT_ENV
from nim_mock._serve_cli import add_process_options
from nim_mock.faults.cli import add_fault_options
from nim_mock.synth.cli import add_synth_options
from nim_mock.wire.identity import IDENTITIES

# What only a command needs is imported by the function that runs it, so `nim-mock --help` (and a
# mistyped option) pays for argparse and the option definitions alone: tests/mock/test_cli_imports.py
# keeps it that way, bench/bench_startup.py measures it.
if TYPE_CHECKING:
    import logging
    import socket

    from starlette.types import ASGIApp

    from nim_mock.cassette import Cassette
    from nim_mock.serve.metrics import WorkerLabel

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


_speed = finite_number(note=" (0 = no delays, 1 = real time)")


SERVE_PORT = 8000
RECORD_PORT = 8001
"""Not serve's: the README's walk-through records next to a running mock."""


def _add_listen(command: argparse.ArgumentParser, default_port: int = SERVE_PORT) -> None:
    command.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    command.add_argument(
        "--port", type=port, default=default_port, help=f"port (default: {default_port}; 0 = any free port)"
    )


def _add_dirs(command: argparse.ArgumentParser) -> None:
    command.add_argument("dirs", nargs="*", type=Path, metavar="DIR", help="default: the bundled cassettes")


class _ShowVersion(argparse.Action):
    """``--version``, reading the installed version only when asked: the package metadata (and the
    app module that reports the same version over HTTP) are not worth loading for every ``--help``."""

    def __init__(self, option_strings: Sequence[str], dest: str) -> None:
        super().__init__(
            option_strings,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show program's version number and exit",
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from nim_mock.app import harness_version

        print(f"nim-mock (nim-harness) {harness_version()}", file=sys.stdout)
        parser.exit()


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The parser; ``env`` (default ``os.environ``) supplies the NIM-style defaults of ``serve``."""
    parser = argparse.ArgumentParser(
        prog="nim-mock", description="A mock NVIDIA NIM that replays recorded cassettes."
    )
    parser.add_argument("--version", action=_ShowVersion)
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
    _add_listen(serve)
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
        "--identity",
        choices=IDENTITIES,
        default=None,
        help="the server the mock answers as wherever it builds an answer itself (headers, health, "
        "version, metrics, listing, errors, validation, synthesized bodies): nim1 (NIM 1.x, default), "
        "nim2 (NIM 2.x, vLLM 0.32) or hosted (NVIDIA's hosted gateway)",
    )
    serve.add_argument(
        "--error-layout",
        choices=("nim", "vllm"),
        default=None,
        help="deprecated: nim is --identity nim1, vllm is --identity nim2",
    )
    add_synth_options(serve)
    add_fault_options(serve)
    add_process_options(serve, os.environ if env is None else env)

    listing = commands.add_parser("list", help="show what cassette folders hold")
    _add_dirs(listing)
    listing.add_argument(
        "--long",
        "-l",
        action="store_true",
        help="full descriptions and model lists, not cut to fit a terminal",
    )
    _add_record(commands)
    _add_check(commands)
    return parser


def _add_record(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    record = commands.add_parser(
        "record",
        help="a recording proxy: forward every request to --upstream, write one cassette per exchange",
        description="Point any OpenAI-compatible client at the printed URL; each finished exchange is "
        "written, redacted, to --cassettes as <NNNN>-<method>-<path>[-<model>].json. A failed exchange "
        "(upstream unreachable or dropped mid-stream) writes nothing and is logged. Ctrl-C stops.",
    )
    record.add_argument(
        "--upstream",
        required=True,
        metavar="URL",
        help="the real server's base URL, e.g. http://127.0.0.1:8000/v1",
    )
    record.add_argument(
        "--cassettes",
        type=Path,
        default=Path("cassettes"),
        metavar="DIR",
        help="where to write (default: cassettes)",
    )
    _add_listen(record, RECORD_PORT)
    record.add_argument(
        "--test",
        metavar="NODEID",
        help="write every exchange into the one cassette the pytest plugin replays for this test "
        "(e.g. tests/test_chat.py::test_hello), under --cassettes; without it, one file per exchange",
    )
    record.add_argument(
        "--redact",
        action="extend",
        nargs="+",
        default=[],
        metavar="VALUE",
        help=f"extra values to replace by REDACTED (repeatable; also ${REDACT_ENV}, comma-separated, and "
        f"${API_KEY_ENV}); keys, Authorization, api-key and cookies are always replaced",
    )
    record.add_argument(
        "--description",
        default="",
        metavar="TEXT",
        help="added to each cassette's description, after where and when it was recorded "
        "(say what answered: engine, version, model)",
    )


def _add_check(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check",
        help="lint cassettes: format, secrets, unparsable events, timing, and (with --tests) orphans",
        description="Prints one line per problem (path: field: problem); exits 1 on any, 0 when clean.",
    )
    _add_dirs(check)
    check.add_argument(
        "--tests",
        action="extend",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="test files or folders; cassettes none of them uses are reported as orphans",
    )
    check.add_argument(
        "--rootdir",
        type=Path,
        default=None,
        metavar="DIR",
        help="pytest's rootdir, for the cassette names derived from test paths (default: the current folder)",
    )


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run the CLI; returns the exit code (the console script exits with it).

    ``env`` (default ``os.environ``) is read by ``record`` (extra values to redact) and by ``serve``
    (the NIM-style defaults of its options).
    """
    stdout = out or sys.stdout
    stderr = err or sys.stderr
    args = build_parser(env).parse_args(argv)
    from nim_mock.cassette import CassetteError

    try:
        if args.command == "list":
            from nim_mock.cassettes.listing import format_listing
            from nim_mock.cassettes.persist import bundled_cassettes_dir, load_cassettes

            cassettes = load_cassettes(args.dirs or [bundled_cassettes_dir()])
            stdout.write(format_listing(cassettes, full=args.long))
            return EXIT_OK
        if args.command == "check":
            return _check(args, stdout, stderr)
        if args.command == "record":
            return _record(args, stdout, stderr, os.environ if env is None else env)
        return _serve(args, stdout, stderr)
    except CassetteError as error:
        stderr.write(f"nim-mock: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


def _check(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from nim_mock.cassettes.check import check_folders
    from nim_mock.cassettes.persist import bundled_cassettes_dir

    dirs = args.dirs or [bundled_cassettes_dir()]
    count, problems = check_folders(dirs, args.tests, args.rootdir)
    for problem in problems:
        stdout.write(f"{problem}\n")
    n = len(problems)
    files = f"{count} cassette{'s' if count != 1 else ''}"
    stderr.write(f"nim-mock check: {files}, {n or 'no'} problem{'s' if n != 1 else ''}\n")
    return EXIT_PROBLEMS if problems else EXIT_OK


def _not_an_upstream_failure(record: logging.LogRecord) -> bool:
    """Drop uvicorn's traceback for an exchange our own FAILED line already reported: an upstream
    that dropped (re-raised to cut the client's response short) or a stream Ctrl-C cancelled."""
    import asyncio

    import httpx

    error = record.exc_info[1] if record.exc_info else None
    return not isinstance(error, httpx.HTTPError | asyncio.CancelledError)


def _upstream_parts(upstream: str) -> tuple[str, str] | None:
    """(origin, API path) of a base URL, or ``None`` when it is not an http(s) URL."""
    parts = urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")


def _record(args: argparse.Namespace, stdout: TextIO, stderr: TextIO, env: Mapping[str, str]) -> int:
    try:
        parts = _upstream_parts(args.upstream)
    except ValueError:
        parts = None
    if parts is None:
        stderr.write(
            f"nim-mock: --upstream {args.upstream!r} is not an http(s) URL; give the server's base URL, "
            "e.g. http://127.0.0.1:8000/v1\n"
        )
        return EXIT_USAGE
    if args.cassettes.exists() and not args.cassettes.is_dir():
        stderr.write(
            f"nim-mock: --cassettes {args.cassettes} is a file; give a folder to write cassettes into\n"
        )
        return EXIT_USAGE
    origin, api_path = parts
    redact = [*args.redact, *env.get(REDACT_ENV, "").split(","), env.get(API_KEY_ENV, "")]
    from nim_mock.record.proxy import create_recording_app
    from nim_mock.record.writer import CassetteWriter, TestCassetteWriter

    def log(line: str) -> None:
        print(f"nim-mock: {line}", file=stderr, flush=True)

    values = tuple(v.strip() for v in redact if v.strip())
    writer: CassetteWriter | TestCassetteWriter
    if args.test is not None:
        from nim_mock.cassettes.naming import derive_cassette_name

        module, _, qualified = args.test.partition("::")
        if not module.endswith(".py") or not qualified:
            stderr.write(
                f"nim-mock: --test {args.test!r} is not a pytest node id; give one as pytest prints it, "
                "e.g. tests/test_chat.py::test_hello (run from the folder pytest runs in)\n"
            )
            return EXIT_USAGE
        name = derive_cassette_name(module, qualified)
        writer = TestCassetteWriter(
            args.cassettes, args.upstream, log, values, args.description.strip(), name=name
        )
    else:
        writer = CassetteWriter(args.cassettes, args.upstream, log, values, note=args.description.strip())
    app = create_recording_app(origin, writer)
    sock = _bind(args, stderr)
    if sock is None:
        return EXIT_USAGE

    def announce(url: str) -> str:
        return (
            f"nim-mock: recording {url}{api_path} -> {origin}{api_path} into {args.cassettes} (Ctrl-C stops)"
        )

    # Other exceptions keep their traceback: they would be bugs.
    _run_server(app, sock, _not_an_upstream_failure, announce, stdout)
    lost = f", {writer.in_flight} cut short by the stop" if writer.in_flight else ""
    log(f"stopped: {len(writer.written)} written, {len(writer.failed)} failed{lost}")
    return EXIT_OK


def _serve(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from nim_mock._serve_cli import configure_request_log, env_problems, faults_for_worker, run_workers
    from nim_mock.app import create_app
    from nim_mock.cassettes.persist import bundled_cassettes_dir, load_cassettes
    from nim_mock.faults.cli import CUT_LOG_FILTER, fault_summary, faults_from_args
    from nim_mock.synth.cli import synth_from_args

    problems = env_problems(args)
    for problem in problems:
        stderr.write(f"nim-mock: {problem}\n")
    if problems:
        return EXIT_USAGE
    cassettes = load_cassettes(args.cassettes or [bundled_cassettes_dir()])
    log, request_log = configure_request_log(stderr, args)
    try:
        on_miss, synth = synth_from_args(args)
        faults = faults_from_args(args)

        def build(worker: WorkerLabel | None = None) -> ASGIApp:
            return create_app(
                cassettes,
                speed=args.speed,
                ignore=args.ignore,
                identity=args.identity,
                error_layout=args.error_layout,
                on_miss=on_miss,
                synth=synth,
                faults=faults_for_worker(faults, worker),
                worker=worker,
                request_log=request_log,
            )

        app = build()  # in a single process the app; with workers, the check that each can build one
    except (
        ValueError
    ) as error:  # e.g. a malformed --ignore path, two cassettes with one name, a bad --rules file
        stderr.write(f"nim-mock: {error}\n")
        return EXIT_USAGE
    synthesizing = ", synthesizing on a miss" if on_miss == "synthesize" else ""
    workers = f", {args.workers} workers" if args.workers > 1 else ""

    def announce(url: str) -> str:
        return (
            f"nim-mock: serving {_summary(cassettes)} on {url}/v1 (speed {args.speed:g})"
            f"{synthesizing}{fault_summary(faults)}{workers}"
        )

    # A cut fault's dropped connection is no error (CUT_LOG_FILTER).
    if args.workers > 1:
        return run_workers(args, build, log, announce, CUT_LOG_FILTER, stdout, stderr)
    sock = _bind(args, stderr)
    if sock is None:
        return EXIT_USAGE
    try:
        _run_server(app, sock, CUT_LOG_FILTER, announce, stdout)
    finally:
        log.flush()
    return EXIT_OK


def _bind(args: argparse.Namespace, stderr: TextIO) -> socket.socket | None:
    """The listening socket for --host/--port, or ``None`` after saying why it cannot be had.

    Bound before uvicorn starts, so --port 0 is announced with the port actually chosen."""
    from nim_mock.serve.runner import bind_socket

    try:
        return bind_socket(args.host, args.port)
    except OSError as error:
        stderr.write(f"nim-mock: cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
        return None


def _run_server(
    app: ASGIApp,
    sock: socket.socket,
    log_filter: Callable[[logging.LogRecord], bool],
    announce: Callable[[str], str],
    stdout: TextIO,
) -> None:
    """Serve ``app`` on ``sock`` until Ctrl-C, printing ``announce(base URL)`` once it accepts requests.

    ``log_filter`` sits on uvicorn's error log only while this runs (records it returns False for are
    expected outcomes, already reported by our own log line); the socket is closed on the way out."""
    import logging

    import uvicorn

    from nim_mock.serve.runner import run_on_server_loop, serve_until_stopped, uvicorn_config

    server = uvicorn.Server(uvicorn_config(app, log_level="warning"))
    host, bound_port = sock.getsockname()[:2]
    line = announce(f"http://{f'[{host}]' if ':' in host else host}:{bound_port}")
    uvicorn_errors = logging.getLogger("uvicorn.error")
    uvicorn_errors.addFilter(log_filter)
    try:
        announced = serve_until_stopped(server, sock, lambda: print(line, file=stdout, flush=True))
        run_on_server_loop(server, announced)
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl-C it caught once it has shut down cleanly; that is a normal stop.
        pass
    finally:
        uvicorn_errors.removeFilter(log_filter)
        sock.close()


def _summary(cassettes: Sequence[Cassette]) -> str:
    models: dict[str, None] = {}
    for cassette in cassettes:
        for model in cassette.models:
            models.setdefault(model)
    n, m = len(cassettes), len(models)
    return f"{n} cassette{'s' if n != 1 else ''} ({m} model{'s' if m != 1 else ''})"


if __name__ == "__main__":  # pragma: no cover - `python -m nim_mock.cli`
    raise SystemExit(main())
