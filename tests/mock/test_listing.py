"""``nim-mock list``: the table of scenarios and the totals under it."""

from __future__ import annotations

from typing import Any

from nim_mock.cassette import Cassette, Event, Interaction, RecordedRequest, RecordedResponse
from nim_mock.cassettes.listing import format_listing
from nim_mock.cassettes.persist import bundled_cassettes_dir, load_cassettes


def chat(model: str, *, stream: bool = False) -> RecordedRequest:
    return RecordedRequest(
        "POST", "/v1/chat/completions", body={"model": model, "messages": [], "stream": stream}
    )


STREAM = RecordedResponse(200, events=(Event(1.0, b"data: [DONE]\n\n"),))


def sample() -> list[Cassette]:
    return [
        Cassette(
            "chat/plain",
            (Interaction(chat("meta/llama-3.1-8b-instruct"), RecordedResponse(200)),),
            description="Plain chat, not streamed.",
        ),
        Cassette(
            "errors/retry_429",
            (
                Interaction(chat("meta/llama-3.1-8b-instruct"), RecordedResponse(429)),
                Interaction(chat("meta/llama-3.1-8b-instruct"), RecordedResponse(200)),
            ),
            description="A 429 then a 200 for the same request: what a retrying client sees. " * 3,
        ),
        Cassette(
            "chat/stream",
            (Interaction(chat("deepseek-ai/deepseek-r1", stream=True), STREAM),),
            description="Streamed\nover two lines.",
        ),
        Cassette("models/list", (Interaction(RecordedRequest("GET", "/v1/models"), RecordedResponse(200)),)),
    ]


def test_listing_table(snapshot: Any) -> None:
    text = format_listing(sample())
    assert text == snapshot
    lines = text.splitlines()
    assert lines[0].split() == ["SCENARIO", "N", "MODELS", "STREAMED", "STATUSES", "DESCRIPTION"]
    assert lines[2].split()[:5] == ["errors/retry_429", "2", "meta/llama-3.1-8b-instruct", "no", "200,429"]
    assert lines[3].split()[3] == "yes"
    assert lines[4].split()[2] == "-"
    assert all(len(line) <= 150 for line in lines)
    assert lines[-2] == "4 scenarios, 5 interactions, 1 streamed"
    assert lines[-1] == "models (2): deepseek-ai/deepseek-r1, meta/llama-3.1-8b-instruct"


def test_columns_line_up() -> None:
    lines = format_listing(sample()).splitlines()[:5]
    start = lines[0].index("STREAMED")
    assert all(line[start:].split()[0] in {"STREAMED", "yes", "no"} for line in lines)


def test_empty_listing_says_what_a_cassette_is() -> None:
    assert format_listing([]) == (
        "no cassettes found (a cassette is a *.json file in format v1; see cassettes/README.md)\n"
    )


def test_singular_totals() -> None:
    text = format_listing(sample()[:1])
    assert "1 scenario, 1 interaction, 0 streamed" in text


def test_bundled_listing_names_every_scenario() -> None:
    cassettes = load_cassettes([bundled_cassettes_dir()])
    text = format_listing(cassettes)
    for cassette in cassettes:
        assert f"\n{cassette.name} " in text
    assert f"{len(cassettes)} scenarios" in text
