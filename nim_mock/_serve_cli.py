"""How ``nim-mock serve`` runs as a process: its logging, its workers, and the NIM environment it reads.

Kept apart from ``cli`` (which only wires these in) because it is what a deployment touches:

--log-level LEVEL    debug, info (default: one line per request), warning, error, critical
--quiet              no request lines (--log-level warning)
--log-format FORMAT  text (default) or json (one JSON object per line)
--workers N          N processes on one port (default 1); see ``nim_mock.serve.runner.serve_workers``

A NIM container is configured through its environment, so ``serve`` reads the variables a NIM
reads, where they mean the same thing, as the defaults of its options (an option given on the
command line wins): ``NIM_SERVER_PORT`` (--port), ``NIM_LOG_LEVEL`` (--log-level),
``NIM_JSONL_LOGGING`` (--log-format json), ``WEB_CONCURRENCY`` (--workers, the variable uvicorn and
gunicorn read), and the mock's own ``NIM_IDENTITY`` (--identity). A value that cannot be used stops
``serve`` with a message naming the variable.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TextIO

from nim_mock._cli_args import at_least_one, port
from nim_mock._log_formats import LOG_FORMATS

if TYPE_CHECKING:  # `nim-mock --help` builds these options: the server loads only when serve runs
    from starlette.types import ASGIApp

    from nim_mock.faults.kinds import FaultRules
    from nim_mock.serve.metrics import WorkerLabel
    from nim_mock.serve.request_log import RequestEntry, RequestLogHandler

__all__ = [
    "ENV_DEFAULTS",
    "LOG_LEVELS",
    "add_process_options",
    "configure_request_log",
    "env_problems",
    "faults_for_worker",
    "run_workers",
]

LOG_LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error", "critical")

ENV_DEFAULTS: dict[str, str] = {
    "NIM_SERVER_PORT": "--port",
    "NIM_LOG_LEVEL": "--log-level",
    "NIM_JSONL_LOGGING": "--log-format json",
    "WEB_CONCURRENCY": "--workers",
    "NIM_IDENTITY": "--identity",
}
"""Each environment variable ``serve`` reads, and the option it gives the default of."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


_workers = at_least_one("worker processes", "worker process")


def add_process_options(serve: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    """Add --log-level, --quiet, --log-format and --workers to ``serve``; defaults from ``env``.

    A variable that cannot be used leaves an :class:`_UnusableEnv` as its option's default, which
    :func:`env_problems` reports after parsing, unless the option was given on the command line.
    """
    defaults = _env_defaults(env)
    group = serve.add_argument_group("logging and processes")
    group.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        default="info",
        help="info (default) writes one line per request to stderr; warning and above leave them out",
    )
    group.add_argument(
        "--quiet",
        action="store_true",
        help="no per-request lines, only warnings and errors (the same as --log-level warning)",
    )
    group.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="text (default) or json: one JSON object per line, with method, path, status and answer",
    )
    group.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="worker processes sharing the port (default 1). Each counts, cycles cassettes and "
        "applies fault rules on its own: use 1 when a test needs exact counts or fault schedules",
    )
    serve.set_defaults(**defaults)
    listed = "; ".join(f"{name} ({option})" for name, option in ENV_DEFAULTS.items())
    serve.epilog = f"Environment (as a NIM container reads it; an option on the command line wins): {listed}."


@dataclasses.dataclass(frozen=True, slots=True)
class _UnusableEnv:
    """The default of an option whose environment variable could not be used: why, for the user."""

    problem: str


def _env_defaults(env: Mapping[str, str]) -> dict[str, object]:
    defaults: dict[str, object] = {}

    def take(name: str, dest: str, parse: Callable[[str], object]) -> None:
        raw = env.get(name)
        if raw is None:
            return
        try:
            defaults[dest] = parse(raw.strip())
        except (argparse.ArgumentTypeError, ValueError) as error:
            defaults[dest] = _UnusableEnv(
                f"environment variable {name}={raw!r}: {error}; fix or unset it, or pass {ENV_DEFAULTS[name]}"
            )

    take("NIM_SERVER_PORT", "port", port)
    take("NIM_LOG_LEVEL", "log_level", _log_level)
    take("NIM_JSONL_LOGGING", "log_format", _jsonl)
    take("WEB_CONCURRENCY", "workers", _workers)
    take("NIM_IDENTITY", "identity", _identity)
    return defaults


def _identity(text: str) -> str:
    from nim_mock.wire.identity import IDENTITIES

    if text not in IDENTITIES:
        raise ValueError(f"not an identity (one of {', '.join(IDENTITIES)})")
    return text


def _log_level(text: str) -> str:
    level = text.lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"not a log level (one of {', '.join(level.upper() for level in LOG_LEVELS)})")
    return level


def _jsonl(text: str) -> str:
    flag = text.lower()
    if flag in _TRUE:
        return "json"
    if flag in _FALSE:
        return "text"
    raise ValueError("not a boolean (true or false)")


def env_problems(args: argparse.Namespace) -> list[str]:
    """What is wrong with the environment variables ``serve`` still relies on (empty when nothing is)."""
    return [value.problem for value in vars(args).values() if isinstance(value, _UnusableEnv)]


def configure_request_log(
    stream: TextIO, args: argparse.Namespace
) -> tuple[RequestLogHandler, Callable[[RequestEntry], None] | None]:
    """The request log on ``stream`` at the chosen level and format, configured here, never at import:
    the handler (on the ``nim_mock`` logger; flush it when the server stops) and the sink to give
    ``create_app`` (``None`` when the level leaves request lines out)."""
    from nim_mock.app import LOGGER_NAME
    from nim_mock.serve.request_log import RequestLogHandler

    handler = RequestLogHandler(stream, args.log_format)
    logger = logging.getLogger(LOGGER_NAME)
    for old in [h for h in logger.handlers if isinstance(h, RequestLogHandler)]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel("WARNING" if args.quiet else args.log_level.upper())
    logger.propagate = False
    return handler, handler.write_entry if logger.isEnabledFor(logging.INFO) else None


def faults_for_worker(rules: FaultRules | None, worker: WorkerLabel | None) -> FaultRules | None:
    """Worker ``i``'s rules: the seed plus ``i``, so the workers' NVCF request ids never collide and
    their probability draws differ; worker 0 (or a single process) keeps the seed as given."""
    if rules is None or worker is None or worker.index == 0:
        return rules
    return dataclasses.replace(rules, seed=rules.seed + worker.index)


def run_workers(
    args: argparse.Namespace,
    build: Callable[[WorkerLabel], ASGIApp],
    handler: RequestLogHandler,
    announce: Callable[[str], str],
    log_filter: Callable[[logging.LogRecord], bool],
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """``serve`` with ``args.workers`` processes: bind, fork, announce once all serve, wait; the exit code.

    Each worker builds its own app with ``build(WorkerLabel(i, n))`` and tags its log lines with its
    index; ``log_filter`` sits on uvicorn's error log in every worker, as in a single process.
    """
    from nim_mock.serve.metrics import WorkerLabel
    from nim_mock.serve.runner import serve_workers, worker_sockets

    count = args.workers
    try:
        sockets = worker_sockets(args.host, args.port, count)
    except OSError as error:
        stderr.write(f"nim-mock: cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
        return 2
    host, bound_port = sockets[0].getsockname()[:2]
    line = announce(f"http://{f'[{host}]' if ':' in host else host}:{bound_port}")

    def worker_app(index: int) -> ASGIApp:
        handler.set_worker(index)
        return build(WorkerLabel(index, count))

    def report(message: str) -> None:
        handler.flush()
        stderr.write(f"nim-mock: {message}\n")
        stderr.flush()

    uvicorn_errors = logging.getLogger("uvicorn.error")
    uvicorn_errors.addFilter(log_filter)
    try:
        return serve_workers(
            worker_app,
            sockets,
            on_ready=lambda: print(line, file=stdout, flush=True),
            report=report,
        )
    finally:
        uvicorn_errors.removeFilter(log_filter)
        handler.flush()
