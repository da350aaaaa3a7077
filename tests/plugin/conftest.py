"""Plugin tests drive whole pytest runs through ``pytester`` (in-process where possible)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from plugin_upstream import upstream_app

from nim_mock.cassettes.persist import bundled_cassettes_dir
from nim_mock.serve.runner import RunningServer


def pytest_configure(config: pytest.Config) -> None:
    # In-process pytester runs put sys.modules back as they found it. A nim_harness submodule the
    # package loads lazily (PEP 562), first loaded inside one run, is dropped after it and loaded
    # again by the next, with new exception classes, while the package keeps the names it cached:
    # ``pytest.raises(RateLimitError)`` then misses the RateLimitError raised. Load them all first.
    import nim_harness

    for name in nim_harness.__all__:
        getattr(nim_harness, name)
    # pytest refuses ``pytest_plugins`` outside the rootdir's conftest, and the rootdir's conftest is
    # not this area's file: load pytester when this folder's tests are collected instead.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with an ini file and the bundled ``chat/plain`` cassette under ``cassettes/``."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    target = pytester.path / "cassettes" / "chat" / "plain.json"
    target.parent.mkdir(parents=True)
    shutil.copy(bundled_cassettes_dir() / "chat" / "plain.json", target)
    return pytester


@pytest.fixture(scope="module")
def slow_upstream() -> Iterator[str]:
    """An upstream on a real loopback socket whose stream takes 0.5 s (see ``plugin_upstream``)."""
    server = RunningServer(upstream_app(0.25))
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """The same upstream, streaming without pauses, for tests that do not look at timing."""
    server = RunningServer(upstream_app(0.0))
    yield server.start()
    server.stop()
