"""Cassette files: the loader's errors, save/load identity, atomic writes, folder scanning."""

from __future__ import annotations

import copy
import json
import os
import pickle
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import cassettes, json_values

from nim_mock.cassette import Cassette, CassetteError, Event, Interaction, RecordedRequest, RecordedResponse
from nim_mock.cassettes.persist import (
    bundled_cassettes_dir,
    cassette_from_dict,
    cassette_to_dict,
    load_cassette,
    load_cassettes,
    save_cassette,
)

SOURCE = "cassettes/chat/plain.json"


def valid_document() -> dict[str, Any]:
    """The README's example, slightly extended: one streamed and one plain interaction."""
    return {
        "format": "nim-harness.cassette",
        "version": 1,
        "description": "Plain chat, streamed then not.",
        "match": {"ignore": ["seed", "messages.*.name"]},
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "path": "/v1/chat/completions",
                    "headers": {"content-type": "application/json", "accept": "text/event-stream"},
                    "json": {
                        "model": "meta/llama-3.1-8b-instruct",
                        "messages": [{"role": "user", "content": "Hi"}],
                        "stream": True,
                    },
                },
                "response": {
                    "status": 200,
                    "headers": [["content-type", "text/event-stream; charset=utf-8"], ["server", "uvicorn"]],
                    "t_headers_ms": 41.2,
                    "events": [
                        {
                            "t_ms": 41.9,
                            "data": {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": []},
                        },
                        {"t_ms": 57.0, "raw": "data: [DONE]\n\n"},
                    ],
                },
            },
            {
                "request": {"method": "GET", "path": "/v1/models"},
                "response": {"status": 200, "json": {"object": "list", "data": []}},
            },
        ],
    }


def load_dict(document: object) -> Cassette:
    return cassette_from_dict(document, name="chat/plain", source=SOURCE)


def error_for(document: object) -> CassetteError:
    with pytest.raises(CassetteError) as caught:
        load_dict(document)
    return caught.value


# --- the happy path --------------------------------------------------------------------------------


def test_valid_document_decodes_to_the_exact_bytes_that_replay_sends() -> None:
    cassette = load_dict(valid_document())
    assert cassette.name == "chat/plain"
    assert cassette.ignore == ("seed", "messages.*.name")
    streamed, listing = cassette.interactions
    assert streamed.request.body["stream"] is True
    assert streamed.response.t_headers_ms == 41.2
    assert streamed.response.events == (
        Event(41.9, b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[]}\n\n'),
        Event(57.0, b"data: [DONE]\n\n"),
    )
    assert listing.request.body is None
    assert listing.response.body == b'{"object":"list","data":[]}'
    assert listing.response.events is None


def test_every_bundled_cassette_loads() -> None:
    loaded = load_cassettes([bundled_cassettes_dir()])
    assert loaded, "the repository ships cassettes"
    assert [c.name for c in loaded] == sorted(c.name for c in loaded)
    assert all(c.source is not None and c.source.is_file() for c in loaded)


def test_bundled_dir_is_the_repository_folder_in_a_checkout() -> None:
    assert bundled_cassettes_dir() == Path(__file__).resolve().parents[2] / "cassettes"


# --- CassetteError ---------------------------------------------------------------------------------


def test_cassette_error_formats_with_and_without_a_field() -> None:
    with_field = CassetteError("a.json", "interactions[0].response.status", "must be 100-599")
    assert str(with_field) == "a.json: interactions[0].response.status: must be 100-599"
    assert str(CassetteError("a.json", "", "is not valid JSON")) == "a.json: is not valid JSON"
    assert isinstance(with_field, ValueError)
    restored = pickle.loads(pickle.dumps(with_field))
    assert (restored.source, restored.field, restored.problem) == (
        with_field.source,
        with_field.field,
        with_field.problem,
    )


# --- specific bad fields: each names the field and says what to do ------------------------------------


def mutated(path: list[str | int], value: Any = None, *, delete: bool = False) -> dict[str, Any]:
    document = valid_document()
    target: Any = document
    for step in path[:-1]:
        target = target[step]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


BAD_FIELDS = [
    pytest.param(
        mutated(["version"], 2),
        "version",
        "written by a newer nim-harness (this one reads version 1); upgrade nim-harness",
        id="newer-version",
    ),
    pytest.param(mutated(["version"], 0), "version", "re-record the cassette", id="older-version"),
    pytest.param(
        mutated(["version"], "1"), "version", "must be the integer 1, got a string", id="version-string"
    ),
    pytest.param(mutated(["version"], True), "version", "must be the integer 1, got true", id="version-bool"),
    pytest.param(mutated(["format"], "vcr"), "format", "this is not a nim-harness cassette", id="format"),
    pytest.param(mutated(["format"], delete=True), "format", "is missing", id="format-missing"),
    pytest.param(
        mutated(["extra"], 1), "extra", "unknown key 'extra'; allowed here: description,", id="unknown-top"
    ),
    pytest.param(
        mutated(["interactions"], []), "interactions", "must be a non-empty array", id="no-interactions"
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "status"], 700),
        "interactions[0].response.status",
        "must be an HTTP status code from 200 to 599 (a final answer), got 700",
        id="status-range",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "status"], "200"),
        "interactions[0].response.status",
        "must be an HTTP status code",
        id="status-string",
    ),
    pytest.param(
        mutated(["interactions", 1, "request", "method"], "get"),
        "interactions[1].request.method",
        "must be an upper-case HTTP method such as 'POST', got 'get'",
        id="method-case",
    ),
    pytest.param(
        mutated(["interactions", 1, "request", "path"], "v1/models"),
        "interactions[1].request.path",
        "must start with '/'",
        id="path-slash",
    ),
    pytest.param(
        mutated(["interactions", 0, "request", "headers", "Content-Type"], "x"),
        "interactions[0].request.headers.Content-Type",
        "header names are stored lower-case; write 'content-type'",
        id="request-header-case",
    ),
    pytest.param(
        mutated(["interactions", 0, "request", "text"], "x"),
        "interactions[0].request.text",
        "a request has either 'json' or 'text', not both",
        id="request-json-and-text",
    ),
    pytest.param(
        mutated(["interactions", 1, "response", "text"], "x"),
        "interactions[1].response.text",
        "a response has at most one of json, text, base64, events",
        id="two-bodies",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "headers", 1], ["Content-Length", "12"]),
        "interactions[0].response.headers[1]",
        "'Content-Length' is never stored: the server computes it; remove this pair",
        id="computed-header",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "headers", 0], ["content-type"]),
        "interactions[0].response.headers[0]",
        "must be a [name, value] pair",
        id="header-pair",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "headers", 1, 1], "uvicorn\r\nx-evil: 1"),
        "interactions[0].response.headers[1][1]",
        "must not contain a line break",
        id="header-crlf",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "headers", 1, 1], "üvicorn ✓"),
        "interactions[0].response.headers[1][1]",
        "must be Latin-1 text",
        id="header-latin1",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "headers", 1, 1], "uvi\x00corn"),
        "interactions[0].response.headers[1][1]",
        "holds the control character '\\x00', which HTTP headers cannot carry",
        id="header-control",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "headers", 1, 0], "x(y)"),
        "interactions[0].response.headers[1][0]",
        "is not a valid header name: 'x(y)' (letters, digits and",
        id="header-name-token",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "t_headers_ms"], -1),
        "interactions[0].response.t_headers_ms",
        "must be a finite number of milliseconds >= 0, got -1",
        id="negative-time",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "events", 1, "t_ms"], 10),
        "interactions[0].response.events[1].t_ms",
        "goes back in time (10.0 after 41.9); events are listed in the order sent",
        id="events-order",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "events", 1, "data"], {}),
        "interactions[0].response.events[1]",
        "needs exactly one of 'data'",
        id="event-data-and-raw",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "events", 0, "t_ms"], delete=True),
        "interactions[0].response.events[0].t_ms",
        "is missing; interactions[0].response.events[0] needs 't_ms'",
        id="event-time-missing",
    ),
    pytest.param(
        mutated(["interactions", 0, "response", "events", 1, "raw"], ""),
        "interactions[0].response.events[1].raw",
        "is empty",
        id="event-raw-empty",
    ),
    pytest.param(
        mutated(["interactions", 1, "response", "json"], delete=True),
        None,
        None,
        id="no-body-is-fine",
    ),
    pytest.param(
        mutated(["interactions", 1, "response", "base64"], "not base64!"),
        "interactions[1].response.base64",
        "at most one of",
        id="base64-and-json",
    ),
    pytest.param(
        mutated(["match", "ignore"], ["messages..name"]),
        "match.ignore[0]",
        "ignore path 'messages..name' has an empty segment",
        id="ignore-empty-segment",
    ),
    pytest.param(
        mutated(["interactions", 0, "request", "json", "messages", 0, "content"], "\ud800"),
        "interactions[0].request.json",
        "lone surrogate",
        id="lone-surrogate",
    ),
    pytest.param(
        mutated(["interactions", 0, "request", "headers", "authorization"], "Bearer abc123def456ghi789"),
        "interactions[0].request.headers.authorization",
        "holds a secret (authorization header); cassettes are committed and shared",
        id="secret-header",
    ),
    pytest.param(
        mutated(["interactions", 0, "request", "json", "api_key"], "nvapi-AbCdEf0123456789"),
        "interactions[0].request.json.api_key",
        "holds a secret (nvapi- API key)",
        id="secret-nvapi",
    ),
    pytest.param(["not", "an", "object"], "", "must hold a JSON object", id="array"),
]


@pytest.mark.parametrize(("document", "field", "problem"), BAD_FIELDS)
def test_a_bad_field_is_named_with_what_to_do(document: Any, field: str | None, problem: str | None) -> None:
    if field is None:
        load_dict(document)
        return
    error = error_for(document)
    assert error.source == SOURCE
    assert error.field == field
    assert problem is not None
    assert problem in error.problem
    assert str(error).startswith(f"{SOURCE}: ")


def test_base64_body_must_be_valid_base64() -> None:
    document = mutated(["interactions", 1, "response", "json"], delete=True)
    document["interactions"][1]["response"]["base64"] = "not base64!"
    error = error_for(document)
    assert (error.field, error.problem) == (
        "interactions[1].response.base64",
        "is not valid base64 (standard alphabet, padded)",
    )


# --- files: JSON syntax, encodings, folders ----------------------------------------------------------


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(
            '{\n  "format": "nim-harness.cassette",\n  "version": 1,\n}', "line 4, column 1", id="comma"
        ),
        pytest.param(b"\xff\xfe{}", "is not UTF-8 text (bad byte at offset 0)", id="binary"),
        pytest.param('{"a": 1, "a": 2}', "key 'a' appears twice in one object", id="duplicate-key"),
        pytest.param('{"a": NaN}', "NaN is not a JSON number", id="nan"),
        pytest.param("[" * 100_000, "nested too deeply", id="deep"),
        pytest.param("", "is not valid JSON: Expecting value at line 1, column 1", id="empty"),
    ],
)
def test_a_file_that_is_not_json_says_where(tmp_path: Path, content: str | bytes, problem: str) -> None:
    path = write(tmp_path / "x.json", content)
    with pytest.raises(CassetteError) as caught:
        load_cassette(path, root=tmp_path)
    assert caught.value.source == str(path)
    assert problem in caught.value.problem


def test_an_unreadable_file_is_a_cassette_error(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="cannot be read"):
        load_cassette(tmp_path / "missing.json", root=tmp_path)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    with pytest.raises(CassetteError, match="is a folder, not a file"):
        load_cassette(folder, root=tmp_path)


def test_name_is_the_posix_path_relative_to_root(tmp_path: Path) -> None:
    path = write(tmp_path / "chat" / "deep" / "plain.v2.json", json.dumps(valid_document()))
    cassette = load_cassette(path, root=tmp_path)
    assert cassette.name == "chat/deep/plain.v2"
    assert cassette.source == path
    with pytest.raises(CassetteError, match="is not inside the cassette folder"):
        load_cassette(path, root=tmp_path / "elsewhere")


def test_load_cassettes_recurses_skips_private_files_and_sorts(tmp_path: Path) -> None:
    text = json.dumps(valid_document())
    for relative in [
        "b.json",
        "a/z.json",
        "a/b.json",
        "_draft.json",
        ".hidden.json",
        "_wip/x.json",
        ".git/y.json",
    ]:
        write(tmp_path / relative, text)
    write(tmp_path / "README.md", "not a cassette")
    write(tmp_path / "a" / "notes.txt", "{")
    assert [c.name for c in load_cassettes([tmp_path])] == ["a/b", "a/z", "b"]


def test_load_cassettes_merges_folders_and_refuses_a_name_twice(tmp_path: Path) -> None:
    text = json.dumps(valid_document())
    write(tmp_path / "one" / "chat" / "a.json", text)
    write(tmp_path / "two" / "chat" / "b.json", text)
    assert [c.name for c in load_cassettes([tmp_path / "one", tmp_path / "two"])] == ["chat/a", "chat/b"]
    write(tmp_path / "two" / "chat" / "a.json", text)
    with pytest.raises(CassetteError) as caught:
        load_cassettes([tmp_path / "one", tmp_path / "two"])
    assert caught.value.source == str(tmp_path / "two" / "chat" / "a.json")
    assert "scenario name 'chat/a' is also used by" in caught.value.problem
    assert str(tmp_path / "one" / "chat" / "a.json") in caught.value.problem


def test_overlapping_folders_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "chat" / "a.json", json.dumps(valid_document()))
    with pytest.raises(CassetteError) as caught:
        load_cassettes([tmp_path, tmp_path / "chat"])
    assert caught.value.source == str(tmp_path / "chat" / "a.json")
    assert caught.value.problem == (
        f"would load twice: cassette folders {tmp_path} and {tmp_path / 'chat'} overlap; pass only one"
    )


def test_load_cassettes_names_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CassetteError) as caught:
        load_cassettes([tmp_path / "nope"])
    assert str(caught.value) == (
        f"{tmp_path / 'nope'}: no such cassette folder; pass an existing one "
        "(leave --cassettes out for the bundled ones)"
    )
    write(tmp_path / "file.json", "{}")
    with pytest.raises(CassetteError, match="is not a folder"):
        load_cassettes([tmp_path / "file.json"])


def test_load_cassettes_reports_the_first_bad_file(tmp_path: Path) -> None:
    write(tmp_path / "good.json", json.dumps(valid_document()))
    write(tmp_path / "sub" / "bad.json", json.dumps(mutated(["version"], 2)))
    with pytest.raises(CassetteError) as caught:
        load_cassettes([tmp_path])
    assert (caught.value.source, caught.value.field) == (str(tmp_path / "sub" / "bad.json"), "version")


def test_five_hundred_cassettes_load_correctly(tmp_path: Path) -> None:
    for number in range(500):
        document = valid_document()
        document["interactions"][0]["request"]["json"]["messages"][0]["content"] = f"question {number}"
        write(tmp_path / f"suite{number % 7}" / f"case{number:03d}.json", json.dumps(document))
    loaded = load_cassettes([tmp_path])
    assert len(loaded) == 500
    assert [c.name for c in loaded] == sorted(f"suite{n % 7}/case{n:03d}" for n in range(500))
    by_name = {c.name: c for c in loaded}
    assert by_name["suite3/case234"].interactions[0].request.body["messages"][0]["content"] == "question 234"


# --- saving -------------------------------------------------------------------------------------------


def test_saved_text_is_the_documented_layout(tmp_path: Path, snapshot: Any) -> None:
    path = tmp_path / "chat" / "plain.json"
    save_cassette(load_dict(valid_document()), path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == valid_document()
    assert text == snapshot


def test_save_writes_atomically_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deep" / "c.json"
    first = load_dict(valid_document())
    save_cassette(first, path)
    second = replace(first, description="rewritten")
    save_cassette(second, path)
    assert load_cassette(path, root=tmp_path / "new").description == "rewritten"
    assert os.listdir(path.parent) == ["c.json"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_save_refuses_a_secret_and_writes_nothing(tmp_path: Path) -> None:
    cassette = load_dict(valid_document())
    leaky = Interaction(
        RecordedRequest("GET", "/v1/models", {"authorization": "Bearer nvapi-0123456789abcdef"}),
        RecordedResponse(200),
    )
    path = tmp_path / "c.json"
    with pytest.raises(CassetteError) as caught:
        save_cassette(replace(cassette, interactions=(*cassette.interactions, leaky)), path)
    assert caught.value.field == "interactions[2].request.headers.authorization"
    assert "would hold a secret" in caught.value.problem
    assert "nothing was written" in caught.value.problem
    assert os.listdir(tmp_path) == []


def test_save_refuses_what_the_loader_would_refuse(tmp_path: Path) -> None:
    bad = Cassette("x", (Interaction(RecordedRequest("post", "/v1/x"), RecordedResponse(200)),))
    with pytest.raises(CassetteError, match="upper-case HTTP method"):
        save_cassette(bad, tmp_path / "x.json")
    not_utf8 = Cassette(
        "x",
        (Interaction(RecordedRequest("GET", "/"), RecordedResponse(200, events=(Event(0.0, b"\xff\n\n"),))),),
    )
    with pytest.raises(CassetteError, match="format v1 cannot store it"):
        save_cassette(not_utf8, tmp_path / "x.json")
    assert os.listdir(tmp_path) == []


def test_save_reports_an_unwritable_place(tmp_path: Path) -> None:
    blocker = write(tmp_path / "blocker", "a file, not a folder")
    with pytest.raises(CassetteError, match="cannot be written"):
        save_cassette(load_dict(valid_document()), blocker / "c.json")


def test_computed_headers_are_left_out_when_saving() -> None:
    response = RecordedResponse(200, (("Content-Length", "2"), ("server", "uvicorn"), ("date", "x")), b"{}")
    document = cassette_to_dict(Cassette("x", (Interaction(RecordedRequest("GET", "/"), response),)))
    assert document["interactions"][0]["response"]["headers"] == [["server", "uvicorn"]]


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        (b'{"a":1}', {"json": {"a": 1}}),
        (b'{"a": 1}', {"text": '{"a": 1}'}),
        (b"null", {"json": None}),
        (b'{"a":1.0e2}', {"text": '{"a":1.0e2}'}),
        (b'{"a":NaN}', {"text": '{"a":NaN}'}),
        (b'"\\u00e9"', {"text": '"\\u00e9"'}),
        ('"é"'.encode(), {"json": "é"}),
        (b"\xff\x00", {"base64": "/wA="}),
        (b"", {}),
    ],
)
def test_body_is_json_only_when_it_rerenders_to_the_same_bytes(body: bytes, stored: dict[str, Any]) -> None:
    document = cassette_to_dict(
        Cassette("x", (Interaction(RecordedRequest("GET", "/"), RecordedResponse(200, body=body)),))
    )
    response = document["interactions"][0]["response"]
    assert {k: v for k, v in response.items() if k != "status"} == stored
    assert load_dict(document).interactions[0].response.body == body


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (b'data: {"a":1}\n\n', {"data": {"a": 1}}),
        (b'data: {"a": 1}\n\n', {"raw": 'data: {"a": 1}\n\n'}),
        (b"data: [DONE]\n\n", {"raw": "data: [DONE]\n\n"}),
        (b'data:{"a":1}\n\n', {"raw": 'data:{"a":1}\n\n'}),
        (b'data: {"a":1}\r\n\r\n', {"raw": 'data: {"a":1}\r\n\r\n'}),
        (b": keep-alive\n\n", {"raw": ": keep-alive\n\n"}),
        (b'event: error\ndata: {"a":1}\n\n', {"raw": 'event: error\ndata: {"a":1}\n\n'}),
    ],
)
def test_event_is_data_only_when_it_is_exactly_a_compact_data_line(
    raw: bytes, stored: dict[str, Any]
) -> None:
    response = RecordedResponse(200, events=(Event(1.5, raw),))
    document = cassette_to_dict(Cassette("x", (Interaction(RecordedRequest("GET", "/"), response),)))
    assert document["interactions"][0]["response"]["events"] == [{"t_ms": 1.5, **stored}]
    assert load_dict(document).interactions[0].response.events == (Event(1.5, raw),)


# --- properties -----------------------------------------------------------------------------------------


@given(cassettes(name="gen/case"))
def test_to_dict_then_from_dict_is_the_identity(cassette: Cassette) -> None:
    document = cassette_to_dict(cassette)
    assert cassette_from_dict(document, name="gen/case", source="gen/case.json") == cassette


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cassettes(name="gen/case"))
def test_save_then_load_is_the_identity(tmp_path: Path, cassette: Cassette) -> None:
    path = tmp_path / "gen" / "case.json"
    save_cassette(cassette, path)
    loaded = load_cassette(path, root=tmp_path)
    assert loaded.source == path
    assert replace(loaded, source=None) == cassette


def outcome(load: Callable[[], Cassette]) -> CassetteError | None:
    """The CassetteError ``load`` raised, or None; any other exception escapes and fails the test."""
    try:
        load()
    except CassetteError as error:
        return error
    return None


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _mutate(document: Any, data: st.DataObject) -> Any:
    """One random change at a random place: delete it, retype it, or add an unknown key."""
    document = copy.deepcopy(document)
    path = data.draw(st.sampled_from(_paths(document)))
    action = data.draw(st.sampled_from(["delete", "replace", "add-key", "wrap"]))
    if not path:
        return data.draw(json_values) if action != "wrap" else [document]
    parent: Any = document
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = data.draw(json_values | st.sampled_from([0, -1, 2, 1e400, "", "\ud800", [], {}]))
    elif action == "add-key" and isinstance(parent[last], dict):
        parent[last][data.draw(st.text(max_size=6))] = data.draw(json_values)
    else:
        parent[last] = [parent[last]]
    return document


@given(cassettes(), st.data())
def test_any_mutation_of_a_valid_document_loads_or_is_a_cassette_error(
    cassette: Cassette, data: st.DataObject
) -> None:
    document = _mutate(cassette_to_dict(cassette), data)
    error = outcome(lambda: cassette_from_dict(document, name="x", source="x.json"))
    if error is not None:
        assert str(error).startswith("x.json: ")
        assert error.problem


@given(json_values.filter(lambda v: v != 1))
def test_any_other_version_is_refused_with_a_hint(version: Any) -> None:
    error = error_for(mutated(["version"], version))
    assert error.field == "version"
    if isinstance(version, int) and not isinstance(version, bool):
        assert ("upgrade nim-harness" if version > 1 else "re-record") in error.problem


def test_request_header_names_are_saved_lower_case() -> None:
    request = RecordedRequest("GET", "/v1/models", {"Accept": "application/json"})
    document = cassette_to_dict(Cassette("x", (Interaction(request, RecordedResponse(200)),)))
    assert document["interactions"][0]["request"]["headers"] == {"accept": "application/json"}


@given(json_values)
def test_random_json_is_a_cassette_error(value: Any) -> None:
    with pytest.raises(CassetteError):
        cassette_from_dict(value, name="x", source="x.json")


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        st.builds(
            lambda text, cut, junk: (text[:cut] + junk + text[cut:]).encode(),
            st.just(json.dumps(valid_document(), indent=2)),
            st.integers(0, 2000),
            st.text(max_size=3),
        ),
        st.builds(
            lambda text, cut: text[:cut].encode(), st.just(json.dumps(valid_document())), st.integers(0, 900)
        ),
    )
)
def test_any_file_content_loads_or_is_a_cassette_error(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path / "junk.json", content)
    error = outcome(lambda: load_cassette(path, root=tmp_path))
    if error is not None:
        assert error.source == str(path)


# --- the bundled cassettes as a fixed point ---------------------------------------------------------------


@pytest.mark.parametrize("cassette", load_cassettes([bundled_cassettes_dir()]), ids=lambda c: c.name)
def test_a_bundled_cassette_encodes_back_to_its_own_document(cassette: Cassette) -> None:
    assert cassette.source is not None
    text = cassette.source.read_text(encoding="utf-8")
    # Same keys in the same order and the same json/raw/text choices: compare order-preserving dumps.
    assert json.dumps(cassette_to_dict(cassette)) == json.dumps(json.loads(text))


def test_resaving_the_bundled_cassettes_changes_no_byte(tmp_path: Path) -> None:
    for cassette in load_cassettes([bundled_cassettes_dir()]):
        assert cassette.source is not None
        target = tmp_path / f"{cassette.name}.json"
        save_cassette(cassette, target)
        assert target.read_bytes() == cassette.source.read_bytes(), cassette.name
