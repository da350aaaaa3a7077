"""The plugin sits beside a project's own names: its conftest's options and fixtures, its `client` package.

langchain-nvidia-ai-endpoints' integration suite registers ``--nim-endpoint`` (and a ``mode``
fixture, and one ``--<kind>-model-id`` option per model kind); a plugin that registered the same
option would stop that suite from collecting at all (argparse: option dest already used). So every
name this plugin puts into pytest's shared namespaces carries its prefix, and these tests hold it to
that: a project with that conftest and its own ``client`` package runs with nim-harness installed,
uses both sets of names in one run, and the plugin's registrations, read back from pytest itself,
are all prefixed.

Each run is a fresh process, so the installed entry point loads the plugin exactly as it does for
a user (no ``-p``, no conftest of ours).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import pytest
from plugin_runs import LEAN

from nim_mock.plugin.options import OPTIONS, REDACT_FLAG, REDACT_INI

FLAG_PREFIX = "--nim-harness-"
NAME_PREFIX = "nim_harness_"
KEPT_FLAGS = frozenset({"--nim-mode", "--nim-record-mode"})
"""The design's names for the switches every user types (the second is pytest-recording's
``--record-mode`` under the plugin's name); no known plugin or conftest uses them."""
KEPT_MARKERS = frozenset({"nim"})
KEPT_FIXTURES = frozenset({"nim_config"})
"""Named after pytest-recording's ``vcr_config``, the habit it serves: a project overrides it."""

PROJECT_CLIENT = '''
"""This project's own client package, named like the one nim-harness must not install."""


class ChatNVIDIA:
    def __init__(self, **options):
        self.options = options
        self.sent = []

    def invoke(self, text):
        self.sent.append(text)
        return f"echo: {text}"


class NVIDIAEmbeddings(ChatNVIDIA):
    pass
'''

THEIR_CONFTEST = '''
"""The names langchain-nvidia-ai-endpoints' tests/integration_tests/conftest.py registers."""

import pytest

from client import ChatNVIDIA, NVIDIAEmbeddings

MODEL_OPTIONS = [  # (flag, the test argument it parametrizes, that argument's default)
    ("--chat-model-id", "chat_model", "default-chat"),
    ("--reasoning-model-id", "reasoning_model", "default-reasoning"),
    ("--tool-model-id", "tool_model", "default-tool"),
    ("--structured-model-id", "structured_model", "default-structured"),
    ("--thinking-model-id", "thinking_model", "default-thinking"),
    ("--qa-model-id", "qa_model", "default-qa"),
    ("--completions-model-id", "completions_model", "default-completions"),
    ("--embedding-model-id", "embedding_model", "default-embedding"),
    ("--rerank-model-id", "rerank_model", "default-rerank"),
    ("--rerank-vlm-model-id", "rerank_vlm_model", "default-rerank-vlm"),
    ("--vlm-model-id", "vlm_model", "default-vlm"),
]


def pytest_addoption(parser):
    for flag, argument, _ in MODEL_OPTIONS:
        parser.addoption(flag, action="store", nargs="+", help=f"the {argument} to test")
    parser.addoption("--all-models", action="store_true", help="Run tests across all models")
    parser.addoption("--nim-endpoint", type=str, help="Run tests using NIM mode")


def get_mode(config):
    endpoint = config.getoption("--nim-endpoint")
    return {"base_url": endpoint} if endpoint else {}


def pytest_generate_tests(metafunc):
    for flag, argument, default in MODEL_OPTIONS:
        if argument in metafunc.fixturenames:
            models = metafunc.config.getoption(flag[2:].replace("-", "_")) or [default]
            metafunc.parametrize(argument, models, ids=models)


@pytest.fixture
def mode(request):
    return get_mode(request.config)


@pytest.fixture(params=[ChatNVIDIA, NVIDIAEmbeddings])
def public_class(request):
    return request.param


@pytest.fixture
def contact_service():
    def contact(instance):
        instance.invoke("Hello")

    return contact
'''

THEIR_TESTS = """
from pathlib import Path

import client
from client import ChatNVIDIA

THEIR_ENDPOINT = "http://their-nim:8000/v1"


def test_client_is_this_projects_own_package(pytestconfig):
    assert Path(client.__file__).parent == pytestconfig.rootpath / "client"
    assert ChatNVIDIA.__module__ == "client"
    assert ChatNVIDIA().invoke("hi") == "echo: hi"


def test_chat_model(chat_model, mode):
    assert chat_model in ("m1", "m2")
    assert mode == {"base_url": THEIR_ENDPOINT}


def test_tool_and_embedding_models(tool_model, embedding_model):
    assert (tool_model, embedding_model) == ("t1", "e1")


def test_the_other_kinds_keep_their_defaults(reasoning_model, qa_model, rerank_vlm_model, vlm_model):
    assert (reasoning_model, qa_model, rerank_vlm_model, vlm_model) == (
        "default-reasoning", "default-qa", "default-rerank-vlm", "default-vlm"
    )


def test_contact_service(public_class, contact_service, mode):
    instance = public_class(**mode)
    contact_service(instance)
    assert instance.sent == ["Hello"]
    assert instance.options == {"base_url": THEIR_ENDPOINT}


def test_all_models_flag(pytestconfig):
    assert pytestconfig.getoption("all_models") is True
"""

THEIR_ARGS = (
    "--nim-endpoint=http://their-nim:8000/v1",
    "--chat-model-id",
    "m1",
    "m2",
    "--tool-model-id",
    "t1",
    "--embedding-model-id",
    "e1",
    "--all-models",
)
THEIR_PASSES = 8
"""client 1, chat_model 2 (m1, m2), tool and embedding 1, defaults 1, contact_service 2, all-models 1."""

OUR_TESTS = """
import pytest

from client import ChatNVIDIA as ProjectChatNVIDIA
from nim_harness import ChatNVIDIA as HarnessChatNVIDIA


@pytest.mark.nim(cassette="bundled:chat/plain")
def test_nim_harness_chat_replays_a_bundled_cassette(nim_harness_chat, nim_harness_settings, mode):
    llm = nim_harness_chat(temperature=0.2, top_p=0.7, max_tokens=1024)
    assert isinstance(llm, HarnessChatNVIDIA) and not isinstance(llm, ProjectChatNVIDIA)
    # their --nim-endpoint reaches their fixture and leaves the plugin in mock mode
    assert mode == {"base_url": "http://their-nim:8000/v1"}
    assert (nim_harness_settings.mode, nim_harness_settings.endpoint) == ("mock", None)
    answer = llm.invoke("In one sentence, what is NVIDIA NIM?")
    assert "NIM" in answer.content
    assert answer.response_metadata["finish_reason"] == "stop"


@pytest.mark.nim(cassette="bundled:chat/plain")
def test_their_option_beside_our_fixture(chat_model, nim_harness_mode, nim_harness_base_url):
    assert chat_model in ("m1", "m2")
    assert nim_harness_mode == "mock"
    assert nim_harness_base_url.startswith("http://127.0.0.1:")
"""


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs see no nim-harness or NVIDIA setting the shell running this suite may have exported."""
    for name in list(os.environ):
        if name.startswith(("NIM_", "NVIDIA_")):
            monkeypatch.delenv(name)


@pytest.fixture
def their_project(pytester: pytest.Pytester, clean_environment: None) -> pytest.Pytester:
    """A project shaped like langchain-nvidia-ai-endpoints' integration suite, with its own ``client``."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.mkpydir("client").joinpath("__init__.py").write_text(PROJECT_CLIENT)
    pytester.makeconftest(THEIR_CONFTEST)
    pytester.makepyfile(test_theirs=THEIR_TESTS)
    return pytester


def test_a_project_with_their_conftest_and_its_own_client_package_runs(
    their_project: pytest.Pytester,
) -> None:
    # Every installed plugin loads, as for a user of both (pytest-recording, syrupy, ... included).
    result = their_project.runpytest_subprocess("-p", "no:cacheprovider", *THEIR_ARGS)
    result.assert_outcomes(passed=THEIR_PASSES)
    result.stdout.fnmatch_lines(["nim-harness: mode=mock (default)*", "plugins:*nim-harness*"])


def test_the_project_uses_our_fixtures_beside_their_option(their_project: pytest.Pytester) -> None:
    their_project.makepyfile(test_ours=OUR_TESTS)
    result = their_project.runpytest_subprocess("-p", "no:cacheprovider", *LEAN, *THEIR_ARGS)
    # test_their_option_beside_our_fixture runs once per chat model
    result.assert_outcomes(passed=THEIR_PASSES + 3)


DUMP_CONFTEST = """
import json, os, pytest


@pytest.hookimpl(trylast=True)  # after every plugin's own pytest_configure (markers are added there)
def pytest_configure(config):
    names = {
        "dests": sorted(vars(config.option)),
        "markers": sorted(line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")),
    }
    with open(os.environ["NAMES_DUMP"], "w") as f:
        json.dump(names, f)
"""

_OPTION_LINE = re.compile(r"^  -")
_FLAG = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")
_INI_LINE = re.compile(r"^  ([A-Za-z_]\w*) \([\w-]+\):")
_FIXTURE_LINE = re.compile(r"^([A-Za-z_]\w*)(?: \[\w+ scope\])? -- ")


@dataclass(frozen=True, slots=True)
class Registered:
    """Every name a pytest run knows, as pytest itself reports it (help, fixture list, config)."""

    flags: frozenset[str]
    ini_keys: frozenset[str]
    dests: frozenset[str]
    markers: frozenset[str]
    fixtures: frozenset[str]

    def minus(self, other: Registered) -> Registered:
        return Registered(
            self.flags - other.flags,
            self.ini_keys - other.ini_keys,
            self.dests - other.dests,
            self.markers - other.markers,
            self.fixtures - other.fixtures,
        )


def _help_flags(lines: list[str]) -> frozenset[str]:
    """Flags from the option lines of ``--help`` (continuation lines are indented further)."""
    return frozenset(
        flag for line in lines if _OPTION_LINE.match(line) for flag in _FLAG.findall(line[2:].split("  ")[0])
    )


def _matches(pattern: re.Pattern[str], lines: list[str]) -> frozenset[str]:
    return frozenset(found.group(1) for line in lines if (found := pattern.match(line)))


def _registered(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> Registered:
    dump = pytester.path / "names.json"
    dump.unlink(missing_ok=True)  # a run that wrote nothing must not be read as the previous one
    monkeypatch.setenv("NAMES_DUMP", str(dump))
    help_lines = pytester.runpytest_subprocess("-p", "no:cacheprovider", *LEAN, *args, "--help").outlines
    names = json.loads(dump.read_text())
    # -v: the listing includes fixtures whose names start with an underscore
    fixtures = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *LEAN, *args, "--fixtures", "-v"
    ).outlines
    return Registered(
        flags=_help_flags(help_lines),
        ini_keys=_matches(_INI_LINE, help_lines),
        dests=frozenset(names["dests"]),
        markers=frozenset(names["markers"]),
        fixtures=_matches(_FIXTURE_LINE, fixtures),
    )


@pytest.fixture
def ours(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Registered:
    """What loading the plugin adds: the names of a run with it, less those of a run without it."""
    pytester.makeconftest(DUMP_CONFTEST)
    with_plugin = _registered(pytester, monkeypatch)
    without_plugin = _registered(pytester, monkeypatch, "-p", "no:nim_harness")
    return with_plugin.minus(without_plugin)


def test_every_name_the_plugin_registers_carries_the_prefix(ours: Registered) -> None:
    # The read-back found the plugin's names at all (else the checks below would pass on nothing).
    assert {spec.flag for spec in OPTIONS} | {REDACT_FLAG} <= ours.flags
    assert {spec.ini for spec in OPTIONS} | {REDACT_INI} <= ours.ini_keys
    assert {spec.dest for spec in OPTIONS} <= ours.dests
    assert {"nim_harness_chat", "nim_harness_base_url", "nim_harness_faults"} <= ours.fixtures

    assert sorted(f for f in ours.flags if not f.startswith(FLAG_PREFIX) and f not in KEPT_FLAGS) == []
    assert sorted(k for k in ours.ini_keys if not k.startswith(NAME_PREFIX)) == []
    assert sorted(d for d in ours.dests if not d.startswith(NAME_PREFIX)) == []
    assert sorted(f for f in ours.fixtures if not f.startswith(NAME_PREFIX) and f not in KEPT_FIXTURES) == []
    assert ours.markers == KEPT_MARKERS
