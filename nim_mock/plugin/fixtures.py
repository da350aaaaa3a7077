"""The fixtures a user's tests take: mode, model, cassette, base URL, and a ready ChatNVIDIA factory.

Layering (pytest-recording's idea): session-wide settings come from the command line, environment
and ini file (``options``); the ``nim_config`` fixture (``hooks``) and the ``nim`` marker override
them per test; the fixtures below turn all three into what a test needs. ``nim_harness_base_url``
is where the modes differ:

- mock:   a fresh mock app for this test's cassette, mounted on the session's loopback server; the
          test's record mode (``record_modes``) may put a recorder behind it or in its place;
- record: a fresh recording proxy to the endpoint, mounted the same way; the cassette is written
          at teardown, only if the test passed;
- live:   the endpoint itself (or a skip naming the variable to set).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from nim_mock.cassettes.naming import cassette_path, derive_cassette_name
from nim_mock.plugin.block_network import loopback_blocked_reason
from nim_mock.plugin.cassette_cache import CassetteCache
from nim_mock.plugin.faults import FAULTS_ONLY_IN_MOCK, MOCK_PLAN_KEY, marker_rules
from nim_mock.plugin.hooks import ConfigError, NimConfig, parse_nim_config
from nim_mock.plugin.marker import MarkerError, NimMarker, parse_marker
from nim_mock.plugin.modes import (
    Service,
    choose_model,
    endpoint_parts,
    missing_cassette_message,
    record_command,
    service_of,
    skip_reason,
)
from nim_mock.plugin.mounts import SessionServer
from nim_mock.plugin.options import RECORD_MODE_FLAG, Mode, RecordMode, Settings
from nim_mock.plugin.record_modes import ReplayOrRecord, plan
from nim_mock.wire.http import NVCF_STATUS_PATH

# This module is loaded with the plugin in every pytest run, also in runs that never use a fixture
# (tests/plugin/test_plugin_imports.py checks it, bench/bench_startup.py measures it): what only a
# fixture needs (httpx, the cassette files, the recorder, the client) is imported by that fixture.
if TYPE_CHECKING:
    import httpx
    from nim_harness import ChatNVIDIA

    from nim_mock.cassette import Interaction
    from nim_mock.record.proxy import Recording

__all__ = [
    "CASSETTES_KEY",
    "DRIFT_KEY",
    "PREFIX_KEY",
    "RECORDED_PATH_KEY",
    "REPORTS_KEY",
    "SERVER_KEY",
    "SETTINGS_KEY",
    "UNPLAYED_KEY",
    "NimTest",
    "cassette_models",
    "client_options",
    "close_made",
    "nim_config",
    "nim_harness_base_url",
    "nim_harness_cassette",
    "nim_harness_chat",
    "nim_harness_http_client",
    "nim_harness_live_copy",
    "nim_harness_mode",
    "nim_harness_model",
    "nim_harness_settings",
    "nim_harness_test",
]

SETTINGS_KEY = pytest.StashKey[Settings]()
SERVER_KEY = pytest.StashKey[SessionServer]()
CASSETTES_KEY = pytest.StashKey[CassetteCache]()
"""The session's parsed cassettes (``cassette_cache``)."""
REPORTS_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()
PREFIX_KEY = pytest.StashKey[str]()
DRIFT_KEY = pytest.StashKey[tuple[str, list[str]]]()
"""Per test: its cassette's name and the drift lines found (live mode)."""
RECORDED_PATH_KEY = pytest.StashKey[Path]()
"""Per test: the cassette record mode wrote."""
RECORDS_KEY = pytest.StashKey[bool]()
"""Per test: its requests (some or all) go to the real endpoint through the recorder."""
UNPLAYED_KEY = pytest.StashKey[tuple[str, list[str]]]()
"""Per test: its cassette's name and the interactions it never played (mock mode)."""

_API_PATH = "/v1"
"""The API root under the mock: cassettes hold ``/v1/...`` paths, as every NIM serves them."""
_RECORD_WAIT_S = 30.0
_DRIFT_WAIT_S = 5.0
_CLIENT_TIMEOUT_S = 60.0
"""ChatNVIDIA's own default timeout, used for the clients the fixtures inject."""


@dataclass(frozen=True, slots=True)
class NimTest:
    """The nim-harness view of one test: its cassette's name, path and folder, and its marker's arguments."""

    nodeid: str
    name: str
    path: Path
    marker: NimMarker
    folder: Path
    """The cassette folder ``name`` is relative to: the project's, or the bundled one."""
    config: NimConfig
    """What the ``nim_config`` fixture returned, checked (``hooks``)."""

    @property
    def ignore(self) -> tuple[str, ...]:
        """Body paths left out of matching: ``nim_config``'s, then the marker's."""
        return (*self.config.ignore, *self.marker.ignore)


@pytest.fixture(scope="session")
def nim_harness_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved settings (mode, endpoint, cassette folder, speed, model) of this run."""
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def nim_harness_mode(nim_harness_settings: Settings) -> Mode:
    """``Mode.MOCK``, ``Mode.RECORD`` or ``Mode.LIVE`` (a ``str`` enum: ``== "mock"`` works)."""
    return nim_harness_settings.mode


@pytest.fixture
def nim_config() -> dict[str, Any]:
    """Override in a ``conftest.py`` (like pytest-recording's ``vcr_config``): settings for these tests.

    Keys: ``record_mode``, ``allow_playback_repeats``, ``ignore``, ``filter_headers``,
    ``filter_query_parameters``, ``filter_post_data_parameters``, ``before_record_request``,
    ``before_record_response``, ``match_on`` (see ``nim_mock.plugin.hooks``).
    """
    return {}


@pytest.fixture
def nim_harness_test(
    request: pytest.FixtureRequest, nim_harness_settings: Settings, nim_config: Any
) -> NimTest:
    """This test's cassette name and path, its ``nim`` marker and ``nim_config``, checked."""
    node = request.node
    found = node.get_closest_marker("nim")
    try:
        marker = parse_marker(found.args, found.kwargs) if found is not None else NimMarker()
        config = parse_nim_config(nim_config)
    except (MarkerError, ConfigError) as error:
        problem = str(error)
    else:
        problem = ""
    if problem:  # failed outside the except, so the report shows no chained traceback
        pytest.fail(problem, pytrace=False)
    module, _, qualified = node.nodeid.partition("::")
    name = marker.cassette or derive_cassette_name(module, qualified or node.name)
    folder = _bundled_folder() if marker.bundled else nim_harness_settings.cassettes
    return NimTest(node.nodeid, name, cassette_path(folder, name), marker, folder, config)


@functools.cache
def _bundled_folder() -> Path:
    """The folder of the cassettes shipped with nim-harness, looked up once per process."""
    from nim_mock.cassettes.persist import bundled_cassettes_dir

    return bundled_cassettes_dir()


@pytest.fixture
def nim_harness_cassette(nim_harness_test: NimTest) -> Path:
    """Path of the cassette this test replays (mock) or writes (record); it may not exist yet."""
    return nim_harness_test.path


def cassette_models(
    test: NimTest, settings: Settings, cache: CassetteCache, service: Service = "chat"
) -> tuple[str, ...]:
    """In mock mode, the models the test's cassette asks ``service`` for, in first-seen order."""
    if settings.mode is not Mode.MOCK or not test.path.is_file():
        return ()
    from nim_mock.cassette import CassetteError

    try:
        cassette = cache.load(test.path, root=test.folder)
    except CassetteError:
        return ()  # nim_harness_base_url reports the broken file; the model is not the place to fail
    requests = [interaction.request for interaction in cassette.interactions]
    return tuple(
        dict.fromkeys(r.model for r in requests if r.model is not None and service_of(r.path) == service)
    )


@pytest.fixture
def nim_harness_model(
    pytestconfig: pytest.Config, nim_harness_test: NimTest, nim_harness_settings: Settings
) -> str:
    """The model id to ask for: the marker's, else (mock) the cassette's, else the configured, else a default.

    The configured model comes from ``--nim-harness-model``, ``NIM_MODEL`` or ini ``nim_harness_model``.
    """
    return choose_model(
        nim_harness_settings,
        nim_harness_test.marker.model,
        cassette_models(nim_harness_test, nim_harness_settings, pytestconfig.stash[CASSETTES_KEY]),
    )


def _test_record_mode(test: NimTest, settings: Settings) -> RecordMode:
    """This test's record mode: the command line's, else the marker's, else the session's."""
    if settings.mode is Mode.RECORD:
        return RecordMode.REWRITE
    if settings.record_mode is not None and settings.sources.get("record_mode") == RECORD_MODE_FLAG:
        return settings.record_mode
    return test.marker.record_mode or test.config.record_mode or settings.effective_record_mode


def _test_repeats(test: NimTest, settings: Settings) -> bool:
    for repeats in (test.marker.allow_playback_repeats, test.config.allow_playback_repeats):
        if repeats is not None:
            return repeats
    return settings.allow_playback_repeats


def _mock_app(test: NimTest, settings: Settings, config: pytest.Config) -> Any:
    """This test's mock. Its streams go out in one write at speed 0: the client under test runs in
    this process, and a write per event would make it and the server take turns on the GIL."""
    from nim_mock.app import create_app
    from nim_mock.cassette import CassetteError

    synthesize = test.marker.on_miss == "synthesize"
    faults = marker_rules(test.marker.faults, config.rootpath)
    identity = test.marker.identity or settings.identity
    if synthesize and not test.path.is_file():  # every request is made up: no recording needed
        return create_app(
            [],
            speed=settings.speed,
            on_miss="synthesize",
            faults=faults,
            identity=identity,
            stream_in_one_write=True,
        )
    if not test.path.is_file():
        command = record_command(
            test.nodeid, settings, rootdir=config.rootpath, invocation_dir=config.invocation_params.dir
        )
        message = missing_cassette_message(test.path, command)
        if settings.skip_missing:
            pytest.skip(message.replace("\n", " "))
        pytest.fail(message, pytrace=False)
    try:
        cassette = config.stash[CASSETTES_KEY].load(test.path, root=test.folder)
    except CassetteError as error:
        pytest.fail(f"nim-harness: cannot replay {test.path}: {error}", pytrace=False)
    return create_app(
        [cassette],
        speed=settings.speed,
        ignore=test.ignore,
        on_miss="synthesize" if synthesize else "error",
        faults=faults,
        repeats=_test_repeats(test, settings),
        match_on=test.config.match_on,
        identity=identity,
        stream_in_one_write=True,
    )


def _kept_interactions(test: NimTest, config: pytest.Config) -> tuple[Interaction, ...]:
    """The interactions the test's cassette already holds (none when it is missing or unreadable)."""
    from nim_mock.cassette import CassetteError

    if not test.path.is_file():
        return ()
    try:
        return config.stash[CASSETTES_KEY].load(test.path, root=test.folder).interactions
    except CassetteError:
        return ()


def _save_recording(
    test: NimTest,
    settings: Settings,
    recording: Recording,
    node: pytest.Item,
    kept: tuple[Interaction, ...] = (),
) -> None:
    from nim_mock.cassette import Cassette, CassetteError
    from nim_mock.plugin.hooks import apply_recording_hooks
    from nim_mock.record.redact import recorded_credentials, redact_recording

    if not recording.wait_idle(_RECORD_WAIT_S):
        pytest.fail(
            f"nim-harness: an exchange was still running {_RECORD_WAIT_S:g}s after the test; not saved"
        )
    if recording.failures:
        pytest.fail(f"nim-harness did not write {test.path}: " + "; ".join(recording.failures), pytrace=False)
    fresh = tuple(recording.interactions)
    # Credentials are found in the exchanges as sent, so a hook that drops a header still has
    # every echo of its value scrubbed.
    sent_credentials = tuple(recorded_credentials(fresh))
    if test.config.changes_recordings:
        fresh = apply_recording_hooks(fresh, test.config)
    if not fresh:
        return  # nothing reached the endpoint (or the hooks kept nothing): no empty file
    cassette = Cassette(
        name=test.name,
        interactions=(*kept, *fresh),
        description=f"Recorded by nim-harness from {settings.endpoint} for {test.nodeid}.",
        ignore=test.ignore,
    )
    try:
        redact_recording(cassette, (*settings.redact, *sent_credentials)).save(test.path)
    except CassetteError as error:
        pytest.fail(f"nim-harness did not write {test.path}: {error}", pytrace=False)
    node.stash[RECORDED_PATH_KEY] = test.path


def _test_passed(node: pytest.Item) -> bool:
    reports = node.stash.get(REPORTS_KEY, {})
    return all(phase in reports and reports[phase].passed for phase in ("setup", "call"))


def _refuse_recording_bundled(test: NimTest) -> None:
    if test.marker.bundled:
        pytest.fail(
            f"nim-harness: bundled:{test.name} is a cassette shipped with nim-harness and is "
            "replayed only; to record this test, name a cassette of your own "
            f"(@pytest.mark.nim(cassette={test.name!r}))",
            pytrace=False,
        )


def _endpoint_for_recording(settings: Settings, mode: RecordMode) -> str:
    """The endpoint a mock-mode test records from; without one, a skip or failure naming the variable."""
    reason = skip_reason(replace(settings, mode=Mode.RECORD))
    if reason is not None:
        reason = reason.replace("--nim-mode=record", f"record mode {mode.value}", 1)
        if settings.skip_without_endpoint:
            pytest.skip(reason)
        pytest.fail(f"nim-harness: {reason}", pytrace=False)
    assert settings.endpoint is not None
    return settings.endpoint


def _check_unplayed(node: pytest.Item, test: NimTest, settings: Settings, app: Any) -> None:
    """After a passing replay: report (or fail on) the cassette's interactions nothing asked for."""
    from nim_mock.plugin.playback import unplayed_lines

    lines = unplayed_lines(app.state.matcher)
    if not lines:
        return
    if settings.fail_unplayed:
        pytest.fail(
            f"nim-harness: {len(lines)} interaction(s) of {test.path} were never played:\n    "
            + "\n    ".join(lines)
            + "\nRecord the test again, or report instead of failing with --nim-harness-unplayed=report.",
            pytrace=False,
        )
    node.stash[UNPLAYED_KEY] = (test.name, lines)


@pytest.fixture
def nim_harness_base_url(
    request: pytest.FixtureRequest, nim_harness_test: NimTest, nim_harness_settings: Settings
) -> Iterator[str]:
    """The API root this test talks to, ``.../v1``: the mock's, the recording proxy's, or the endpoint.

    In mock mode the test's record mode (``record_modes``) decides whether its mock replays the
    cassette, records from the endpoint, or both.
    """
    settings = nim_harness_settings
    test = nim_harness_test
    reason = skip_reason(settings)
    if reason is not None:
        pytest.skip(reason)
    if test.marker.faults is not None and settings.mode is not Mode.MOCK:
        pytest.skip(FAULTS_ONLY_IN_MOCK)
    if settings.mode is Mode.LIVE:
        assert settings.endpoint is not None  # skip_reason guarantees it
        yield settings.endpoint
        return
    blocked = loopback_blocked_reason(request)
    if blocked is not None:
        pytest.fail(f"nim-harness: {blocked}", pytrace=False)
    from nim_mock.record.proxy import Recording, create_recording_app

    config = request.config
    server = config.stash[SERVER_KEY]
    recording = Recording()
    mode = _test_record_mode(test, settings)
    steps = plan(mode, test.path.is_file())
    replaying: Any = None
    kept: tuple[Interaction, ...] = ()
    if steps.replay:
        replaying = _mock_app(test, settings, config)
        request.node.stash[MOCK_PLAN_KEY] = replaying.state.faults
    api_path = _API_PATH
    app = replaying
    if steps.record:
        _refuse_recording_bundled(test)
        origin, api_path = endpoint_parts(_endpoint_for_recording(settings, mode))
        recorder = create_recording_app(origin, recording)
        app = ReplayOrRecord(replaying, recorder) if replaying is not None else recorder
        request.node.stash[RECORDS_KEY] = True
        if steps.keep_recorded:
            kept = _kept_interactions(test, config)
    prefix = server.mounts.mount(app)
    request.node.stash[PREFIX_KEY] = prefix
    try:
        yield server.url() + prefix + api_path
    finally:
        server.mounts.unmount(prefix)
    if not _test_passed(request.node):
        return
    if steps.record:
        _save_recording(test, settings, recording, request.node, kept)
    if replaying is not None:
        _check_unplayed(request.node, test, settings, replaying)


def _transports(
    settings: Settings, copy: Recording, server: SessionServer
) -> tuple[httpx.BaseTransport, httpx.AsyncBaseTransport] | None:
    """What the fixtures' clients send through: the guard (mock), a copying tee (live), or plain httpx.

    In mock mode sync requests travel on the session's shared pool (``SessionServer.pool``).
    """
    if settings.mode is Mode.MOCK:
        from nim_mock.plugin.guard import GuardedAsyncTransport, GuardedTransport

        return GuardedTransport(server.pool(), owns_inner=False), GuardedAsyncTransport()
    if settings.mode is Mode.LIVE:
        from nim_mock.plugin.tee import TeeAsyncTransport, TeeTransport

        return TeeTransport(copy), TeeAsyncTransport(copy)
    return None  # record: the recording proxy already sees everything


@pytest.fixture
def nim_harness_live_copy(
    request: pytest.FixtureRequest, nim_harness_test: NimTest, nim_harness_settings: Settings
) -> Iterator[Recording]:
    """Live mode: what this test's fixture-built clients exchanged, compared with its cassette at the end."""
    from nim_mock.record.proxy import Recording

    copy = Recording()
    yield copy
    if nim_harness_settings.mode is not Mode.LIVE or not nim_harness_test.path.is_file():
        return
    from nim_mock.cassette import CassetteError
    from nim_mock.plugin.drift import describe_drift

    copy.wait_idle(_DRIFT_WAIT_S)
    try:
        cassette = request.config.stash[CASSETTES_KEY].load(
            nim_harness_test.path, root=nim_harness_test.folder
        )
    except CassetteError:
        return  # nothing trustworthy to compare with; mock mode reports the broken file
    lines = describe_drift(cassette.interactions, copy.interactions)
    if lines:
        request.node.stash[DRIFT_KEY] = (nim_harness_test.name, lines)


@pytest.fixture
def nim_harness_http_client(
    request: pytest.FixtureRequest,
    nim_harness_base_url: str,
    nim_harness_settings: Settings,
    nim_harness_live_copy: Recording,
) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` on ``nim_harness_base_url``; in mock mode it refuses every host but loopback."""
    import httpx

    transports = _transports(nim_harness_settings, nim_harness_live_copy, request.config.stash[SERVER_KEY])
    with httpx.Client(
        base_url=nim_harness_base_url, transport=transports[0] if transports else None
    ) as client:
        yield client


@pytest.fixture
def nim_harness_chat(
    request: pytest.FixtureRequest,
    nim_harness_base_url: str,
    nim_harness_model: str,
    nim_harness_settings: Settings,
    nim_harness_live_copy: Recording,
) -> Iterator[Callable[..., ChatNVIDIA]]:
    """A factory: ``nim_harness_chat(**overrides)`` returns a ``ChatNVIDIA`` wired to this test's endpoint.

    In mock mode its HTTP clients carry the network guard, in live mode a tee that lets the plugin
    compare the answers with the cassette. Keyword arguments override any field
    (``nim_harness_chat(temperature=0, max_tokens=32)``); clients the factory built are closed afterwards.
    """
    from nim_harness import ChatNVIDIA  # lazily: the plugin must load even where the client cannot

    made: list[httpx.Client | httpx.AsyncClient] = []

    def build(**overrides: Any) -> ChatNVIDIA:
        return ChatNVIDIA(
            **client_options(
                request,
                nim_harness_base_url,
                nim_harness_model,
                nim_harness_settings,
                nim_harness_live_copy,
                overrides,
                made,
            )
        )

    yield build
    close_made(made)


def client_options(
    request: pytest.FixtureRequest,
    base_url: str,
    model: str,
    settings: Settings,
    copy: Recording,
    overrides: Mapping[str, Any],
    made: list[httpx.Client | httpx.AsyncClient],
) -> dict[str, Any]:
    """The constructor arguments of a client a fixture builds (ChatNVIDIA, NVIDIAEmbeddings, NVIDIARerank).

    In mock mode its HTTP clients carry the network guard and no API key, in live mode a tee that
    lets the plugin compare the answers with the cassette; ``overrides`` win. The httpx clients
    made are appended to ``made``, for :func:`close_made` at teardown.
    """
    import httpx

    options: dict[str, Any] = {"model": model, "base_url": base_url}
    if settings.mode is Mode.MOCK and not request.node.stash.get(RECORDS_KEY, False):
        options["api_key"] = None  # a real NVIDIA_API_KEY has no business travelling to the mock
        # 202 faults are polled at the mock's NVCF status route, not at the hosted gateway.
        options["polling_base"] = base_url.removesuffix(_API_PATH) + NVCF_STATUS_PATH
    elif settings.api_key:
        options["api_key"] = settings.api_key
    transports = _transports(settings, copy, request.config.stash[SERVER_KEY])
    if transports is not None:
        # An injected client keeps its own timeout: give it the one the client would have used.
        timeout = httpx.Timeout(overrides.get("timeout", _CLIENT_TIMEOUT_S))
        # Mock traffic goes straight to loopback: a proxy from the environment must not carry it.
        direct = settings.mode is not Mode.MOCK
        sync_client = httpx.Client(transport=transports[0], timeout=timeout, trust_env=direct)
        async_client = httpx.AsyncClient(transport=transports[1], timeout=timeout, trust_env=direct)
        made.extend((sync_client, async_client))
        options["http_client"] = sync_client
        options["http_async_client"] = async_client
    options.update(overrides)
    return options


def close_made(made: list[httpx.Client | httpx.AsyncClient]) -> None:
    """Close the sync clients :func:`client_options` made."""
    import httpx

    for client in made:
        if isinstance(client, httpx.Client):
            client.close()
        # Async clients are left to the garbage collector: their event loop may already be closed,
        # and an unused or idle pool holds no sockets worth an await here.
