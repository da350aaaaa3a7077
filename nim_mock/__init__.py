"""nim_mock: a mock NVIDIA NIM that replays recorded cassettes byte for byte and on schedule.

Typical use::

    from nim_mock import bundled_cassettes_dir, create_app, load_cassettes, serve_in_thread

    app = create_app(load_cassettes([bundled_cassettes_dir()]), speed=0)
    with serve_in_thread(app) as base_url:  # http://127.0.0.1:<free port>
        ...  # point any OpenAI-compatible client at f"{base_url}/v1"

``Mode`` names the pytest plugin's modes (``mock``, ``record``, ``live``), for code that compares
with the ``nim_mode`` fixture or builds ``--nim-mode`` arguments without spelling the strings.

Everything public is listed in ``__all__``; every other module is private (``_name``).
"""

from nim_mock._app import create_app
from nim_mock._faults_kinds import FaultRules, FaultRulesError
from nim_mock._faults_rules import load_fault_rules
from nim_mock._listing import format_listing
from nim_mock._match import Hit, Matcher, Miss
from nim_mock._persist import bundled_cassettes_dir, load_cassette, load_cassettes, save_cassette
from nim_mock._plugin_options import Mode
from nim_mock._server import RunningServer, serve_in_thread
from nim_mock._synth import SynthConfig
from nim_mock._synth_rules import ReplyRules, ReplyRulesError, load_reply_rules
from nim_mock.cassette import (
    Cassette,
    CassetteError,
    Event,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)

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

# Show the public path in reprs and tracebacks (``nim_mock.Cassette``), as httpx does. The cassette
# dataclasses keep their real module: pickling (pytest-xdist) looks classes up by ``__module__``,
# and ``nim_mock.cassette`` is itself public.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "nim_mock").startswith("nim_mock._"):
        _obj.__module__ = "nim_mock"
del _name, _obj
