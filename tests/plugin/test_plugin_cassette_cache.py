"""The session's cassette cache: a file is parsed once while it is unchanged, and again once it changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nim_mock.cassette import CassetteError
from nim_mock.cassettes.persist import bundled_cassettes_dir
from nim_mock.plugin.cassette_cache import CassetteCache


def test_an_unchanged_file_is_parsed_once(tmp_path: Path) -> None:
    path = tmp_path / "chat" / "plain.json"
    path.parent.mkdir()
    shutil.copy(bundled_cassettes_dir() / "chat" / "plain.json", path)
    cache = CassetteCache()
    first = cache.load(path, root=tmp_path)
    assert first.name == "chat/plain"
    assert cache.load(path, root=tmp_path) is first


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    shutil.copy(bundled_cassettes_dir() / "chat" / "plain.json", path)
    cache = CassetteCache()
    first = cache.load(path, root=tmp_path)
    shutil.copy(bundled_cassettes_dir() / "chat" / "stream_usage.json", path)
    again = cache.load(path, root=tmp_path)
    assert again is not first
    assert again.streamed


def test_a_broken_file_still_raises_and_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("{not json")
    cache = CassetteCache()
    for _ in range(2):
        with pytest.raises(CassetteError):
            cache.load(path, root=tmp_path)
