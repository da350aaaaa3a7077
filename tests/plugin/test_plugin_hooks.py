"""``nim_config`` from a conftest: hooks, filters and matchers on what record modes write and replay."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from plugin_runs import run

from nim_mock.cassette import Interaction, RecordedRequest, RecordedResponse
from nim_mock.plugin.hooks import ConfigError, NimConfig, apply_recording_hooks, parse_nim_config


def exchange(path: str = "/v1/chat/completions?api-version=2&trace=1") -> Interaction:
    request = RecordedRequest(
        "POST",
        path,
        {"content-type": "application/json", "X-Request-Id": "abc"},
        {"model": "m", "user": "alice@example.com", "seed": 7},
    )
    response = RecordedResponse(200, (("content-type", "application/json"), ("x-request-id", "abc")), b"{}")
    return Interaction(request, response)


def test_filters_remove_or_replace_names_in_headers_query_and_body() -> None:
    config = parse_nim_config(
        {
            "filter_headers": ["x-request-id"],
            "filter_query_parameters": [("trace", "0")],
            "filter_post_data_parameters": ["user", ("seed", "SEED")],
        }
    )
    [written] = apply_recording_hooks([exchange()], config)
    assert written.request.headers == {"content-type": "application/json"}
    assert written.request.path == "/v1/chat/completions?api-version=2&trace=0"
    assert written.request.body == {"model": "m", "seed": "SEED"}
    assert written.response.headers == (("content-type", "application/json"),)


def test_hooks_see_the_filtered_exchange_and_may_drop_it() -> None:
    seen: list[str] = []

    def request_hook(request: RecordedRequest) -> RecordedRequest | None:
        seen.append(request.path)
        return None if "drop" in request.path else replace(request, headers={})

    def response_hook(response: RecordedResponse) -> RecordedResponse:
        return replace(response, body=b'{"scrubbed": true}')

    config = parse_nim_config(
        {
            "filter_query_parameters": ["trace"],
            "before_record_request": request_hook,
            "before_record_response": response_hook,
        }
    )
    written = apply_recording_hooks([exchange(), exchange("/v1/drop")], config)
    assert seen == ["/v1/chat/completions?api-version=2", "/v1/drop"]
    assert [w.request.path for w in written] == ["/v1/chat/completions?api-version=2"]
    assert written[0].request.headers == {}
    assert written[0].response.body == b'{"scrubbed": true}'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "must return a dict, got list"),
        ({"filter_header": []}, "unknown key(s) filter_header; it takes: record_mode,"),
        ({"filter_headers": "authorization"}, "must be a list of names"),
        ({"filter_headers": [("a", 1)]}, "give a name such as 'authorization'"),
        ({"before_record_request": "scrub"}, "must be a function, got str"),
        ({"match_on": ["headers"]}, "must be a list of functions matcher(recorded, sent) -> bool"),
        ({"record_mode": "twice"}, "nim_config['record_mode'] must be one of"),
        ({"allow_playback_repeats": 1}, "must be True or False"),
        ({"ignore": [3]}, "list of body paths"),
    ],
)
def test_a_bad_config_says_what_to_return(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_nim_config(value)
    assert message in str(caught.value)


def test_an_empty_config_changes_nothing() -> None:
    assert parse_nim_config({}) == NimConfig()
    assert not NimConfig().changes_recordings


CONFTEST = """
import pytest

def same_user(recorded, sent):
    return recorded.body.get("user") == sent.body.get("user")

def scrub(response):
    from dataclasses import replace
    return replace(response, headers=tuple(h for h in response.headers if h[0] != "set-cookie"))

@pytest.fixture
def nim_config():
    return {
        "record_mode": "once",
        "filter_post_data_parameters": [("user", "someone")],
        "before_record_response": scrub,
        "match_on": [same_user],
    }
"""

TEST = """
def test_ask(nim_harness_http_client):
    body = {"model": "up/model", "messages": [{"role": "user", "content": "hi"}], "user": %r}
    assert nim_harness_http_client.post("chat/completions", json=body).status_code == 200
"""


def test_nim_config_from_a_conftest_records_and_replays_through_its_hooks(
    pytester: pytest.Pytester, upstream: str
) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner_hooks=TEST % "alice")
    run(pytester, f"--nim-harness-endpoint={upstream}/v1").assert_outcomes(passed=1)  # once, from nim_config
    [interaction] = json.loads((pytester.path / "cassettes/test_inner_hooks/test_ask.json").read_text())[
        "interactions"
    ]
    assert interaction["request"]["json"]["user"] == "someone"
    assert all(name != "set-cookie" for name, _ in interaction["response"]["headers"])
    pytester.makepyfile(test_inner_hooks=TEST % "someone")
    run(pytester).assert_outcomes(passed=1)  # replayed: no endpoint given
    # The mock's own rule leaves "user" out (ignore); the extra matcher still tells bob from someone.
    pytester.makepyfile(test_inner_hooks=TEST % "bob")
    pytester.makeconftest(CONFTEST.replace('"match_on"', '"ignore": ["user"], "match_on"'))
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*an extra matcher (same_user) refused every such interaction*"])
