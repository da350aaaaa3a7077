"""Model listing merged with the catalogue; picking a local NIM's only model."""

from __future__ import annotations

import pytest
from nim_harness import Model
from nim_harness._catalogue import CATALOGUE, ThinkingStyle, lookup
from nim_harness._models import choose_served_model, parse_listing


def test_vllm_listing_entry_keeps_root_and_length() -> None:
    body = {
        "object": "list",
        "data": [
            {
                "id": "meta/llama-3.1-8b-instruct",
                "object": "model",
                "owned_by": "system",
                "root": "/models/x",
                "max_model_len": 8192,
            },
            {
                "id": "my-lora",
                "object": "model",
                "owned_by": "system",
                "root": "/loras/a",
                "parent": "meta/llama-3.1-8b-instruct",
            },
        ],
    }
    base, lora = parse_listing(body)
    assert base == Model(
        id="meta/llama-3.1-8b-instruct",
        model_type="chat",
        client="ChatNVIDIA",
        owned_by="system",
        root="/models/x",
        base_model="/models/x",
        max_model_len=8192,
        supports_tools=True,
        supports_structured_output=True,
        known=True,
    )
    assert (lora.id, lora.known, lora.max_model_len) == ("my-lora", False, None)
    assert (lora.parent, lora.base_model) == ("meta/llama-3.1-8b-instruct", "meta/llama-3.1-8b-instruct")


def test_vision_and_thinking_capabilities() -> None:
    (vlm, thinker) = parse_listing(
        {"data": [{"id": "meta/llama-3.2-11b-vision-instruct"}, {"id": "nvidia/nemotron-3-nano-30b-a3b"}]}
    )
    assert vlm.supports_vision
    assert not vlm.supports_thinking
    assert thinker.supports_thinking
    assert thinker.supports_tools


def test_duplicates_are_listed_once() -> None:
    assert [m.id for m in parse_listing({"data": [{"id": "a"}, {"id": "a"}, {"id": "b"}]})] == ["a", "b"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"models": []}, "no 'data' list"),
        ({"data": [{"name": "x"}]}, "no string 'id'"),
        ({"data": ["x"]}, "no string 'id'"),
    ],
)
def test_malformed_listing_is_explained(body: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_listing(body)


def test_choose_served_model() -> None:
    assert choose_served_model([Model(id="only")], "http://h/v1") == "only"
    with pytest.raises(ValueError, match="lists no models"):
        choose_served_model([], "http://h/v1")
    with pytest.raises(ValueError, match=r"one of \['a', 'b'\]"):
        choose_served_model([Model(id="a"), Model(id="b")], "http://h/v1")


def test_catalogue_is_read_only_and_consistent() -> None:
    with pytest.raises(TypeError):
        CATALOGUE["x"] = CATALOGUE["meta/llama-3.1-8b-instruct"]  # type: ignore[index]
    for model_id, entry in CATALOGUE.items():
        assert entry.id == model_id
        if entry.thinking is not None and entry.thinking.style is ThinkingStyle.PARAM:
            assert set(entry.thinking.on) == set(entry.thinking.off)
    assert lookup(None) is None
    assert lookup("nope/nope") is None
