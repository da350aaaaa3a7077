"""What counts as a secret, where it is reported, and that placeholders pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import cassettes

from nim_mock.cassette import Cassette, CassetteError, Interaction, RecordedRequest, RecordedResponse
from nim_mock.cassettes.persist import cassette_to_dict, load_cassette, save_cassette
from nim_mock.cassettes.secrets import find_secret, is_redacted, secret_in_text

NVAPI = "nvapi-Qx7_Zr2-AbCdEf0123456789"
OPENAI = "sk-proj-AbCdEfGh0123456789IjKlMnOp"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"headers": {"authorization": "Bearer abc"}}, ("headers.authorization", "authorization header")),
        (
            {"headers": {"Authorization": "Basic dXNlcjpwYXNz"}},
            ("headers.Authorization", "authorization header"),
        ),
        ({"headers": {"api-key": "0123"}}, ("headers.api-key", "api-key header")),
        ({"h": {"x-api-key": "k"}}, ("h.x-api-key", "x-api-key header")),
        (
            {"h": {"proxy-authorization": "Basic Zm9vOmJhcg=="}},
            ("h.proxy-authorization", "proxy-authorization header"),
        ),
        ({"h": {"cookie": "session=1"}}, ("h.cookie", "cookie header")),
        (
            {"headers": [["server", "uvicorn"], ["Set-Cookie", "id=2"]]},
            ("headers[1][1]", "set-cookie header"),
        ),
        ({"messages": [{"content": f"my key is {NVAPI}"}]}, ("messages[0].content", "nvapi- API key")),
        ({NVAPI: 1}, (NVAPI, "nvapi- API key")),
        (["ok", {"k": OPENAI}], ("[1].k", "OpenAI sk- API key")),
        (
            {"note": "curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc123'"},
            ("note", "Bearer token"),
        ),
        (NVAPI, ("", "nvapi- API key")),
    ],
)
def test_secrets_are_found_with_their_path_and_kind(value: object, expected: tuple[str, str]) -> None:
    assert find_secret(value) == expected


def test_the_path_prefix_is_prepended() -> None:
    found = find_secret({"authorization": "Bearer abc"}, "interactions[3].request.headers")
    assert found == ("interactions[3].request.headers.authorization", "authorization header")


def test_the_first_secret_in_document_order_is_reported() -> None:
    value = {"a": ["x", {"b": NVAPI}], "c": OPENAI}
    assert find_secret(value) == ("a[1].b", "nvapi- API key")


@pytest.mark.parametrize(
    "value",
    [
        {"headers": {"authorization": "REDACTED"}},
        {"headers": {"authorization": "Bearer ***"}},
        {"headers": {"authorization": "Bearer <redacted>"}},
        {"headers": {"authorization": "Bearer $NVIDIA_API_KEY"}},
        {"headers": {"api-key": ""}},
        {"headers": {"cookie": "[REDACTED]"}},
        {"headers": [["set-cookie", "***"]]},
        {"description": "401 when the Bearer token is missing; send Bearer authentication"},
        {"description": "keys look like nvapi-... or nvapi-REDACTED or nvapi-xxxxxxxxxxxx"},
        {"description": "a task-0123456789abcdefghijklmnop id is not an OpenAI key"},
        {"authorization": {"type": "object"}},  # a JSON schema property named like a header
        {"content-type": "application/json", "x-request-id": "abc"},
        [1, 2.5, None, True],
    ],
)
def test_placeholders_and_prose_are_not_secrets(value: object) -> None:
    assert find_secret(value) is None


@pytest.mark.parametrize("text", ["REDACTED", "***", "<redacted>", "Bearer REDACTED", "xxxxxx", "", "  "])
def test_is_redacted(text: str) -> None:
    assert is_redacted(text)


@pytest.mark.parametrize("text", ["Bearer abcdef123456", "session=1", "nvapi-abc"])
def test_real_values_are_not_redacted(text: str) -> None:
    assert not is_redacted(text)


_key_chars = st.text(
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwyz0123456789_-"),
    min_size=8,
    max_size=40,
).filter(lambda body: "redacted" not in body.lower())


@given(st.text(max_size=20), _key_chars, st.text(max_size=20))
def test_an_nvapi_key_is_found_inside_any_text(before: str, body: str, after: str) -> None:
    assert secret_in_text(before + "nvapi-" + body + after) is not None


def _string_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _string_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _string_paths(item, (*path, index))]
    return []


def _error_path(path: tuple[Any, ...]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cassettes(name="leak"), st.data())
def test_a_key_planted_in_any_string_of_a_cassette_file_is_refused_by_the_loader(
    tmp_path: Path, cassette: Cassette, data: st.DataObject
) -> None:
    document = cassette_to_dict(cassette)
    paths = [p for p in _string_paths(document) if p not in (("format",),)]
    path = data.draw(st.sampled_from(paths))
    parent: Any = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = parent[path[-1]] + " " + NVAPI
    file = tmp_path / "leak.json"
    file.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(CassetteError) as caught:
        load_cassette(file, root=tmp_path)
    # A planted key can also break another rule first (a header value, a method); when it does not,
    # the error names exactly where the key is.
    if "secret" in caught.value.problem:
        assert caught.value.field == _error_path(path)
        assert "nvapi- API key" in caught.value.problem


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cassettes(name="leak"), st.sampled_from(["authorization", "api-key", "cookie", "x-api-key"]))
def test_save_refuses_a_sensitive_header_and_writes_nothing(
    tmp_path: Path, cassette: Cassette, header: str
) -> None:
    request = RecordedRequest("POST", "/v1/chat/completions", {header: "s3cr3t-value-1234"}, body={"a": 1})
    leaky = Cassette("leak", (*cassette.interactions, Interaction(request, RecordedResponse(200))))
    target = tmp_path / "out" / "leak.json"
    with pytest.raises(CassetteError) as caught:
        save_cassette(leaky, target)
    assert caught.value.field == f"interactions[{len(cassette.interactions)}].request.headers.{header}"
    assert not target.exists()
    assert not target.parent.exists() or list(target.parent.iterdir()) == []
