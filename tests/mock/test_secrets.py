"""What counts as a secret, where it is reported, and that placeholders pass."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import cassettes

from nim_mock.cassette import Cassette, CassetteError, Interaction, RecordedRequest, RecordedResponse
from nim_mock.cassettes.persist import cassette_to_dict, load_cassette, save_cassette
from nim_mock.cassettes.secrets import (
    KnownSecrets,
    find_secret,
    is_credential_field,
    is_credential_header,
    is_redacted,
    secret_in_text,
)

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
    # Key characters in ``after`` continue the key: "nvapi-0000" + "REDACTED" is a placeholder.
    assume("redacted" not in (body + after).lower())
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


# -- names that say credential ---------------------------------------------------------------------


NAMES = """
name                           header  field
authorization                  yes     yes
Proxy-Authorization            yes     yes
cookie                         yes     yes
set-cookie                     yes     yes
api-key                        yes     yes
X-API-Key                      yes     yes
x-auth-token                   yes     yes
X-Auth                         yes     yes
x-authorization                yes     yes
x-client-secret                yes     yes
x-amz-security-token           yes     yes
x-goog-api-key                 yes     yes
x-service-password             yes     yes
x-apikey                       yes     yes
api_key                        no      yes
nvidia_api_key                 no      yes
key                            no      yes
token                          no      yes
access_token                   no      yes
refresh_token                  no      yes
password                       no      yes
secret                         no      yes
client_secret                  no      yes
apiKey                         yes     yes
authToken                      no      yes
auth                           yes     yes
secret_name                    no      yes
db.password                    no      yes
www-authenticate               no      no
proxy-authenticate             no      no
content-type                   no      no
x-request-id                   no      no
x-ratelimit-remaining-tokens   no      no
accept                         no      no
nvcf-reqid                     no      no
max_tokens                     no      no
prompt_tokens                  no      no
key_id                         no      no
top_k                          no      no
model                          no      no
tokenizer                      no      no
monkey                         no      no
"""
"""Which names say credential: as a header (and as a member of any JSON, an answer's included), and
as a query parameter or request body field. A bare ``token`` is a logprobs token in an answer."""


@pytest.mark.parametrize(
    ("name", "header", "field"), [line.split() for line in NAMES.strip().splitlines()[1:]]
)
def test_which_names_say_credential(name: str, header: str, field: str) -> None:
    assert (is_credential_header(name), is_credential_field(name)) == (header == "yes", field == "yes")


def test_a_jwt_shaped_token_is_a_secret_anywhere() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    assert find_secret({"note": f"token={jwt}"}) == ("note", "JWT-shaped token")
    assert find_secret({"note": "eyJ is how base64 of a JSON object starts"}) is None


def test_a_credential_header_name_in_a_json_member_is_found() -> None:
    assert find_secret({"echo": {"x-auth-token": "abc"}}) == ("echo.x-auth-token", "x-auth-token header")
    assert find_secret({"logprobs": {"content": [{"token": "Hello"}]}}) is None


# -- known values in every encoding -------------------------------------------------------------------

ORIGIN = "sent in the x-api-key header"

_values = st.text(
    st.sampled_from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.~ :;&?"\\é€𝄞'),
    min_size=8,
    max_size=40,
).filter(lambda value: value != "REDACTED")  # the mask itself, which Hypothesis draws from the code
_context = st.text(st.sampled_from("<>()[]{},|!*\n\t"), max_size=12)


def _some_percent_encoded(value: str, which: list[bool]) -> str:
    return "".join(quote(ch, safe="") if encode else ch for ch, encode in zip(value, which, strict=False))


def _encodings(value: str) -> dict[str, str]:
    data = value.encode()
    b64, url64 = base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()
    return {
        "raw": value,
        "quote": quote(value, safe=""),
        "quote-lower-hex": re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(value, safe="")),
        "quote-keep-slash": quote(value),
        "quote-plus": quote_plus(value),
        "json": json.dumps(value)[1:-1],
        "json-utf8": json.dumps(value, ensure_ascii=False)[1:-1],
        "json-escaped-slash": json.dumps(value)[1:-1].replace("/", "\\/"),
        "json-every-char": "".join(f"\\u{ord(c):04x}" for c in value if ord(c) < 0x10000),
        "base64": b64,
        "base64-unpadded": b64.rstrip("="),
        "base64-urlsafe": url64,
        "base64-urlsafe-unpadded": url64.rstrip("="),
        "base64-after-a-user": base64.b64encode(b"user:" + data).decode(),
        "base64-after-two-bytes": base64.b64encode(b"u:" + data).decode(),
        "base64-after-three-bytes": base64.urlsafe_b64encode(b"us:" + data).decode(),
    }


@given(_values, st.sampled_from(sorted(_encodings("x"))), _context, _context)
def test_a_known_value_is_found_and_replaced_in_every_encoding(
    value: str, encoding: str, before: str, after: str
) -> None:
    assume(encoding != "json-every-char" or all(ord(c) < 0x10000 for c in value))
    known = KnownSecrets({value: ORIGIN})
    text = before + _encodings(value)[encoding] + after
    assert known.find(text) == ORIGIN
    replaced = known.replace(text, "REDACTED")
    assert "REDACTED" in replaced
    assert known.find(replaced) is None
    assert replaced.startswith(before) or encoding.startswith("base64-after")
    assert value not in replaced


@given(_values, st.lists(st.booleans(), min_size=40, max_size=40), _context)
def test_a_value_only_partly_percent_encoded_is_found(value: str, which: list[bool], after: str) -> None:
    known = KnownSecrets({value: ORIGIN})
    assert known.replace(_some_percent_encoded(value, which) + after, "*") == "*" + after


@given(_values, _context)
def test_text_without_a_known_value_is_left_as_it_is(value: str, text: str) -> None:
    assert KnownSecrets({value: ORIGIN}).replace(text, "REDACTED") == text


def test_overlapping_values_are_replaced_as_one_stretch() -> None:
    known = KnownSecrets({"abcdefgh12": "a", "gh12345678": "b"})
    assert known.replace("xx abcdefgh12345678 yy", "*") == "xx * yy"


def test_the_final_check_names_where_a_known_value_survived(tmp_path: Path) -> None:
    known = KnownSecrets({"opaque-local-key-77": ORIGIN})
    echo = RecordedResponse(200, body=b'{"echo":"b3BhcXVlLWxvY2FsLWtleS03Nw=="}')  # base64 of the key
    cassette = Cassette("leak", (Interaction(RecordedRequest("GET", "/v1/models"), echo),))
    assert find_secret(cassette_to_dict(cassette), known=known) == (
        "interactions[0].response.json.echo",
        f"a credential {ORIGIN}",
    )
    with pytest.raises(CassetteError) as caught:
        save_cassette(cassette, tmp_path / "leak.json", known=known)
    assert caught.value.field == "interactions[0].response.json.echo"
    assert ORIGIN in caught.value.problem
    assert "nothing was written" in caught.value.problem
    assert "opaque-local-key-77" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    save_cassette(cassette, tmp_path / "fine.json")  # without the value known, nothing marks it
