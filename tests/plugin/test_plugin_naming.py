"""Cassette names: derived from the node id, or given by the ``nim`` marker, always filename-safe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nim_mock.cassettes.naming import cassette_path, derive_cassette_name, safe_component
from nim_mock.plugin.marker import MarkerError, NimMarker, parse_marker
from nim_mock.plugin.options import RecordMode

SAFE = re.compile(r"[A-Za-z0-9._\-\[\]=+,@]+")


@pytest.mark.parametrize(
    ("module", "qualified", "name"),
    [
        ("tests/test_chat.py", "test_invoke", "tests/test_chat/test_invoke"),
        ("tests/test_chat.py", "TestX::test_y[a-1]", "tests/test_chat/TestX.test_y[a-1]"),
        ("test_top.py", "test_q[what?/x:y]", "test_top/test_q[what__x_y]"),
        ("tests\\win\\test_w.py", "test_z", "tests/win/test_w/test_z"),
    ],
)
def test_derived_names(module: str, qualified: str, name: str) -> None:
    assert derive_cassette_name(module, qualified) == name


@given(st.text(max_size=300))
def test_any_text_becomes_one_safe_component(text: str) -> None:
    component = safe_component(text)
    assert SAFE.fullmatch(component)
    assert component not in (".", "..")
    assert len(component) <= 120
    assert safe_component(text) == component  # deterministic


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=4), st.text(min_size=1, max_size=60))
def test_derived_names_stay_inside_the_folder(parts: list[str], qualified: str) -> None:
    name = derive_cassette_name("/".join(parts) + ".py", qualified)
    path = cassette_path(Path("/c"), name)
    assert path.is_relative_to(Path("/c"))
    assert path.suffix == ".json"
    assert all(SAFE.fullmatch(part) and part not in (".", "..") for part in name.split("/"))


def test_marker_arguments() -> None:
    assert parse_marker((), {}) == NimMarker()
    marker = parse_marker((), {"cassette": "chat/plain.json", "model": "org/m", "ignore": "seed"})
    assert marker == NimMarker(cassette="chat/plain", model="org/m", ignore=("seed",))
    assert cassette_path(Path("/c"), "chat/plain") == Path("/c/chat/plain.json")
    assert parse_marker((), {"cassette": "bundled:errors/gateway_429_retry"}) == NimMarker(
        cassette="errors/gateway_429_retry", bundled=True
    )
    playback = parse_marker((), {"record_mode": "new-episodes", "allow_playback_repeats": False})
    assert playback == NimMarker(record_mode=RecordMode.NEW_EPISODES, allow_playback_repeats=False)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("chat/plain",), {}, "keyword arguments only"),
        ((), {"casette": "x"}, "unknown argument(s) casette; it takes: cassette, model, ignore"),
        ((), {"cassette": "../outside"}, "no leading '/', no '..'"),
        ((), {"cassette": "/abs"}, "no leading '/', no '..'"),
        ((), {"cassette": "bundled:../x"}, "no leading '/', no '..'"),
        ((), {"cassette": ""}, "give a relative name"),
        ((), {"cassette": 3}, "must be a string"),
        ((), {"model": ""}, "non-empty string"),
        ((), {"ignore": [1]}, "list of body paths"),
        ((), {"record_mode": "sometimes"}, "nim(record_mode=...) must be one of 'none', 'once', "),
        ((), {"record_mode": 1}, "nim(record_mode=...) must be one of"),
        ((), {"allow_playback_repeats": "no"}, "must be True or False, got 'no'"),
    ],
)
def test_bad_marker_arguments_say_what_to_write(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(MarkerError) as caught:
        parse_marker(args, kwargs)
    assert message in str(caught.value)
