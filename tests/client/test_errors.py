"""HTTP error bodies and in-stream error events -> typed errors with messages that say what to do."""

from __future__ import annotations

import json
import pickle
from typing import Any

import nim_harness._errors as errors
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nim_harness._errors import error_from_event, error_from_response
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def _dump(error: errors.NVIDIAError) -> dict[str, Any]:
    return {
        "class": type(error).__name__,
        "status": error.status,
        "message": error.message,
        "request_id": error.request_id,
        "str": str(error),
    }


# Each body layout in /work/shared/nim-wire-facts.md (sections 2.5, 3.6, 3.7) and the real
# transformers-serve captures, with the status it came with.
RESPONSES: dict[str, tuple[int, dict[str, str], bytes]] = {
    "nim1_flat_404": (
        404,
        {"content-type": "application/json"},
        b'{"object":"error","message":"The model `foo/bar` does not exist.","type":"NotFoundError",'
        b'"param":null,"code":404}',
    ),
    "vllm_nested_400": (
        400,
        {"x-request-id": "req-77"},
        b'{"error":{"message":"\\"auto\\" tool choice requires --enable-auto-tool-choice and '
        b'--tool-call-parser to be set","type":"BadRequestError","param":null,"code":400}}',
    ),
    "gateway_403": (
        403,
        {"NVCF-REQID": "5e1b"},
        b'{"status":403,"title":"Forbidden","detail":"Authorization failed"}',
    ),
    "gateway_404_function": (
        404,
        {"nvcf-reqid": "a1", "nvcf-status": "errored"},
        b'{"status":404,"title":"Not Found","detail":"Function \'23d4f03a\': Not found for account \'Qaw\'"}',
    ),
    "gateway_429_title_only": (429, {}, b'{"status":429,"title":"Too Many Requests"}'),
    "gateway_with_request_id": (
        401,
        {},
        b'{"status":401,"title":"Unauthorized","detail":"Header of type `authorization` was missing",'
        b'"requestId":"d2360345-1860488"}',
    ),
    "spring_401": (
        401,
        {},
        b'{"timestamp":"2024-05-27T01:43:25.029+00:00","path":"/v2/nvcf/functions","status":401,'
        b'"error":"Unauthorized","requestId":"d2360345-1860488"}',
    ),
    "empty_401_www_authenticate": (
        401,
        {
            "WWW-Authenticate": 'Bearer error="invalid_token", '
            'error_description="Bearer token is malformed", '
            'error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"'
        },
        b"",
    ),
    "vllm_api_key_401": (401, {}, b'{"error":"Unauthorized"}'),
    "fastapi_detail_str_400": (
        400,
        {"x-request-id": "552ddbe0"},
        b"{\"detail\":\"Server is pinned to 'local/tiny-qwen2'; requested 'gpt-4o'.\"}",
    ),
    "fastapi_detail_list_422": (
        422,
        {},
        b'{"detail":[{"type":"json_invalid","loc":["body",40],"msg":"JSON decode error","input":{},'
        b'"ctx":{"error":"Expecting value"}}]}',
    ),
    "fastapi_unexpected_field_422": (422, {}, b'{"detail":"Unexpected fields in the request: {\'foo\'}"}'),
    "nim_single_error_field_400": (400, {}, b'{"error":"max_tokens must be at least 1"}'),
    "message_only_413": (413, {}, b'{"message":"Request Entity Too Large"}'),
    "nim1_415": (
        415,
        {},
        b'{"object":"error","message":"Unsupported media type: text/plain. It must be application/json",'
        b'"type":"BadRequestError","param":null,"code":415}',
    ),
    "plain_text_404_unknown_path": (404, {"content-type": "text/plain"}, b"404 page not found\n"),
    "fastapi_404_unknown_path": (404, {"x-request-id": "3cc4"}, b'{"detail":"Not Found"}'),
    "plain_text_500": (500, {"content-type": "text/plain; charset=utf-8"}, b"Internal Server Error"),
    "empty_500": (500, {}, b""),
    "empty_504_gateway": (504, {"Nvcf-Reqid": "f00d", "Nvcf-Status": "errored"}, b""),
    "nim_503_starting": (
        503,
        {},
        b'{"object":"error","message":"Service is starting","type":"ServiceUnavailableError",'
        b'"param":null,"code":503}',
    ),
    "gone_410": (410, {}, b""),
    "rate_limit_with_retry_after": (429, {"Retry-After": "7"}, b""),
    "html_502": (502, {"content-type": "text/html"}, b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "redirect_301": (301, {"location": "https://integrate.api.nvidia.com/v1/models"}, b""),
    "teapot_418": (418, {}, b""),
    "nim1_stream_429_sse_body": (
        429,
        {"content-type": "text/event-stream; charset=utf-8"},
        b'data: {"error": {"object": "error", "message": "LoRA cache is full", "type": "Too Many Requests", '
        b'"param": null, "code": 429}}\n\ndata: [DONE]\n\n',
    ),
}

EXPECTED_CLASS = {
    "nim1_flat_404": errors.NotFoundError,
    "vllm_nested_400": errors.BadRequestError,
    "gateway_403": errors.PermissionDeniedError,
    "gateway_404_function": errors.NotFoundError,
    "gateway_429_title_only": errors.RateLimitError,
    "gateway_with_request_id": errors.AuthenticationError,
    "spring_401": errors.AuthenticationError,
    "empty_401_www_authenticate": errors.AuthenticationError,
    "vllm_api_key_401": errors.AuthenticationError,
    "fastapi_detail_str_400": errors.BadRequestError,
    "fastapi_detail_list_422": errors.BadRequestError,
    "fastapi_unexpected_field_422": errors.BadRequestError,
    "nim_single_error_field_400": errors.BadRequestError,
    "message_only_413": errors.BadRequestError,
    "nim1_415": errors.BadRequestError,
    "plain_text_404_unknown_path": errors.NotFoundError,
    "fastapi_404_unknown_path": errors.NotFoundError,
    "plain_text_500": errors.ServerError,
    "empty_500": errors.ServerError,
    "empty_504_gateway": errors.ServerError,
    "nim_503_starting": errors.ServerError,
    "gone_410": errors.NotFoundError,
    "rate_limit_with_retry_after": errors.RateLimitError,
    "html_502": errors.ServerError,
    "redirect_301": errors.ResponseFormatError,
    "teapot_418": errors.BadRequestError,
    "nim1_stream_429_sse_body": errors.RateLimitError,
}


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_error_from_response_class(name: str) -> None:
    status, headers, body = RESPONSES[name]
    error = error_from_response(status, headers, body)
    assert type(error) is EXPECTED_CLASS[name]
    assert error.status == status
    assert isinstance(error, errors.NVIDIAError)


def test_error_from_response_messages(snapshot_json: SnapshotAssertion) -> None:
    dumped = {name: _dump(error_from_response(*RESPONSES[name])) for name in sorted(RESPONSES)}
    assert dumped == snapshot_json


def test_request_id_sources() -> None:
    assert error_from_response(500, {"NVCF-REQID": "n1", "x-request-id": "x1"}, b"").request_id == "n1"
    assert error_from_response(500, {"X-Request-Id": "x1"}, b"").request_id == "x1"
    body = b'{"status":401,"title":"Unauthorized","requestId":"b1"}'
    assert error_from_response(401, {}, body).request_id == "b1"
    assert error_from_response(500, {}, b"").request_id is None


def test_message_states_what_to_do_and_carries_facts() -> None:
    error = error_from_response(*RESPONSES["nim1_flat_404"])
    text = str(error)
    assert "404" in text
    assert "The model `foo/bar` does not exist." in text
    assert "get_available_models()" in text
    auth = str(error_from_response(*RESPONSES["empty_401_www_authenticate"]))
    assert "NVIDIA_API_KEY" in auth
    assert "api_key" in auth
    assert "Bearer token is malformed" in auth
    assert "retries" in str(error_from_response(429, {}, b""))


def test_a_mock_miss_says_the_recording_is_missing_not_the_model() -> None:
    message = "no recorded interaction matches POST /v1/chat/completions. Closest: chat/plain (...)"
    body = json.dumps({"object": "error", "message": message, "type": "NotFoundError", "code": 404})
    text = str(error_from_response(404, {"x-nim-mock-miss": "1"}, body.encode()))
    assert message in text
    assert "A mock NIM answered: it holds no recording for this request" in text
    assert "get_available_models" not in text


def test_rate_limit_retry_after_is_parsed() -> None:
    error = error_from_response(429, {"Retry-After": "2.5"}, b"")
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 2.5
    assert isinstance(
        limited := error_from_response(429, {"retry-after-ms": "1500"}, b""), errors.RateLimitError
    )
    assert limited.retry_after == 1.5
    assert isinstance(none := error_from_response(429, {"Retry-After": "soon"}, b""), errors.RateLimitError)
    assert none.retry_after is None


def test_body_is_kept_parsed() -> None:
    error = error_from_response(*RESPONSES["vllm_nested_400"])
    assert isinstance(error.body, dict)
    assert error.body["error"]["type"] == "BadRequestError"
    assert error_from_response(*RESPONSES["plain_text_500"]).body == "Internal Server Error"
    assert error_from_response(*RESPONSES["empty_500"]).body is None


def test_absurdly_deep_json_body_does_not_crash() -> None:
    error = error_from_response(500, {}, b"[" * 100_000 + b"]" * 100_000)
    assert type(error) is errors.ServerError
    assert len(error.message) <= 500


def test_long_bodies_are_clipped() -> None:
    error = error_from_response(500, {}, b"x" * 10_000)
    assert len(error.message) <= 500


def test_hierarchy() -> None:
    assert issubclass(errors.PermissionDeniedError, errors.AuthenticationError)
    assert issubclass(errors.APITimeoutError, errors.APIConnectionError)
    for cls in (
        errors.BadRequestError,
        errors.NotFoundError,
        errors.RateLimitError,
        errors.ServerError,
        errors.ResponseFormatError,
    ):
        assert issubclass(cls, errors.NVIDIAError)
        assert not issubclass(cls, errors.APIConnectionError)


def test_errors_pickle_round_trip() -> None:
    error = error_from_response(*RESPONSES["rate_limit_with_retry_after"])
    error.retries = 2
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is errors.RateLimitError
    assert str(clone) == str(error)
    assert clone.retry_after == 7.0


# --- in-stream error events ---------------------------------------------------------------

EVENTS: dict[str, object] = {
    "vllm_0_9_old_layout": {
        "error": {
            "object": "error",
            "message": "context too long",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
    },
    "vllm_0_10_nested": {
        "error": {"message": "engine died", "type": "InternalServerError", "param": None, "code": 500}
    },
    "nim_lora_429": {
        "error": {
            "object": "error",
            "message": "LoRA cache full",
            "type": "Too Many Requests",
            "param": None,
            "code": 429,
        }
    },
    "transformers_serve_string": {"error": "CUDA out of memory"},
    "flat_nim_body": {
        "object": "error",
        "message": "no such model",
        "type": "NotFoundError",
        "param": None,
        "code": 404,
    },
    "type_only_no_code": {"error": {"message": "nope", "type": "NotFoundError"}},
    "string_code": {"error": {"message": "busy", "code": "503"}},
}

EVENT_CLASS = {
    "vllm_0_9_old_layout": errors.BadRequestError,
    "vllm_0_10_nested": errors.ServerError,
    "nim_lora_429": errors.RateLimitError,
    "transformers_serve_string": errors.ServerError,
    "flat_nim_body": errors.NotFoundError,
    "type_only_no_code": errors.NotFoundError,
    "string_code": errors.ServerError,
}


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_error_from_event_layouts(name: str) -> None:
    error = error_from_event(EVENTS[name], request_id="r-1")
    assert error is not None
    assert type(error) is EVENT_CLASS[name]
    assert error.request_id == "r-1"
    assert "inside the stream" in str(error)


def test_error_from_event_messages(snapshot_json: SnapshotAssertion) -> None:
    dumped = {}
    for name in sorted(EVENTS):
        error = error_from_event(EVENTS[name])
        assert error is not None
        dumped[name] = _dump(error)
    assert dumped == snapshot_json


@pytest.mark.parametrize(
    "chunk",
    [
        {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "hi"}}]},
        {"id": "c", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}},
        {"error": None, "choices": []},
        {"object": "list", "data": []},
        [1, 2],
        "error",
        None,
    ],
)
def test_error_from_event_ignores_normal_chunks(chunk: object) -> None:
    assert error_from_event(chunk) is None


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150)
@given(
    status=st.integers(min_value=300, max_value=599),
    body=st.one_of(st.binary(max_size=200), _json_values.map(lambda value: json.dumps(value).encode())),
    headers=st.dictionaries(
        st.sampled_from(["retry-after", "www-authenticate", "x-request-id", "NVCF-REQID", "location"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
        max_size=3,
    ),
)
def test_error_from_response_never_raises(status: int, body: bytes, headers: dict[str, str]) -> None:
    error = error_from_response(status, headers, body)
    assert isinstance(error, errors.NVIDIAError)
    assert str(error)


@settings(max_examples=150)
@given(data=_json_values)
def test_error_from_event_never_raises(data: object) -> None:
    result = error_from_event(data)
    assert result is None or str(result)
