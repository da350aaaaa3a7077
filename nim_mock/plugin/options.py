"""Settings of the pytest plugin: where each value comes from, and one resolved, frozen result.

Every option can be given four ways. The first layer that sets a value wins:

    1. the command line  (``--nim-mode=live``)
    2. the environment   (``NIM_MODE=live``; the endpoint also falls back to ``NVIDIA_BASE_URL``)
    3. the ini file      (``nim_harness_mode = live`` in pytest.ini, or ``[tool.pytest.ini_options]``)
    4. the default       (``mock``)

Resolution is a pure function of those layers (``resolve_settings``), so every precedence rule is
tested without touching ``os.environ``; the plugin reads the environment once, at configure time,
and hands it in. Redaction values are the exception: they are additive (more redaction never
hurts), so every layer's values are kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from nim_mock._environment import API_KEY_ENV, REDACT_ENV

__all__ = [
    "API_KEY_ENV",
    "OPTIONS",
    "RECORD_MODE_FLAG",
    "Mode",
    "OptionSpec",
    "RecordMode",
    "Settings",
    "SettingsError",
    "resolve_settings",
]

HOSTED_SUFFIX: Final = "api.nvidia.com"
"""Hosts under this domain are NVIDIA's hosted catalogue, which refuses requests without a key."""


class Mode(StrEnum):
    """What the suite talks to: recorded cassettes, a real endpoint, or a real endpoint through a recorder."""

    MOCK = "mock"
    RECORD = "record"
    LIVE = "live"


class RecordMode(StrEnum):
    """pytest-recording's record modes, with its meanings (see ``record_modes``)."""

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"
    REWRITE = "rewrite"


class SettingsError(ValueError):
    """A setting has a value the plugin cannot use; the message says which layer gave it and what to do."""


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One setting: its command-line flag, its ini key and the environment variables read, in order."""

    key: str
    flag: str
    ini: str
    env: tuple[str, ...]
    help: str

    @property
    def dest(self) -> str:
        """The argparse destination: the ini key, so the one unique snake_case name serves both.

        argparse refuses a second option with the same destination, which is how a plugin's options
        collide with a project's own conftest; these names carry the plugin's prefix for that reason.
        """
        return self.ini


RECORD_MODE_FLAG: Final = "--nim-record-mode"
"""Given on the command line, the record mode beats every test's marker (one flag re-records a suite)."""

OPTIONS: Final[tuple[OptionSpec, ...]] = (
    OptionSpec(
        "mode",
        "--nim-mode",
        "nim_harness_mode",
        ("NIM_MODE",),
        "mock (replay cassettes, the default), record (talk to the endpoint through a recorder and "
        "write cassettes) or live (talk to the endpoint).",
    ),
    OptionSpec(
        "record_mode",
        RECORD_MODE_FLAG,
        "nim_harness_record_mode",
        ("NIM_RECORD_MODE",),
        "pytest-recording's record modes, in mock mode: none (replay only, the default), once (record "
        "a test whose cassette is missing), new_episodes (replay what is recorded, record what is not), "
        "all (record every request, keeping the cassette's old interactions) or rewrite (record every "
        "request into a fresh cassette); --nim-mode=record is rewrite. Per test: "
        "@pytest.mark.nim(record_mode=...).",
    ),
    OptionSpec(
        "endpoint",
        "--nim-harness-endpoint",
        "nim_harness_endpoint",
        ("NIM_ENDPOINT", "NVIDIA_BASE_URL"),
        "base URL of the real server for live and record modes, e.g. http://localhost:8000/v1.",
    ),
    OptionSpec(
        "cassettes",
        "--nim-harness-cassettes",
        "nim_harness_cassettes",
        ("NIM_CASSETTES",),
        "folder of cassettes (default: cassettes/ beside the ini file, or in the rootdir).",
    ),
    OptionSpec(
        "speed",
        "--nim-harness-speed",
        "nim_harness_speed",
        ("NIM_SPEED",),
        "replay pace in mock mode: 0 sends every event at once (default), 1 keeps the recorded timing.",
    ),
    OptionSpec(
        "missing",
        "--nim-harness-missing",
        "nim_harness_missing",
        ("NIM_MISSING",),
        "what a mock-mode test without a cassette does: fail (default) or skip (for a run on a folder "
        "freshly recorded from a server that could not answer every test).",
    ),
    OptionSpec(
        "no_endpoint",
        "--nim-harness-no-endpoint",
        "nim_harness_no_endpoint",
        ("NIM_NO_ENDPOINT",),
        "what --nim-mode=live or record given on the command line does without an endpoint (or "
        "without the key a hosted one needs): fail (default: the session stops, naming the variable "
        "to set) or skip (each test that needs it is skipped, for suites that mix modes). A mode set "
        "in the environment or the ini file always skips.",
    ),
    OptionSpec(
        "allow_playback_repeats",
        "--nim-harness-allow-playback-repeats",
        "nim_harness_allow_playback_repeats",
        ("NIM_ALLOW_PLAYBACK_REPEATS",),
        "true (default): once each of a cassette's matching interactions was played, identical requests "
        "replay them again; false (vcrpy's default): each recorded interaction answers once, and one "
        "request more than was recorded is a miss. Per test: @pytest.mark.nim(allow_playback_repeats=False).",
    ),
    OptionSpec(
        "unplayed",
        "--nim-harness-unplayed",
        "nim_harness_unplayed",
        ("NIM_UNPLAYED",),
        "what a mock-mode test whose cassette holds interactions it never requested does: report "
        "(default: listed at the end of the session) or fail (the test fails at teardown).",
    ),
    OptionSpec(
        "identity",
        "--nim-harness-identity",
        "nim_harness_identity",
        ("NIM_IDENTITY",),
        "the server the mock answers as where it builds an answer itself: nim1 (NIM 1.x, the default), "
        "nim2 (NIM 2.x, vLLM 0.32) or hosted (NVIDIA's hosted gateway); a test's nim(identity=...) wins.",
    ),
    OptionSpec(
        "model",
        "--nim-harness-model",
        "nim_harness_model",
        ("NIM_MODEL",),
        "model id the nim_harness_chat fixture asks for (default: the cassette's model, else "
        "meta/llama-3.1-8b-instruct; given on the command line it beats the cassette's in mock mode too).",
    ),
    OptionSpec(
        "embed_model",
        "--nim-harness-embed-model",
        "nim_harness_embed_model",
        ("NIM_EMBED_MODEL",),
        "embedding model the nim_harness_embeddings fixture asks for in live and record modes (the "
        "endpoint must serve it); without one those tests are skipped.",
    ),
    OptionSpec(
        "rerank_model",
        "--nim-harness-rerank-model",
        "nim_harness_rerank_model",
        ("NIM_RERANK_MODEL",),
        "reranking model the nim_harness_rerank fixture asks for in live and record modes (the "
        "endpoint must serve it); without one those tests are skipped.",
    ),
)

REDACT_FLAG: Final = "--nim-harness-redact"
REDACT_INI: Final = "nim_harness_redact"


@dataclass(frozen=True, slots=True)
class Settings:
    """The plugin's resolved settings, plus where each one came from (shown in the report header)."""

    mode: Mode = Mode.MOCK
    record_mode: RecordMode | None = None
    """As configured; ``None``: not set (``effective_record_mode`` says what applies)."""
    allow_playback_repeats: bool = True
    fail_unplayed: bool = False
    endpoint: str | None = None
    cassettes: Path = Path("cassettes")
    speed: float = 0.0
    identity: str = "nim1"
    model: str | None = None
    embed_model: str | None = None
    rerank_model: str | None = None
    skip_missing: bool = False
    skip_without_endpoint: bool = False
    """``--nim-harness-no-endpoint=skip``: a command-line live/record run without an endpoint skips."""
    api_key: str | None = None
    redact: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective_record_mode(self) -> RecordMode:
        """What the session records: ``rewrite`` in record mode, else the configured mode (``none``)."""
        if self.mode is Mode.RECORD:
            return RecordMode.REWRITE
        return self.record_mode or RecordMode.NONE

    @property
    def endpoint_is_hosted(self) -> bool:
        """Whether the endpoint is NVIDIA's hosted catalogue, which needs ``NVIDIA_API_KEY``."""
        if self.endpoint is None:
            return False
        host = (urlsplit(self.endpoint).hostname or "").lower()
        return host == HOSTED_SUFFIX or host.endswith("." + HOSTED_SUFFIX)

    def describe(self) -> str:
        """One line for pytest's report header, naming the layer that set each value."""
        parts = [f"mode={self.mode.value} ({self.sources.get('mode', 'default')})"]
        if self.mode is Mode.MOCK:
            parts.append(f"cassettes={self.cassettes} ({self.sources.get('cassettes', 'default')})")
            parts.append(f"speed={self.speed:g}")
            if self.identity != "nim1":
                parts.append(f"identity={self.identity} ({self.sources.get('identity', 'default')})")
            if self.record_mode not in (None, RecordMode.NONE):
                parts.append(
                    f"record_mode={self.effective_record_mode.value} ({self.sources['record_mode']})"
                )
                parts.append(f"endpoint={self.endpoint or '<not set>'}")
        else:
            parts.append(
                f"endpoint={self.endpoint or '<not set>'} ({self.sources.get('endpoint', 'default')})"
            )
            if self.mode is Mode.RECORD:
                parts.append(f"cassettes={self.cassettes}")
        for key in ("model", "embed_model", "rerank_model"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key}={value} ({self.sources.get(key, 'default')})")
        return "nim-harness: " + ", ".join(parts)


def _pick(
    spec: OptionSpec, cli: Mapping[str, str | None], env: Mapping[str, str], ini: Mapping[str, str]
) -> tuple[str, str] | None:
    """The first non-empty value for ``spec`` across the layers, with a label naming its layer."""
    value = cli.get(spec.key)
    if value:
        return value, spec.flag
    for name in spec.env:
        value = env.get(name)
        if value:
            return value, f"${name}"
    value = ini.get(spec.key)
    if value:
        return value, f"ini {spec.ini}"
    return None


def _parse_mode(value: str, origin: str) -> Mode:
    try:
        return Mode(value.strip().lower())
    except ValueError:
        valid = ", ".join(m.value for m in Mode)
        raise SettingsError(f"{origin}: unknown mode {value!r}; use one of: {valid}") from None


def _parse_fail_or_skip(value: str, origin: str) -> bool:
    """``True`` for skip, ``False`` for fail."""
    choice = value.strip().lower()
    if choice not in ("fail", "skip"):
        raise SettingsError(f"{origin}: {value!r} is not a choice; use fail or skip")
    return choice == "skip"


def _parse_record_mode(value: str, origin: str) -> RecordMode:
    try:
        return RecordMode(value.strip().lower().replace("-", "_"))
    except ValueError:
        valid = ", ".join(m.value for m in RecordMode)
        raise SettingsError(f"{origin}: unknown record mode {value!r}; use one of: {valid}") from None


def _parse_bool(value: str, origin: str) -> bool:
    choice = value.strip().lower()
    if choice in ("true", "1", "yes", "on"):
        return True
    if choice in ("false", "0", "no", "off"):
        return False
    raise SettingsError(f"{origin}: {value!r} is not a choice; use true or false")


def _parse_report_or_fail(value: str, origin: str) -> bool:
    """``True`` for fail, ``False`` for report."""
    choice = value.strip().lower()
    if choice not in ("report", "fail"):
        raise SettingsError(f"{origin}: {value!r} is not a choice; use report or fail")
    return choice == "fail"


def _parse_speed(value: str, origin: str) -> float:
    try:
        speed = float(value)
    except ValueError:
        raise SettingsError(
            f"{origin}: speed {value!r} is not a number; use 0 (no waiting) or a factor such as 1 or 0.5"
        ) from None
    if not math.isfinite(speed) or speed < 0:
        raise SettingsError(f"{origin}: speed must be a finite number >= 0, got {value!r}")
    return speed


def _parse_identity(value: str, origin: str) -> str:
    from nim_mock.wire.identity import IDENTITIES

    identity = value.strip().lower()
    if identity not in IDENTITIES:
        raise SettingsError(f"{origin}: identity {value!r} is not one of {', '.join(IDENTITIES)}")
    return identity


def _parse_endpoint(value: str, origin: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"{origin}: endpoint {value!r} is not an http(s) URL; give a base URL such as "
            "http://localhost:8000/v1 or https://integrate.api.nvidia.com/v1"
        )
    return value.strip().rstrip("/")


def resolve_settings(
    cli: Mapping[str, str | None],
    env: Mapping[str, str],
    ini: Mapping[str, str],
    *,
    invocation_dir: Path,
    ini_dir: Path,
    cli_redact: Sequence[str] = (),
    ini_redact: Sequence[str] = (),
) -> Settings:
    """Merge the layers (CLI > env > ini > default) into ``Settings``; raise ``SettingsError`` on bad values.

    ``cli`` and ``ini`` are keyed by ``OptionSpec.key``; ``env`` is the process environment.
    A relative cassette folder is taken relative to where it was written down: the directory pytest
    was started in for the command line and the environment, the ini file's directory for the ini
    file (and the default, ``cassettes/`` beside it).
    """
    specs = {spec.key: spec for spec in OPTIONS}
    sources: dict[str, str] = {}
    picked: dict[str, tuple[str, str]] = {}
    for key, spec in specs.items():
        found = _pick(spec, cli, env, ini)
        if found is not None:
            picked[key] = found
            sources[key] = found[1]

    mode = _parse_mode(*picked["mode"]) if "mode" in picked else Mode.MOCK
    record_mode = _parse_record_mode(*picked["record_mode"]) if "record_mode" in picked else None
    if mode is Mode.RECORD and record_mode not in (None, RecordMode.REWRITE):
        raise SettingsError(
            f"{picked['record_mode'][1]}: --nim-mode=record always records every request into a fresh "
            f"cassette (rewrite); for record mode {record_mode.value!r} run in mock mode: "
            f"--nim-mode=mock --nim-record-mode={record_mode.value}"
        )
    repeats = _parse_bool(*picked["allow_playback_repeats"]) if "allow_playback_repeats" in picked else True
    fail_unplayed = _parse_report_or_fail(*picked["unplayed"]) if "unplayed" in picked else False
    endpoint = _parse_endpoint(*picked["endpoint"]) if "endpoint" in picked else None
    speed = _parse_speed(*picked["speed"]) if "speed" in picked else 0.0
    model, embed_model, rerank_model = (
        picked[key][0].strip() if key in picked else None for key in ("model", "embed_model", "rerank_model")
    )
    identity = _parse_identity(*picked["identity"]) if "identity" in picked else "nim1"
    skip_missing = _parse_fail_or_skip(*picked["missing"]) if "missing" in picked else False
    skip_without_endpoint = _parse_fail_or_skip(*picked["no_endpoint"]) if "no_endpoint" in picked else False

    if "cassettes" in picked:
        raw, origin = picked["cassettes"]
        base = ini_dir if origin.startswith("ini") else invocation_dir
        cassettes = (base / Path(raw).expanduser()).resolve()
    else:
        cassettes = (ini_dir / "cassettes").resolve()

    redact_env = [v.strip() for v in env.get(REDACT_ENV, "").split(",")]
    api_key = env.get(API_KEY_ENV) or None
    redact = [v for v in (*cli_redact, *redact_env, *ini_redact) if v.strip()]
    if api_key:
        # The key in use is scrubbed even when it does not look like an nvapi- key.
        redact.append(api_key)
    return Settings(
        mode=mode,
        record_mode=record_mode,
        allow_playback_repeats=repeats,
        fail_unplayed=fail_unplayed,
        endpoint=endpoint,
        cassettes=cassettes,
        speed=speed,
        identity=identity,
        model=model or None,
        embed_model=embed_model or None,
        rerank_model=rerank_model or None,
        skip_missing=skip_missing,
        skip_without_endpoint=skip_without_endpoint,
        api_key=api_key,
        redact=tuple(dict.fromkeys(redact)),
        sources=sources,
    )
