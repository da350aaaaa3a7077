"""``nim-mock check``: lint cassette files so a broken or leaking one never reaches a commit.

Each cassette is checked for, in this order:

- secrets (``_secrets.find_secret``), looked for in the raw JSON first, so a key is reported even in
  a file that is otherwise malformed;
- the format and version and the whole v1 schema, by the loader itself (one rule set, not two);
- timing: events are non-decreasing (the loader's rule) and none arrives before the headers;
- unparsable events: every event is decoded with ``nim_harness.sse`` (the client's own decoder), and each
  ``data:`` payload must be ``[DONE]`` or JSON in a layout an OpenAI-compatible client reads: an
  object with a ``choices`` array whose items carry an integer ``index`` and a ``delta`` (chat) or
  ``text`` (completions), or an in-band error (``error``, or ``object: "error"``);
- bodies declared ``application/json`` that do not parse;
- interactions the mock can never replay: a request stored as ``text`` that is JSON (the mock
  matches a JSON body by its parsed value, so the text never meets it), a path with ``.`` or
  ``..`` segments (clients remove them) or an empty query (``/a?`` arrives as ``/a``).

A folder that cannot be walked or a file that cannot be read (a link loop, a FIFO named
``*.json``, no permission) is one problem line like any other; nothing blocks on it.

Orphans (cassettes no test uses) are looked for only when test sources are given, by reading them
(``ast``, nothing is imported or run). A cassette counts as used when, in those sources:

1. a ``nim(cassette="...")`` marker names it (``bundled:`` prefix allowed);
2. its name is what the plugin derives for a test found there (``derive_cassette_name``:
   ``tests/test_chat.py::TestX::test_y`` uses ``tests/test_chat/TestX.test_y`` and, parametrized,
   every ``tests/test_chat/TestX.test_y[...]``);
3. any string literal equals its name (with or without ``bundled:`` or ``.json``, or ends with
   ``/<name>.json``): names kept in tables and passed to markers through variables count;
4. when the folder checked is nim-harness's bundled one, a call to ``bundled_cassettes_dir()``
   counts as using all of it: ``tests/mock`` replays every bundled cassette byte for byte.

The rules lean towards "used": a false orphan report would teach people to ignore the check.
Everything here is pure except reading the files; the CLI prints ``str(problem)`` per line.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from nim_harness.sse import SSEDecoder

from nim_mock.cassette import Cassette, CassetteError, Interaction, RecordedResponse
from nim_mock.cassettes.naming import BUNDLED_PREFIX, derive_cassette_name
from nim_mock.cassettes.persist import bundled_cassettes_dir, cassette_files, load_cassette, read_plain_file
from nim_mock.cassettes.secrets import find_secret
from nim_mock.wire.http import JSON_CONTENT_TYPE, media_type

__all__ = ["Problem", "TestSources", "check_cassette", "check_folders", "event_problems", "scan_tests"]

_DONE: Final = "[DONE]"
_SKIP_DIRS: Final = frozenset({"__pycache__", "node_modules", "site-packages"})


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One finding: the file, the JSON path inside it (empty for the whole file) and what is wrong."""

    path: str
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.problem}" if self.field else f"{self.path}: {self.problem}"


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _layout_problem(payload: object) -> str | None:
    """Why a ``data:`` JSON payload is not a chunk or error a client can read, or ``None``."""
    if not isinstance(payload, dict):
        return f"data is {_kind(payload)}, not a JSON object (a chunk or an error)"
    if "error" in payload or payload.get("object") == "error":
        return None
    choices = payload.get("choices")
    if not isinstance(choices, list):
        return "data has no 'choices' array and is not an error; an OpenAI-compatible client cannot read it"
    for k, choice in enumerate(choices):
        if not isinstance(choice, dict):
            return f"data choices[{k}] is {_kind(choice)}, not an object"
        if isinstance(choice.get("index"), bool) or not isinstance(choice.get("index"), int):
            return f"data choices[{k}].index must be an integer"
        if "delta" in choice:
            if not isinstance(choice["delta"], dict):
                return f"data choices[{k}].delta must be an object, got {_kind(choice['delta'])}"
        elif not isinstance(choice.get("text"), str):
            return f"data choices[{k}] has neither a 'delta' object (chat) nor a 'text' string (completions)"
    usage = payload.get("usage")
    if usage is not None and not isinstance(usage, dict):
        return f"data usage must be an object or null, got {_kind(usage)}"
    return None


def _data_problem(data: str) -> str | None:
    if data.strip() == _DONE:
        return None
    try:
        payload = json.loads(data)
    except ValueError:
        return f"data is neither JSON nor [DONE]: {data[:60]!r}"
    return _layout_problem(payload)


def event_problems(response: RecordedResponse, field: str) -> list[tuple[str, str]]:
    """``(field, problem)`` for each event of ``response`` a client could not parse, and for bad timing."""
    if response.events is None:
        return []
    out: list[tuple[str, str]] = []
    if response.events and response.events[0].t_ms < response.t_headers_ms:
        out.append(
            (
                f"{field}.events[0].t_ms",
                f"is {response.events[0].t_ms:g}, before the headers (t_headers_ms "
                f"{response.t_headers_ms:g}); an event cannot arrive before the status line",
            )
        )
    decoder = SSEDecoder()
    last = len(response.events) - 1
    for index, event in enumerate(response.events):
        decoded = decoder.feed(event.raw)
        if index == last:
            decoded += decoder.flush()
        for sse in decoded:
            problem = _data_problem(sse.data)
            if problem is not None:
                out.append((f"{field}.events[{index}]", problem))
    return out


def _body_problem(response: RecordedResponse) -> str | None:
    declared = media_type(response.header("content-type"))
    if response.streamed or not response.body or declared != JSON_CONTENT_TYPE:
        return None
    try:
        json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return "content-type says application/json but the body does not parse as JSON"
    return None


def _never_replays(interaction: Interaction) -> tuple[str, str] | None:
    """``(field, why)`` when the mock could never answer a request with this interaction."""
    request = interaction.request
    target, mark, query = request.path.partition("?")
    if any(segment in (".", "..") for segment in target.split("/")):
        return (
            "request.path",
            "holds a '.' or '..' segment, which HTTP clients remove before they send a path: this "
            "interaction never replays; write the path as it is sent",
        )
    if mark and not query:
        return (
            "request.path",
            "ends in an empty query ('?'), which the server cannot tell from no query: this "
            "interaction never replays; leave the '?' out",
        )
    if request.raw_body is not None:
        try:
            json.loads(request.raw_body)
        except (ValueError, RecursionError):
            return None
        return (
            "request.text",
            "is JSON, and the mock matches a JSON body by its value, not its text: this interaction "
            "never replays; store the body as request.json",
        )
    return None


def _raw_secret(path: Path) -> Problem | None:
    """A secret in the file's JSON, found even when the cassette is otherwise broken."""
    try:
        document = json.loads(read_plain_file(path))
    except (CassetteError, ValueError, RecursionError):
        return None  # the loader reports why the file cannot be read
    found = find_secret(document)
    if found is None:
        return None
    where, kind = found
    return Problem(
        str(path),
        where,
        f'holds a secret ({kind}); replace it with "REDACTED" and rotate the key if it was pushed',
    )


def check_cassette(path: Path, root: Path) -> tuple[Cassette | None, list[Problem]]:
    """Load and lint one file; the cassette is ``None`` when it does not load."""
    source = str(path)
    problems: list[Problem] = []
    secret = _raw_secret(path)
    if secret is not None:
        problems.append(secret)
    try:
        cassette = load_cassette(path, root=root)
    except CassetteError as error:
        if secret is None or error.field != secret.field:  # the loader refuses the same secret
            problems.append(Problem(source, error.field, error.problem))
        return None, problems
    for i, interaction in enumerate(cassette.interactions):
        unreachable = _never_replays(interaction)
        if unreachable is not None:
            where, why = unreachable
            problems.append(Problem(source, f"interactions[{i}].{where}", why))
        field = f"interactions[{i}].response"
        problems.extend(Problem(source, f, p) for f, p in event_problems(interaction.response, field))
        body = _body_problem(interaction.response)
        if body is not None:
            problems.append(Problem(source, f"{field}.json", body))
    return cassette, problems


# -- which cassettes the tests use ------------------------------------------------------------------


@dataclass
class TestSources:
    """What the test sources say about cassette names (see the module docstring for the rules)."""

    __test__ = False  # not a pytest test class, whatever its name

    names: set[str] = field(default_factory=set)
    """Marker literals and every other string literal, normalised (no ``bundled:``, no ``.json``)."""
    derived: set[str] = field(default_factory=set)
    """Names the plugin derives for the tests found (a parametrized test adds ``[...]`` to them)."""
    uses_bundled_dir: bool = False
    files: int = 0
    problems: list[Problem] = field(default_factory=list)

    def uses(self, name: str) -> bool:
        if name in self.names or name in self.derived:
            return True
        if "[" in name and name.split("[", 1)[0] in self.derived:
            return True
        return any(literal.endswith("/" + name) for literal in self.names)


def _python_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
            yield from (Path(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))


def _is_test_module(path: Path) -> bool:
    return path.name.startswith("test_") or path.name.endswith("_test.py")


def _test_names(body: Sequence[ast.stmt], prefix: str) -> Iterator[str]:
    """``Class::test`` qualified names of the test functions pytest would collect from ``body``."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            yield prefix + node.name
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            yield from _test_names(node.body, f"{prefix}{node.name}::")


def _normalise(text: str) -> str:
    return text.strip().removeprefix(BUNDLED_PREFIX).removesuffix(".json")


def _read_source(path: Path, rootdir: Path, found: TestSources) -> None:
    try:
        tree = ast.parse(read_plain_file(path, "a test source"), filename=str(path))
    except (CassetteError, SyntaxError, ValueError, RecursionError) as error:
        found.problems.append(
            Problem(str(path), "", f"cannot be read as Python ({error}); its cassette uses were not counted")
        )
        return
    found.files += 1
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 400:
            found.names.add(_normalise(node.value))
        elif isinstance(node, ast.Call):
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            if called == "bundled_cassettes_dir":
                found.uses_bundled_dir = True
    if _is_test_module(path):
        try:
            module = path.resolve().relative_to(rootdir.resolve()).as_posix()
        except ValueError:
            module = path.as_posix()
        found.derived.update(derive_cassette_name(module, name) for name in _test_names(tree.body, ""))


def scan_tests(paths: Sequence[Path], rootdir: Path) -> TestSources:
    """Read every ``*.py`` under ``paths``; module paths are taken relative to ``rootdir`` (pytest's)."""
    found = TestSources()
    for path in paths:
        if not path.exists():
            found.problems.append(
                Problem(str(path), "", "no such file or folder; --tests takes test files or folders")
            )
    for path in _python_files([p for p in paths if p.exists()]):
        _read_source(path, rootdir, found)
    return found


def _json_files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): read_plain_file(path) for path in cassette_files(folder)}


def _is_bundled(folder: Path) -> bool:
    """Whether ``folder`` holds nim-harness's bundled cassettes: it is that folder, or a byte-exact copy.

    The copy case is the usual one in a checkout: the installed ``nim-mock`` reads the wheel's
    ``nim_mock/_bundled_cassettes`` while the folder checked is the repository's ``cassettes/`` it
    was built from.
    """
    bundled = bundled_cassettes_dir()
    try:
        if folder.resolve() == bundled.resolve():
            return True
        return bundled.is_dir() and _json_files(folder) == _json_files(bundled)
    except (OSError, CassetteError):
        return False


def check_folders(
    folders: Sequence[Path], tests: Sequence[Path] | None = None, rootdir: Path | None = None
) -> tuple[int, list[Problem]]:
    """Lint every cassette under ``folders``; with ``tests``, also report cassettes no test uses.

    Returns how many cassette files were checked and the problems, sorted by file. A missing folder
    or test path is a ``CassetteError`` (a usage error, not a finding).
    """
    for folder in folders:
        if not folder.is_dir():
            raise CassetteError(str(folder), "", "no such cassette folder; pass folders of *.json cassettes")
    for path in tests or ():
        if not path.exists():
            raise CassetteError(str(path), "", "no such file or folder; --tests takes test files or folders")
    sources = scan_tests(tests, rootdir or Path.cwd()) if tests is not None else None
    problems: list[Problem] = list(sources.problems) if sources is not None else []
    seen: dict[str, Path] = {}
    count = 0
    for folder in folders:
        whole_folder_used = sources is not None and sources.uses_bundled_dir and _is_bundled(folder)
        walk_problems: list[CassetteError] = []
        for path in cassette_files(folder, walk_problems.append):
            count += 1
            cassette, found = check_cassette(path, folder)
            problems.extend(found)
            name = cassette.name if cassette is not None else path.relative_to(folder).as_posix()[:-5]
            if name in seen:
                problems.append(
                    Problem(str(path), "", f"scenario name {name!r} is also used by {seen[name]}; rename one")
                )
            seen.setdefault(name, path)
            if sources is not None and not whole_folder_used and not sources.uses(name):
                problems.append(
                    Problem(
                        str(path),
                        "",
                        f"orphan: no test in {', '.join(map(str, tests or ()))} uses cassette {name!r} "
                        "(no nim(cassette=...) marker, derived test name or string names it); "
                        "delete it or point a test at it",
                    )
                )
        problems.extend(Problem(error.source, error.field, error.problem) for error in walk_problems)
    return count, sorted(problems)
