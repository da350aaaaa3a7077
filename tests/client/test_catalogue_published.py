"""The catalogue against the published langchain-nvidia-ai-endpoints table, entry by entry.

The client carries the published package's facts as data (``_catalogue_published``, written by
``tools/regenerate_catalogue.py``) so that a model the published ChatNVIDIA knows is known here
too, with the same capabilities, aliases, hosted endpoint and thinking switch. These tests read
the installed published package; they are skipped, saying why, where it is not installed (it is
in the ``test`` extra, pinned to the version the data follows).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from nim_harness import ChatNVIDIA, Model
from nim_harness._catalogue import CATALOGUE, ThinkingStyle, current_chat_models, resolve
from nim_harness._catalogue_published import SOURCE_VERSION
from nim_harness._models import from_catalogue

published = pytest.importorskip(
    "langchain_nvidia_ai_endpoints._statics",
    reason="langchain-nvidia-ai-endpoints is not installed (pip install -e '.[test]'): nothing to compare",
)
TABLE: dict[str, Any] = published.MODEL_TABLE
ROOT = Path(__file__).resolve().parents[2]


def _regenerator() -> Any:
    script = ROOT / "tools" / "regenerate_catalogue.py"
    spec = importlib.util.spec_from_file_location("regenerate_catalogue", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_the_data_follows_the_installed_version() -> None:
    installed = importlib.metadata.version("langchain-nvidia-ai-endpoints")
    assert installed == SOURCE_VERSION, (
        f"the catalogue follows {SOURCE_VERSION} but {installed} is installed: "
        "run python tools/regenerate_catalogue.py (and pin the new version in the test extra)"
    )


def test_the_data_module_is_what_the_script_writes() -> None:
    text = (ROOT / "client" / "_catalogue_published.py").read_text(encoding="utf-8")
    assert text == _regenerator().generate(), "stale: run python tools/regenerate_catalogue.py"


@pytest.mark.parametrize("model_id", sorted(TABLE))
def test_every_published_entry_is_ours_field_by_field(model_id: str) -> None:
    theirs = TABLE[model_id]
    ours = CATALOGUE[model_id]
    assert (ours.model_type, ours.client) == (theirs.model_type, theirs.client)
    assert ours.endpoint == theirs.endpoint
    assert ours.aliases == tuple(theirs.aliases or ())
    assert ours.supports_tools is bool(theirs.supports_tools)
    assert ours.supports_structured_output is bool(theirs.supports_structured_output)
    assert ours.supports_thinking is bool(theirs.supports_thinking)
    assert ours.deprecated is bool(theirs.deprecated)
    assert ours.supports_vision is (theirs.model_type in ("vlm", "nv-vlm"))
    if ours.thinking is None:
        switches = (
            "thinking_prefix",
            "no_thinking_prefix",
            "thinking_param_enable",
            "thinking_param_disable",
        )
        assert [getattr(theirs, name) for name in switches] == [None] * 4
    elif ours.thinking.style is ThinkingStyle.PREFIX:
        assert (ours.thinking.on, ours.thinking.off) == (theirs.thinking_prefix, theirs.no_thinking_prefix)
    else:
        assert (ours.thinking.on, ours.thinking.off) == (
            theirs.thinking_param_enable,
            theirs.thinking_param_disable,
        )


def test_the_catalogue_holds_nothing_the_published_table_does_not() -> None:
    assert set(CATALOGUE) == set(TABLE)


def test_every_current_published_chat_model_is_a_current_chat_model_here() -> None:
    theirs = {m.id for m in TABLE.values() if m.client == "ChatNVIDIA" and not m.deprecated}
    assert {entry.id for entry in current_chat_models()} == theirs
    assert len(theirs) == 77  # the 1.5.0 figure the issue counts against


@pytest.mark.parametrize(
    "alias", sorted({alias for m in TABLE.values() for alias in (m.aliases or [])}), ids=str
)
def test_every_published_alias_resolves_to_the_same_model(alias: str) -> None:
    entry = resolve(alias)
    assert entry is not None
    assert entry.id == published.lookup_model(alias).id


@pytest.mark.parametrize("model_id", sorted(m.id for m in TABLE.values() if m.client == "ChatNVIDIA"))
def test_model_entries_carry_the_published_fields(model_id: str) -> None:
    theirs = TABLE[model_id].model_dump()
    ours = from_catalogue(CATALOGUE[model_id]).model_dump()
    shared = {key: ours[key] for key in theirs}
    assert shared == {**theirs, "aliases": theirs["aliases"] or None}
    assert set(Model.model_fields) >= set(theirs)


def test_profiles_are_the_published_ones() -> None:
    profiles = pytest.importorskip("langchain_nvidia_ai_endpoints.data._profiles")._PROFILES
    for model_id, profile in profiles.items():
        assert ChatNVIDIA(model=model_id, base_url="http://127.0.0.1:9/v1").profile == profile, model_id
