"""``dumpd``/``load`` round trips: settings kept, the key only ever written as a reference."""

from __future__ import annotations

import httpx
import pytest
from langchain_core.load import dumpd, dumps, load
from nim_harness import ChatNVIDIA

KEY = "nvapi-serialization-test-key"


def _model(**kwargs: object) -> ChatNVIDIA:
    return ChatNVIDIA(
        model="meta/llama-3.1-8b-instruct",
        base_url="http://127.0.0.1:9",
        api_key=KEY,
        temperature=0.3,
        max_tokens=7,
        default_headers={"X-Team": "qa"},
        model_kwargs={"top_k": 4},
        **kwargs,
    )


def test_the_key_is_written_as_a_reference_never_as_text() -> None:
    text = dumps(_model())
    assert KEY not in text
    assert dumpd(_model())["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["NVIDIA_API_KEY"]}


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_load_restores_every_setting_and_the_key_from_the_secrets_map() -> None:
    original = _model(http_client=httpx.Client())
    restored = load(
        dumpd(original),
        valid_namespaces=["nim_harness"],
        allowed_objects=[ChatNVIDIA],
        secrets_map={"NVIDIA_API_KEY": KEY},
    )
    assert isinstance(restored, ChatNVIDIA)
    assert restored.api_key is not None
    assert restored.api_key.get_secret_value() == KEY
    for name in ("model", "base_url", "temperature", "max_tokens", "default_headers", "model_kwargs"):
        assert getattr(restored, name) == getattr(original, name), name
    assert (
        restored.http_client is None
    )  # an injected client is never written; the loaded model builds its own


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_load_refuses_the_class_unless_it_is_allowed() -> None:
    with pytest.raises(ValueError, match="not allowed"):
        load(
            dumpd(_model()),
            allowed_objects="core",
            valid_namespaces=["nim_harness"],
            secrets_map={"NVIDIA_API_KEY": KEY},
        )
