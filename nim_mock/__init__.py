"""nim_mock: a mock NVIDIA NIM that replays recorded cassettes byte for byte and on schedule.

Typical use::

    from nim_mock import bundled_cassettes_dir, create_app, load_cassettes, serve_in_thread

    app = create_app(load_cassettes([bundled_cassettes_dir()]), speed=0)
    with serve_in_thread(app) as base_url:  # http://127.0.0.1:<free port>
        ...  # point any OpenAI-compatible client at f"{base_url}/v1"

``Mode`` names the pytest plugin's modes (``mock``, ``record``, ``live``), for code that compares
with the ``nim_harness_mode`` fixture or builds ``--nim-mode`` arguments without spelling the strings.

Everything public is listed in ``__all__`` and loads on first use (PEP 562), so ``nim-mock
--help`` and the pytest plugin's start-up pay only for what they touch. The layout of the
subpackages (``serve``, ``faults``, ``synth``, ``record``, ``cassettes``, ``plugin``, ``wire``) is
private; ``nim_mock.cassette``, ``nim_mock.cli`` and ``nim_mock.pytest_plugin`` are public too.
"""

# Imported under private names: every public name of this module is in ``__all__``.
import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from nim_mock.app import create_app
    from nim_mock.cassette import (
        Cassette,
        CassetteError,
        Event,
        Interaction,
        RecordedRequest,
        RecordedResponse,
    )
    from nim_mock.cassettes.listing import format_listing
    from nim_mock.cassettes.persist import bundled_cassettes_dir, load_cassette, load_cassettes, save_cassette
    from nim_mock.faults.kinds import FaultRules, FaultRulesError
    from nim_mock.faults.rules import load_fault_rules
    from nim_mock.plugin.options import Mode
    from nim_mock.serve.match import Hit, Matcher, Miss
    from nim_mock.serve.runner import RunningServer, serve_in_thread
    from nim_mock.synth.config import SynthConfig
    from nim_mock.synth.rules import ReplyRules, ReplyRulesError, load_reply_rules

__all__ = [
    "Cassette",
    "CassetteError",
    "Event",
    "FaultRules",
    "FaultRulesError",
    "Hit",
    "Interaction",
    "Matcher",
    "Miss",
    "Mode",
    "RecordedRequest",
    "RecordedResponse",
    "ReplyRules",
    "ReplyRulesError",
    "RunningServer",
    "SynthConfig",
    "bundled_cassettes_dir",
    "create_app",
    "format_listing",
    "load_cassette",
    "load_cassettes",
    "load_fault_rules",
    "load_reply_rules",
    "save_cassette",
    "serve_in_thread",
]

_CASSETTE_MODEL = "nim_mock.cassette"
_HOME = {
    "create_app": "nim_mock.app",
    **dict.fromkeys(
        ("Cassette", "CassetteError", "Event", "Interaction", "RecordedRequest", "RecordedResponse"),
        _CASSETTE_MODEL,
    ),
    "format_listing": "nim_mock.cassettes.listing",
    **dict.fromkeys(
        ("bundled_cassettes_dir", "load_cassette", "load_cassettes", "save_cassette"),
        "nim_mock.cassettes.persist",
    ),
    "FaultRules": "nim_mock.faults.kinds",
    "FaultRulesError": "nim_mock.faults.kinds",
    "load_fault_rules": "nim_mock.faults.rules",
    "Mode": "nim_mock.plugin.options",
    **dict.fromkeys(("Hit", "Matcher", "Miss"), "nim_mock.serve.match"),
    **dict.fromkeys(("RunningServer", "serve_in_thread"), "nim_mock.serve.runner"),
    **dict.fromkeys(("ReplyRules", "ReplyRulesError", "load_reply_rules"), "nim_mock.synth.rules"),
    "SynthConfig": "nim_mock.synth.config",
}


def __getattr__(name: str) -> _typing.Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    # Show the public path in reprs and tracebacks (``nim_mock.FaultRules``), as httpx does. The
    # cassette dataclasses keep their real module: pickling (pytest-xdist) looks classes up by
    # ``__module__``, and ``nim_mock.cassette`` is itself public.
    if home != _CASSETTE_MODEL and getattr(value, "__module__", "") == home:
        value.__module__ = __name__
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
