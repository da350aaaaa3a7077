"""pytest-recording's ``--block-network`` and the mock: say how to let 127.0.0.1 through.

pytest-recording (installed with langchain-tests, so often present) blocks every socket connection
under ``--block-network`` or the ``block_network`` marker, loopback included unless allowed. The
mock mode of this plugin serves each test on ``127.0.0.1``, so every mocked test would fail with a
generic "network is disabled" error from deep inside httpx. Instead, a mocked test whose loopback
connections would be blocked fails before it runs, saying what to add. The decision reads
pytest-recording's own settings (its ``allowed_hosts`` and ``allow_private_ips`` fixtures), so it
agrees with what pytest-recording will do.
"""

from __future__ import annotations

import re

import pytest

__all__ = ["LOOPBACK_ADVICE", "loopback_blocked_reason"]

LOOPBACK_ADVICE = (
    "pytest-recording's --block-network blocks the nim-harness mock on 127.0.0.1: allow it with "
    "--allowed-hosts=127.0.0.1,localhost (or --allow-private-ips, or allowed_hosts=['127.0.0.1'] in "
    "the block_network marker or vcr_config)"
)
_LOOPBACK = "127.0.0.1"


def loopback_blocked_reason(request: pytest.FixtureRequest) -> str | None:
    """``LOOPBACK_ADVICE`` when pytest-recording blocks this test's connections to 127.0.0.1, else None."""
    if not request.config.pluginmanager.has_plugin("recording"):
        return None
    marked = request.node.get_closest_marker("block_network") is not None
    if not (marked or request.config.getoption("--block-network", default=False)):
        return None
    if any(True for _ in request.node.iter_markers(name="vcr")):
        return None  # pytest-recording decides by record mode there; leave it to its own error
    if request.getfixturevalue("allow_private_ips"):
        return None
    allowed = request.getfixturevalue("allowed_hosts") or []
    if any(re.match(pattern, _LOOPBACK) for pattern in allowed):
        return None
    return LOOPBACK_ADVICE
