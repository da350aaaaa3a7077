"""Cassette files on disk: find, read, check and write them.

The pure halves live next door (``decode`` checks a document, ``encode`` lays one out); this module
is the I/O shell around them. It owns three promises:

* every problem with a file is a ``CassetteError`` naming the file (and the field, and the fix):
  a broken folder (a symbolic-link loop, a FIFO or device named ``*.json``, a file or subfolder
  that cannot be read) is one such line, never a traceback, and never a hang (a file is opened
  without blocking and read only once it is known to be a regular file);
* a file holding a secret is neither loaded nor written;
* a write is atomic: a temporary file in the same folder, fsync, then ``os.replace``, so a crash or
  Ctrl-C mid-recording leaves either the old cassette or the new one, never half of one. The
  temporary name starts with ``.`` so ``load_cassettes`` never picks it up.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from nim_mock.cassette import Cassette, CassetteError
from nim_mock.cassettes.decode import cassette_from_dict
from nim_mock.cassettes.encode import cassette_to_dict, dumps_pretty
from nim_mock.cassettes.secrets import KnownSecrets, find_secret

__all__ = [
    "bundled_cassettes_dir",
    "cassette_files",
    "cassette_from_dict",
    "cassette_to_dict",
    "load_cassette",
    "load_cassettes",
    "read_plain_file",
    "save_cassette",
]

_SKIP_PREFIXES = ("_", ".")


class _DuplicateKey(ValueError):
    pass


class _NonStandardNumber(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Python's json keeps the last of two equal keys; in a hand-edited cassette that hides a mistake.
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def _constant(name: str) -> Any:
    raise _NonStandardNumber(name)


def _parse(source: str, text: str) -> object:
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except json.JSONDecodeError as error:
        raise CassetteError(
            source, "", f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except _DuplicateKey as error:
        raise CassetteError(
            source, "", f"is not valid JSON for a cassette: key {error.args[0]!r} appears twice in one object"
        ) from None
    except _NonStandardNumber as error:
        raise CassetteError(source, "", f"is not valid JSON: {error.args[0]} is not a JSON number") from None
    except RecursionError:
        raise CassetteError(source, "", "is nested too deeply to be a cassette") from None


def _scenario_name(path: Path, root: Path) -> str:
    relative = path.relative_to(root).as_posix()
    return relative[: -len(".json")] if relative.endswith(".json") else relative


_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def read_plain_file(path: Path, what: str = "a cassette") -> bytes:
    """The bytes of the regular file at ``path``; anything else is a ``CassetteError`` saying what
    it is instead (``what``, e.g. ``"a cassette"``, names what the file should have been).

    Opened with ``O_NONBLOCK`` and checked with ``fstat`` before reading, so a FIFO named
    ``x.json`` is reported instead of blocking the reader forever, and ``/dev/zero`` linked as
    ``x.json`` instead of filling memory.
    """
    source = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise _unreadable(source, error) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
            raise CassetteError(source, "", f"is {kind}, not a file; {what} is a plain file")
        with os.fdopen(fd, "rb") as stream:
            fd = -1  # the stream owns it now
            return stream.read()
    except OSError as error:
        raise _unreadable(source, error) from None
    finally:
        if fd >= 0:
            os.close(fd)


def _unreadable(source: str, error: OSError) -> CassetteError:
    reason = error.strerror or type(error).__name__
    return CassetteError(source, "", f"cannot be read ({reason}); check the path and its permissions")


def load_cassette(path: Path, *, root: Path) -> Cassette:
    """Read and check one cassette; its name is ``path`` relative to ``root`` without ``.json``."""
    source = str(path)
    try:
        name = _scenario_name(path, root)
    except ValueError:
        raise CassetteError(source, "", f"is not inside the cassette folder {root}") from None
    data = read_plain_file(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CassetteError(
            source,
            "",
            f"is not UTF-8 text (bad byte at offset {error.start}); a cassette is a UTF-8 JSON file",
        ) from None
    cassette = cassette_from_dict(_parse(source, text), name=name, source=source)
    return replace(cassette, source=path)


def cassette_files(folder: Path, on_error: Callable[[CassetteError], None] | None = None) -> Iterator[Path]:
    """The ``*.json`` files under ``folder`` that hold cassettes, in name order, recursively.

    Names starting with ``_`` or ``.`` are skipped (drafts, temporary files of an interrupted save,
    ``.git``); linked folders are not followed (so a link loop cannot trap the walk). A subfolder
    that cannot be read is a ``CassetteError``, raised, or handed to ``on_error`` so the walk goes on.
    """

    def unreadable(error: OSError) -> None:
        problem = _unreadable(error.filename or str(folder), error)
        if on_error is None:
            raise problem
        on_error(problem)

    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(_SKIP_PREFIXES))
        for filename in sorted(filenames):
            if filename.endswith(".json") and not filename.startswith(_SKIP_PREFIXES):
                yield Path(dirpath, filename)


def load_cassettes(dirs: Sequence[Path]) -> list[Cassette]:
    """Every ``*.json`` cassette under ``dirs`` (recursively), sorted by name.

    Files and folders whose name starts with ``_`` or ``.`` are skipped (drafts, temporary files of
    an interrupted save, ``.git``). Scenario names must be unique across all ``dirs``: the name is
    what tests and error messages use to point at a cassette.
    """
    by_name: dict[str, tuple[Path, Path]] = {}
    by_file: dict[Path, Path] = {}
    for folder in dirs:
        if not folder.exists():
            raise CassetteError(
                str(folder),
                "",
                "no such cassette folder; pass an existing one (leave --cassettes out for the bundled ones)",
            )
        if not folder.is_dir():
            raise CassetteError(
                str(folder), "", "is not a folder; --cassettes takes folders of *.json cassettes"
            )
        for path in cassette_files(folder):
            name = _scenario_name(path, folder)
            if name in by_name:
                other = by_name[name][0]
                raise CassetteError(
                    str(path),
                    "",
                    f"scenario name {name!r} is also used by {other}; rename one or load only one folder",
                )
            real = Path(os.path.realpath(path))  # a link loop resolves to itself; reading it says so
            if real in by_file:
                raise CassetteError(
                    str(path),
                    "",
                    f"would load twice: cassette folders {by_file[real]} and {folder} overlap; pass only one",
                )
            by_file[real] = folder
            by_name[name] = (path, folder)
    return [load_cassette(path, root=root) for _, (path, root) in sorted(by_name.items())]


def _write_atomically(path: Path, data: bytes) -> None:
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it 0600; a cassette is a normal, shared file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    # Make the rename itself durable; not every platform can open a folder, and that is fine.
    with contextlib.suppress(OSError):
        folder_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)


def save_cassette(cassette: Cassette, path: Path, *, known: KnownSecrets | None = None) -> None:
    """Write ``cassette`` to ``path`` as pretty v1 JSON, atomically; refuse (writing nothing) a secret.

    A secret is what the loader refuses, and, when ``known`` is given (the credentials a recording
    carried), any of those values in any encoding. The document is checked with the loader's own
    rules first, so what is saved always loads.
    """
    source = str(path)
    document = cassette_to_dict(cassette)
    secret = find_secret(document, known=known)
    if secret is not None:
        where, kind = secret
        raise CassetteError(
            source, where, f"would hold a secret ({kind}); redact it before saving (nothing was written)"
        )
    cassette_from_dict(document, name=cassette.name, source=source)
    try:
        _write_atomically(path, dumps_pretty(document).encode("utf-8"))
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise CassetteError(
            source, "", f"cannot be written ({reason}); check the folder and its permissions"
        ) from None


def bundled_cassettes_dir() -> Path:
    """The cassettes shipped with nim-harness.

    A wheel force-includes the repository's ``cassettes/`` as ``nim_mock/_bundled_cassettes``; a
    source checkout or editable install has no such folder and uses ``cassettes/`` itself.
    """
    package = Path(__file__).resolve().parents[1]
    bundled = package / "_bundled_cassettes"
    return bundled if bundled.is_dir() else package.parent / "cassettes"
