"""Redaction: generated keys in headers, URLs, bodies and events never reach disk; the rest is kept."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from nim_mock.cassette import Cassette, Event, Interaction, RecordedRequest, RecordedResponse
from nim_mock.cassettes.encode import cassette_to_dict
from nim_mock.cassettes.persist import load_cassette, save_cassette
from nim_mock.cassettes.secrets import find_secret
from nim_mock.record.proxy import recorded_request
from nim_mock.record.redact import LISTED, MASK, Redactor, recorded_credentials, redact_recording

KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwyz0123456789_-"
nvapi_keys = st.text(KEY_CHARS, min_size=12, max_size=40).map(lambda s: "nvapi-" + s)
openai_keys = st.text(KEY_CHARS, min_size=24, max_size=40).map(lambda s: "sk-proj-" + s)
bearer_tokens = st.tuples(st.text("abcdef", min_size=6, max_size=12), st.integers(10**6, 10**9)).map(
    lambda t: f"{t[0]}{t[1]}"
)
user_values = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=4, max_size=16
).map(lambda s: "private-" + s)


def exchange(key: str, token: str, value: str) -> Cassette:
    request = RecordedRequest(
        method="POST",
        path=f"/v1/chat/completions?api_key={key}&keep=yes",
        headers={
            "authorization": f"Bearer {token}",
            "x-note": f"uses {key}",
            "content-type": "application/json",
        },
        body={
            "model": "org/m",
            "messages": [{"role": "user", "content": f"my key {key} and {value} please"}],
            "api_key": "plain-looking",
            key: "a key as a key",
        },
    )
    events = (
        Event(
            1.0, b"data: " + json.dumps({"echo": key, "v": value, "t": f"Bearer {token}"}).encode() + b"\n\n"
        ),
        Event(2.5, b"data: [DONE]\n\n"),
    )
    streamed = RecordedResponse(
        status=200,
        headers=(("content-type", "text/event-stream"), ("set-cookie", f"s={token}"), ("x-echo", key)),
        events=events,
    )
    plain = RecordedResponse(status=200, body=f'{{"value":"{value}","key":"{key}"}}'.encode())
    return Cassette(
        name="redact/case",
        interactions=(Interaction(request, streamed), Interaction(request, plain)),
        description=f"recorded with {key}",
    )


@settings(max_examples=60)
@given(key=st.one_of(nvapi_keys, openai_keys), token=bearer_tokens, value=user_values)
def test_no_generated_secret_survives_redaction(key: str, token: str, value: str, tmp_path_factory) -> None:
    redacted = Redactor.listing((value,)).cassette(exchange(key, token, value))
    document = cassette_to_dict(redacted)
    assert find_secret(document) is None
    path = Path(tmp_path_factory.mktemp("r")) / "case.json"
    save_cassette(redacted, path)
    text = path.read_text("utf-8")
    for secret in (key, token, value, json.dumps(value)[1:-1]):
        assert secret not in text
    assert MASK in text


def test_what_is_not_secret_is_kept() -> None:
    key, value = "nvapi-" + "a1" * 10, "private-thing"
    redacted = Redactor.listing((value,)).cassette(exchange(key, "abc123456789", value))
    request = redacted.interactions[0].request
    assert request.path == f"/v1/chat/completions?api_key={MASK}&keep=yes"
    assert request.headers == {
        "authorization": MASK,
        "x-note": f"uses {MASK}",
        "content-type": "application/json",
    }
    assert request.body == {
        "model": "org/m",
        "messages": [{"role": "user", "content": f"my key {MASK} and {MASK} please"}],
        "api_key": MASK,
        MASK: "a key as a key",
    }
    events = redacted.interactions[0].response.events
    assert events is not None
    assert json.loads(events[0].raw.removeprefix(b"data: ")) == {
        "echo": MASK,
        "v": MASK,
        "t": f"Bearer {MASK}",
    }
    assert events[1] == Event(2.5, b"data: [DONE]\n\n")
    assert redacted.interactions[0].response.headers[1] == ("set-cookie", MASK)
    assert redacted.description == f"recorded with {MASK}"


def test_placeholders_and_prose_are_left_alone() -> None:
    redactor = Redactor()
    for text in ("nvapi-REDACTED", "use a Bearer token here", "Bearer $NVIDIA_API_KEY", "sk-short"):
        assert redactor.text(text) == text


@given(st.binary(max_size=200), nvapi_keys)
def test_bytes_that_are_not_utf8_round_trip(data: bytes, key: str) -> None:
    redactor = Redactor()
    assert (
        redactor.data(data + b"\xff" + key.encode() + b"\xfe" + data)
        == data + b"\xff" + MASK.encode() + b"\xfe" + data
    )


def test_a_redacted_recording_loads_back(tmp_path: Path) -> None:
    cassette = Redactor.listing(("private-x",)).cassette(
        exchange("nvapi-" + "b2" * 10, "tok123456789", "private-x")
    )
    save_cassette(cassette, tmp_path / "redact" / "case.json")
    loaded = load_cassette(tmp_path / "redact" / "case.json", root=tmp_path)
    assert loaded.interactions == cassette.interactions


def test_a_query_keeps_its_encoding() -> None:
    redactor = Redactor()
    assert redactor.path("/v1/x?q=a%20b+c&api_key=abc&empty&token=t%2F") == (
        f"/v1/x?q=a%20b+c&api_key={MASK}&empty&token={MASK}"
    )
    assert redactor.path("/v1/models") == "/v1/models"


def test_the_credentials_an_exchange_carries_are_collected_with_where_they_were() -> None:
    basic = base64.b64encode(b"service-account:basic-password-42").decode()
    request = RecordedRequest(
        method="POST",
        path="/v1/x?api_key=local-query-secret&q=1&token=short&nvidia_api_key=a%2Fb%2Bc%3D%3Dxyz",
        headers={
            "authorization": "Bearer local-secret-123456",
            "proxy-authorization": f"Basic {basic}",
            "x-auth-token": "opaque-auth-token-1",
            "cookie": "session=cookie-value-0987; lang=en; s=REDACTED",
            "x-other": "not-a-secret-at-all",
        },
        body={"model": "m", "auth": {"client_secret": "body-secret-value"}, "messages": []},
    )
    response = RecordedResponse(
        200,
        headers=(("set-cookie", "sid=server-session-77; Path=/; HttpOnly"),),
        body=b'{"cookie":"handed-out-cookie-1","token":"logprob-token-x"}',
    )
    found = recorded_credentials([Interaction(request, response)])
    assert found == {
        "Bearer local-secret-123456": "sent in the authorization header",
        "local-secret-123456": "sent in the authorization header",
        f"Basic {basic}": "sent in the proxy-authorization header",
        basic: "sent in the proxy-authorization header",
        "service-account:basic-password-42": "sent in the proxy-authorization header",
        "service-account": "sent in the proxy-authorization header",
        "basic-password-42": "sent in the proxy-authorization header",
        "opaque-auth-token-1": "sent in the x-auth-token header",
        "session=cookie-value-0987; lang=en; s=REDACTED": "sent in the cookie header",
        "session=cookie-value-0987": "sent in the cookie header",
        "cookie-value-0987": "sent in the cookie header",
        "local-query-secret": "sent as query parameter api_key",
        "a/b+c==xyz": "sent as query parameter nvidia_api_key",
        "body-secret-value": "sent in request body field auth.client_secret",
        "sid=server-session-77": "handed out in the set-cookie response header",
        "server-session-77": "handed out in the set-cookie response header",
        "handed-out-cookie-1": "handed out in answer field cookie",
    }


def test_an_echoed_credential_is_replaced_in_the_answer_and_the_rest_kept() -> None:
    request = RecordedRequest("GET", "/v1/x", headers={"x-api-key": "local-key-123456"})
    echo = b'{"echo":"local-key-123456","cookie":"abc","lang":"en"}'
    recording = redact_recording(Cassette("c", (Interaction(request, RecordedResponse(200, body=echo)),)))
    [interaction] = recording.cassette.interactions
    assert interaction.request.headers == {"x-api-key": MASK}
    # the short cookie value is not looked for elsewhere, but the member named cookie is masked
    assert interaction.response.body == b'{"echo":"REDACTED","cookie":"REDACTED","lang":"en"}'


def test_a_credential_member_is_masked_in_place_and_every_other_byte_kept() -> None:
    body = b'{ "a" : 1,\n  "set-cookie" :  "id=1",  "pairs": [["x-api-key", "k"], ["x", "y"]] }'
    assert Redactor().data(body) == (
        b'{ "a" : 1,\n  "set-cookie" :  "REDACTED",  "pairs": [["x-api-key", "REDACTED"], ["x", "y"]] }'
    )
    assert Redactor().data(b'{"token":"Hello","max_tokens":3}') == b'{"token":"Hello","max_tokens":3}'


def test_listed_values_and_placeholders() -> None:
    recording = redact_recording(
        Cassette(
            "c",
            (
                Interaction(
                    RecordedRequest(
                        "POST", "/v1/x", {"authorization": "Bearer $NVIDIA_API_KEY"}, body={"q": "hush"}
                    ),
                    RecordedResponse(200, body=b"hush ACTED"),
                ),
            ),
        ),
        listed=("hush", "ACTED", " "),
    )
    [interaction] = recording.cassette.interactions
    assert interaction.request.body == {"q": MASK}
    # "ACTED" is part of the mask itself and a blank value is nothing: neither is looked for
    assert interaction.response.body == b"REDACTED ACTED"
    assert recording.known.find("say hush") == LISTED


def test_a_header_sent_twice_keeps_both_values_and_both_are_credentials() -> None:
    sent = [
        ("X-Api-Key", "first-key-123456"),
        ("x-api-key", "second-key-7890"),
        ("cookie", "a=cookie-one-1234"),
        ("cookie", "b=cookie-two-5678"),
    ]
    request = recorded_request("GET", "/v1/x", sent, b"")
    assert request.headers == {
        "x-api-key": "first-key-123456, second-key-7890",
        "cookie": "a=cookie-one-1234; b=cookie-two-5678",
    }
    found = recorded_credentials([Interaction(request, RecordedResponse(200))])
    assert {"first-key-123456", "second-key-7890", "cookie-one-1234", "cookie-two-5678"} <= set(found)


def test_a_form_body_has_its_credential_fields_masked() -> None:
    request = RecordedRequest(
        "POST",
        "/oauth/token",
        {"content-type": "application/x-www-form-urlencoded"},
        raw_body=b"grant_type=password&username=bob&password=pw&client_secret=form-client-secret%2B1",
    )
    answer = RecordedResponse(200, body=b'{"seen":"form-client-secret+1"}')
    recording = redact_recording(Cassette("c", (Interaction(request, answer),)))
    [interaction] = recording.cassette.interactions
    assert (
        interaction.request.raw_body
        == b"grant_type=password&username=bob&password=REDACTED&client_secret=REDACTED"
    )
    assert interaction.response.body == b'{"seen":"REDACTED"}'
