"""The contract suite: the same tests replay cassettes (mock), hit a real server (live) or record.

Every assertion is about the contract (shapes, types, finish reasons, tool-call names and parsed
arguments, usage present and adding up, error status, class, ``type`` and ``param``), never about
text a sampled model may vary, so it holds in all three modes. Each test names its cassette with
``@pytest.mark.nim(cassette=...)``; in mock mode the request the client builds must equal the
recorded one, which makes every test here a check of the client's request building as well.

Mock mode replays two kinds of cassettes: the authored ones (NIM 1.x / vLLM 0.9.2 byte layouts,
the hosted catalogue, ``transformers serve`` captures), and ``vllm-contract/``, recorded from vLLM by this
suite (``.ci/live.sh vllm --update-cassettes``) where only a real engine's own checks can answer.
CI runs the suite live against vLLM and ``transformers serve`` (.ci/live.sh). Against a real server
a test skips only when that server lacks what it asks for, and the reason quotes what the server
did instead (``contract_checks.require``); the same outcome in mock mode is a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nim_mock.plugin.options import Mode, Settings


@pytest.fixture
def skipped_where_nothing_was_recorded(nim_harness_settings: Settings, nim_harness_cassette: Path) -> None:
    """For a test the mock answers without a recording: skip it where the run replays a folder
    recorded from a real server (``--nim-harness-missing=skip``) and that server's run recorded
    nothing for it, as the plugin skips every other test there. The server skipped it (it lacks
    what the test asks for), so mock mode must not pass it on the mock's own answer."""
    settings = nim_harness_settings
    if settings.mode is Mode.MOCK and settings.skip_missing and not nim_harness_cassette.is_file():
        pytest.skip(f"nothing was recorded for this test in {settings.cassettes}: the server skipped it")
