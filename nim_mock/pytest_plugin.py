"""nim-harness's pytest plugin (entry point ``pytest11: nim_harness``): one suite, three modes.

Installing the package is enough: pytest loads this module, which adds the ``nim-harness`` option
group, the ``nim`` marker and the fixtures (``nim_harness_chat``, ``nim_harness_embeddings``,
``nim_harness_rerank``, ``nim_harness_base_url``,
``nim_harness_http_client``, ``nim_harness_mode``, ``nim_harness_model``, ``nim_harness_cassette``,
``nim_harness_settings``, ``nim_harness_faults``, ``nim_harness_test``, ``nim_harness_live_copy``,
and ``nim_config``, which a conftest overrides as pytest-recording's ``vcr_config``).
The work lives in ``nim_mock.plugin``; this file only wires pytest hooks to it.

Every name this plugin adds to pytest's shared namespaces starts with ``nim_harness_`` (options
``--nim-harness-...``), except ``--nim-mode``, ``--nim-record-mode``, the ``nim`` marker and the
``nim_config`` fixture (named after the ``vcr_config`` habit it serves): a project's own conftest or
another plugin (langchain-nvidia-ai-endpoints' suite registers ``--nim-endpoint``) must be able to
run beside it, and argparse refuses a second option of the same name or destination.

Precedence for every option, spelled out once: command line > environment > ini file > default
(see ``options``).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

from nim_mock.plugin.cassette_cache import CassetteCache
from nim_mock.plugin.faults import nim_harness_faults
from nim_mock.plugin.fixtures import (
    CASSETTES_KEY,
    DRIFT_KEY,
    PREFIX_KEY,
    RECORDED_PATH_KEY,
    REPORTS_KEY,
    SERVER_KEY,
    SETTINGS_KEY,
    UNPLAYED_KEY,
    nim_config,
    nim_harness_base_url,
    nim_harness_cassette,
    nim_harness_chat,
    nim_harness_http_client,
    nim_harness_live_copy,
    nim_harness_mode,
    nim_harness_model,
    nim_harness_settings,
    nim_harness_test,
)
from nim_mock.plugin.marker import MARKER_HELP
from nim_mock.plugin.modes import record_command, session_error
from nim_mock.plugin.mounts import SessionServer
from nim_mock.plugin.options import OPTIONS, REDACT_FLAG, REDACT_INI, SettingsError, resolve_settings
from nim_mock.plugin.retrieval import nim_harness_embeddings, nim_harness_rerank

__all__ = [
    "nim_config",
    "nim_harness_base_url",
    "nim_harness_cassette",
    "nim_harness_chat",
    "nim_harness_embeddings",
    "nim_harness_faults",
    "nim_harness_http_client",
    "nim_harness_live_copy",
    "nim_harness_mode",
    "nim_harness_model",
    "nim_harness_rerank",
    "nim_harness_settings",
    "nim_harness_test",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "nim-harness", "nim-harness: test NVIDIA NIM apps against cassettes or a live endpoint"
    )
    for spec in OPTIONS:
        env = " or ".join(f"${name}" for name in spec.env)
        group.addoption(
            spec.flag,
            dest=spec.dest,
            default=None,
            metavar=spec.key.upper(),  # argparse would show the prefixed destination
            help=f"{spec.help} Env: {env}.",
        )
        parser.addini(spec.ini, help=f"{spec.help} (overridden by {spec.flag} and {env})", default="")
    group.addoption(
        REDACT_FLAG,
        dest=REDACT_INI,
        action="append",
        default=[],
        metavar="VALUE",
        help="a value to scrub from recorded cassettes besides keys and credential headers (repeatable). "
        "Env: $NIM_REDACT (comma-separated).",
    )
    parser.addini(REDACT_INI, help="values to scrub from recorded cassettes, one per line", type="linelist")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    inipath = config.inipath
    try:
        settings = resolve_settings(
            {spec.key: config.getoption(spec.dest) for spec in OPTIONS},
            dict(os.environ),
            {spec.key: str(config.getini(spec.ini)) for spec in OPTIONS},
            invocation_dir=config.invocation_params.dir,
            ini_dir=inipath.parent if inipath is not None else config.rootpath,
            cli_redact=config.getoption(REDACT_INI) or [],
            ini_redact=[str(v) for v in config.getini(REDACT_INI)],
        )
    except SettingsError as error:
        raise pytest.UsageError(f"nim-harness: {error}") from None
    problem = session_error(settings)
    if problem is not None:
        raise pytest.UsageError(f"nim-harness: {problem}")
    config.stash[SETTINGS_KEY] = settings
    config.stash[SERVER_KEY] = SessionServer()
    config.stash[CASSETTES_KEY] = CassetteCache()


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(SERVER_KEY, None)
    if server is not None:
        server.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(SETTINGS_KEY, None)
    return settings.describe() if settings is not None else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report (record mode writes only after a pass) and show mock misses on failure."""
    report = yield
    item.stash.setdefault(REPORTS_KEY, {})[report.when] = report
    if report.when == "teardown":
        # user_properties travel with the report, so under xdist they reach the controlling process.
        if RECORDED_PATH_KEY in item.stash:
            report.user_properties.append(("nim_harness_recorded", str(item.stash[RECORDED_PATH_KEY])))
        if DRIFT_KEY in item.stash:
            report.user_properties.append(("nim_harness_drift", item.stash[DRIFT_KEY]))
        if UNPLAYED_KEY in item.stash:
            report.user_properties.append(("nim_harness_unplayed", item.stash[UNPLAYED_KEY]))
    prefix = item.stash.get(PREFIX_KEY, None)
    if report.failed and prefix is not None:
        misses = item.config.stash[SERVER_KEY].mounts.misses(prefix)
        if misses:
            command = record_command(
                item.nodeid,
                item.config.stash[SETTINGS_KEY],
                rootdir=item.config.rootpath,
                invocation_dir=item.config.invocation_params.dir,
            )
            text = "\n\n".join(misses) + f"\n\nRe-record this test's cassette with:\n    {command}"
            report.sections.append(("nim-mock misses", text))
    return report


def _gathered(terminalreporter: pytest.TerminalReporter, name: str) -> list[tuple[str, Any]]:
    """Every (node id, value) a teardown report carried under ``name``; xdist workers' reports included."""
    found = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if key == name:
                    found.append((report.nodeid, value))
    return sorted(found, key=lambda pair: pair[0])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    recorded = _gathered(terminalreporter, "nim_harness_recorded")
    if recorded:
        terminalreporter.write_sep("-", f"nim-harness recorded {len(recorded)} cassette(s)")
        for _, path in recorded:
            terminalreporter.write_line(path)
    unplayed = _gathered(terminalreporter, "nim_harness_unplayed")
    if unplayed:
        count = sum(len(lines) for _, (_, lines) in unplayed)
        heading = f"nim-harness: {count} recorded interaction(s) never played, in {len(unplayed)} test(s)"
        _write_per_cassette(terminalreporter, heading, unplayed)
        terminalreporter.write_line("(--nim-harness-unplayed=fail makes such a test fail)")
    drift = _gathered(terminalreporter, "nim_harness_drift")
    if drift:
        heading = f"nim-harness drift: {len(drift)} live answer(s) differ from their cassette"
        _write_per_cassette(terminalreporter, heading, drift)


def _write_per_cassette(
    terminalreporter: pytest.TerminalReporter, heading: str, found: list[tuple[str, Any]]
) -> None:
    """A section of the summary: per test, its cassette's name and the lines found for it."""
    terminalreporter.write_sep("-", heading)
    for nodeid, (name, lines) in found:
        terminalreporter.write_line(f"{nodeid} (cassette {name}):")
        for line in lines:
            terminalreporter.write_line(f"    {line}")
