"""The cassettes a session has read, kept so a cassette shared by many tests is parsed once.

Why: reading and checking a cassette costs far more than the rest of a mocked test's set-up (a
bundled stream is ~50 events of JSON), and a suite typically replays a handful of cassettes across
hundreds of tests. A kept cassette is used again only while its file is unchanged (same size,
modification time and inode), so a cassette written during the session (record modes) or edited
by hand between two tests is read again. Cassettes are frozen values, so sharing one is safe.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nim_mock.cassette import Cassette

__all__ = ["CassetteCache"]

_Stamp = tuple[int, int, int]


def _stamp(path: Path) -> _Stamp | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


class CassetteCache:
    """``load(path, root)``: ``load_cassette`` remembered per file while the file stays the same."""

    def __init__(self) -> None:
        self._kept: dict[tuple[Path, Path], tuple[_Stamp, Cassette]] = {}
        self._lock = threading.Lock()

    def load(self, path: Path, *, root: Path) -> Cassette:
        """The cassette at ``path`` (named relative to ``root``); raises ``CassetteError`` as loading does."""
        from nim_mock.cassettes.persist import load_cassette

        key = (path, root)
        stamp = _stamp(path)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and stamp is not None and kept[0] == stamp:
            return kept[1]
        cassette = load_cassette(path, root=root)
        if stamp is not None and stamp == _stamp(path):  # unchanged while it was read
            with self._lock:
                self._kept[key] = (stamp, cassette)
        return cassette
