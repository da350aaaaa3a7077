"""The ``nim`` marker: which cassette a test names, its model, ignore paths, faults and miss policy.

Pure functions only: the fixtures hand in the marker's arguments, so the rules are tested without
a pytest session.

The derived names themselves are ``nim_mock.cassettes.naming``'s rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Final

from nim_mock.cassettes.naming import BUNDLED_PREFIX
from nim_mock.plugin.faults import check_faults_value
from nim_mock.plugin.options import RecordMode

__all__ = ["MARKER_HELP", "MarkerError", "NimMarker", "check_record_mode", "parse_marker"]

MARKER_HELP: Final = (
    "nim(cassette=None, model=None, ignore=()): name the cassette this test replays or records "
    "(a path under the cassette folder, without .json; tests may share one; 'bundled:chat/plain' "
    "replays one shipped with nim-harness), the model it asks for, and extra request-body paths left "
    "out of matching; in mock mode also faults=None, faults the mock injects (docs/faults.md), "
    "on_miss='error', or 'synthesize' for a made-up answer to a request no recording matches, "
    "identity=None, the server the mock answers as (nim1, nim2 or hosted; default: the plugin's), "
    "record_mode=None (none, once, new_episodes, all, rewrite: pytest-recording's) and "
    "allow_playback_repeats=None (True: identical requests may replay interactions again)."
)


class MarkerError(ValueError):
    """The ``nim`` marker was used with arguments it does not take."""


@dataclass(frozen=True, slots=True)
class NimMarker:
    """The ``nim`` marker's arguments, checked."""

    cassette: str | None = None
    model: str | None = None
    ignore: tuple[str, ...] = ()
    bundled: bool = False
    """``cassette`` names one of the cassettes shipped with nim-harness, not one of the project's."""
    faults: object = None
    """Faults for this test's mock, in any form ``_plugin_faults.rules_from_value`` reads."""
    on_miss: str = "error"
    """``"synthesize"``: a request no recording matches gets a made-up NIM answer (mock mode)."""
    record_mode: RecordMode | None = None
    """This test's record mode (``record_modes``); ``None``: the session's."""
    allow_playback_repeats: bool | None = None
    """Whether identical requests may replay interactions again; ``None``: the session's."""
    identity: str | None = None
    """The server the test's mock answers as; ``None``: the plugin's setting."""


def _check_name(name: str) -> str:
    """A marker-given cassette name, normalised; refuses names that would leave the cassette folder."""
    text = name.strip().replace("\\", "/")
    text = text.removesuffix(".json")
    path = PurePosixPath(text)
    if not text or path.is_absolute() or any(part in ("..", ".") for part in path.parts):
        raise MarkerError(
            f"nim(cassette={name!r}): give a relative name inside the cassette folder, such as 'chat/plain' "
            "(no leading '/', no '..')"
        )
    return "/".join(path.parts)


def check_record_mode(value: object, where: str) -> RecordMode | None:
    """``value`` as a record mode (``None`` stays ``None``); anything else fails naming the valid ones."""
    if value is None or isinstance(value, RecordMode):
        return value
    names = ", ".join(repr(mode.value) for mode in RecordMode)
    if not isinstance(value, str):
        raise MarkerError(f"{where} must be one of {names}, got {value!r}")
    try:
        return RecordMode(value.strip().lower().replace("-", "_"))
    except ValueError:
        raise MarkerError(f"{where} must be one of {names}, got {value!r}") from None


def parse_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> NimMarker:
    """Check the ``nim`` marker's arguments; unknown ones fail with the list of those it takes."""
    if args:
        raise MarkerError(
            f"nim marker takes keyword arguments only, got positional {list(args)!r}; "
            "write @pytest.mark.nim(cassette='chat/plain')"
        )
    valid = (
        "cassette",
        "model",
        "ignore",
        "faults",
        "on_miss",
        "identity",
        "record_mode",
        "allow_playback_repeats",
    )
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise MarkerError(
            f"nim marker got unknown argument(s) {', '.join(unknown)}; it takes: {', '.join(valid)}"
        )
    cassette = kwargs.get("cassette")
    model = kwargs.get("model")
    ignore = kwargs.get("ignore", ())
    if cassette is not None and not isinstance(cassette, str):
        raise MarkerError(f"nim(cassette=...) must be a string, got {type(cassette).__name__}")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise MarkerError(f"nim(model=...) must be a non-empty string, got {model!r}")
    bundled = False
    if isinstance(cassette, str) and cassette.startswith(BUNDLED_PREFIX):
        bundled, cassette = True, cassette.removeprefix(BUNDLED_PREFIX)
    if isinstance(ignore, str):
        ignore = (ignore,)
    if not isinstance(ignore, (list, tuple)) or not all(isinstance(p, str) and p for p in ignore):
        raise MarkerError(f"nim(ignore=...) must be a list of body paths such as ['seed'], got {ignore!r}")
    faults = kwargs.get("faults")
    if faults is not None:
        try:
            check_faults_value(faults)
        except ValueError as error:
            raise MarkerError(str(error)) from None
    on_miss = kwargs.get("on_miss", "error")
    if on_miss not in ("error", "synthesize"):
        raise MarkerError(f"nim(on_miss=...) must be 'error' or 'synthesize', got {on_miss!r}")
    repeats = kwargs.get("allow_playback_repeats")
    if repeats is not None and not isinstance(repeats, bool):
        raise MarkerError(f"nim(allow_playback_repeats=...) must be True or False, got {repeats!r}")
    identity = kwargs.get("identity")
    if identity is not None:
        from nim_mock.wire.identity import IDENTITIES

        if identity not in IDENTITIES:
            raise MarkerError(f"nim(identity=...) must be one of {', '.join(IDENTITIES)}, got {identity!r}")
    return NimMarker(
        identity=identity,
        cassette=_check_name(cassette) if cassette is not None else None,
        record_mode=check_record_mode(kwargs.get("record_mode"), "nim(record_mode=...)"),
        allow_playback_repeats=repeats,
        model=model,
        ignore=tuple(ignore),
        bundled=bundled,
        faults=faults,
        on_miss=on_miss,
    )
