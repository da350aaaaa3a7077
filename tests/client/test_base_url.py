"""Base-URL normalisation: one result whichever way the URL arrives, clear errors for mistakes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nim_harness._base_url import DEFAULT_BASE_URL, normalize_base_url, resolve_base_url


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("http://localhost:8000", "http://localhost:8000/v1"),
        ("http://localhost:8000/", "http://localhost:8000/v1"),
        ("http://localhost:8000/v1", "http://localhost:8000/v1"),
        ("http://localhost:8000/v1/", "http://localhost:8000/v1"),
        ("http://localhost:8000/v1///", "http://localhost:8000/v1"),
        ("  https://integrate.api.nvidia.com/v1  ", "https://integrate.api.nvidia.com/v1"),
        ("HTTPS://Integrate.API.nvidia.com/v1", "https://integrate.api.nvidia.com/v1"),
        ("http://127.0.0.1:9/proxy/nim", "http://127.0.0.1:9/proxy/nim"),
        ("http://[::1]:8000", "http://[::1]:8000/v1"),
        ("https://ai.api.nvidia.com/v1/gr/meta/llama", "https://ai.api.nvidia.com/v1/gr/meta/llama"),
        ("http://localhost:8000/V1", "http://localhost:8000/V1"),
    ],
)
def test_normalisation_table(given_url: str, expected: str) -> None:
    assert normalize_base_url(given_url) == expected
    assert normalize_base_url(expected) == expected  # idempotent


@pytest.mark.parametrize(
    ("given_url", "fragment"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("localhost:8000", "must start with http:// or https://"),
        ("ftp://example.com/v1", "must start with http:// or https://"),
        ("//localhost:8000/v1", "must start with http:// or https://"),
        ("http://", "has no host name"),
        ("http://user:secret@localhost:8000/v1", "must not contain credentials"),
        ("http://token@localhost:8000/v1", "must not contain credentials"),
        ("http://localhost:8000/v1?api_key=x", "query string or fragment"),
        ("http://localhost:8000/v1#top", "query string or fragment"),
        ("http://localhost:8000/v1?", "query string or fragment"),
        ("http://localhost:99999/v1", "invalid port"),
        ("http://localhost:8000/v1/chat/completions", "pass 'http://localhost:8000/v1' instead"),
        ("http://localhost:8000/chat/completions", "pass 'http://localhost:8000/v1' instead"),
        ("http://localhost:8000/v1/completions/", "pass 'http://localhost:8000/v1' instead"),
        ("http://localhost:8000/v1/models", "pass 'http://localhost:8000/v1' instead"),
        ("http://localhost:8000/v1/embeddings", "pass 'http://localhost:8000/v1' instead"),
        ("http://localhost:8000/v1/health/ready", "pass 'http://localhost:8000/v1' instead"),
    ],
)
def test_bad_urls_say_what_to_pass(given_url: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="base_url") as info:
        normalize_base_url(given_url)
    assert fragment in str(info.value)


def test_credentials_are_not_echoed() -> None:
    with pytest.raises(ValueError, match="credentials") as info:
        normalize_base_url("http://user:hunter2@localhost:8000/v1")
    assert "hunter2" not in str(info.value)
    assert "NVIDIA_API_KEY" in str(info.value)


def test_env_and_argument_give_the_same_result() -> None:
    for raw in ("http://localhost:8000", "http://localhost:8000/v1/", "http://localhost:8000/v1"):
        assert resolve_base_url(raw, {}) == resolve_base_url(None, {"NVIDIA_BASE_URL": raw})


def test_resolution_order() -> None:
    env = {"NVIDIA_BASE_URL": "http://127.0.0.1:8001"}
    assert resolve_base_url("http://127.0.0.1:8002", env) == "http://127.0.0.1:8002/v1"
    assert resolve_base_url(None, env) == "http://127.0.0.1:8001/v1"
    assert resolve_base_url(None, {}) == DEFAULT_BASE_URL
    assert resolve_base_url(None, {"NVIDIA_BASE_URL": "  "}) == DEFAULT_BASE_URL


def test_env_errors_name_the_variable() -> None:
    with pytest.raises(ValueError, match="NVIDIA_BASE_URL='http://h/v1/chat/completions'"):
        resolve_base_url(None, {"NVIDIA_BASE_URL": "http://h/v1/chat/completions"})


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5})?", fullmatch=True),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    path=st.sampled_from(["", "/", "/v1", "/v1/", "/base", "/base/v1//"]),
    scheme=st.sampled_from(["http", "https"]),
)
def test_normalisation_is_idempotent_and_slash_free(
    host: str, port: int | None, path: str, scheme: str
) -> None:
    url = f"{scheme}://{host}{f':{port}' if port else ''}{path}"
    once = normalize_base_url(url)
    assert normalize_base_url(once) == once
    assert not once.endswith("/")
    assert once.startswith(f"{scheme}://{host}")
