"""No credential a client sent reaches a cassette, whatever it looks like, wherever it was put, however
the server repeats it.

Generated credentials of six shapes (nvapi-, sk-, opaque alphanumeric, base64 with ``+/=``, JWT-like,
and passwords with quotes, backslashes and spaces) are placed everywhere a client puts one: credential
headers (raw, ``Bearer``, ``Token``, either half of Basic), cookies, query parameters (``+`` and
``%20`` encoded), JSON body fields, and values listed to be redacted. Each batch travels streamed and
not through the recording proxy to a real upstream on a socket (``echo_upstream``) that repeats every
string it received in every encoding; the files written must not hold one of them in any encoding.
Many credentials share one exchange and one server serves them all, so the battery stays quick.

The same requests recorded by the pytest plugin's record mode give the same cassette: one code path.
"""

from __future__ import annotations

import base64
import json
import queue
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from echo_upstream import echo_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plugin_runs import run

from nim_mock import serve_in_thread
from nim_mock.cassette import Interaction
from nim_mock.cassettes.persist import load_cassette
from nim_mock.cassettes.secrets import is_redacted
from nim_mock.plugin.options import OPTIONS, REDACT_FLAG
from nim_mock.record.proxy import create_recording_app
from nim_mock.record.writer import CassetteWriter

BATCHES = 24
BATCH_SIZE = 44
"""24 batches of at least 44 credentials: more than 1,000 generated credentials in all."""

# -- credentials of several shapes ------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits
_URL64 = _ALNUM + "-_"
_B64 = _ALNUM + "+/"
_PASSWORD = _ALNUM + " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def _real(credential: str) -> bool:
    """A credential, not a placeholder, and not a word the file holds anyway: Hypothesis also draws
    strings found in the code under test (``nim-harness.cassette``, ``text/event-stream``), and real
    keys mix digits with both cases."""
    kinds = (str.isdigit, str.isupper, str.islower)
    mixed = all(any(test(char) for char in credential) for test in kinds)
    return mixed and "redacted" not in credential.lower() and not is_redacted(credential)


nvapi = st.text(_URL64, min_size=16, max_size=40).map(lambda body: "nvapi-" + body)
openai_key = st.text(_URL64, min_size=24, max_size=40).map(lambda body: "sk-proj-" + body)
opaque = st.text(_ALNUM, min_size=16, max_size=48)
base64ish = st.builds(
    lambda head, sign, tail, pad: head + sign + tail + pad,
    st.text(_B64, min_size=8, max_size=24),
    st.sampled_from("+/"),
    st.text(_B64, min_size=8, max_size=24),
    st.sampled_from(["", "=", "=="]),
)
jwt_like = st.builds(
    lambda header, payload, signature: f"eyJ{header}.eyJ{payload}.{signature}",
    st.text(_URL64, min_size=10, max_size=30),
    st.text(_URL64, min_size=10, max_size=60),
    st.text(_URL64, min_size=16, max_size=43),
)
password = st.text(_PASSWORD, min_size=16, max_size=32).map(str.strip).filter(lambda text: len(text) >= 16)

header_safe = st.one_of(nvapi, openai_key, opaque, base64ish, jwt_like).filter(_real)
"""Shapes a cookie or the user half of Basic credentials can hold (no ``;``, ``:``, quotes or spaces)."""
any_shape = st.one_of(header_safe, password.filter(_real))

# -- where a client puts them ----------------------------------------------------------------------

CREDENTIAL_HEADERS = (
    "authorization",
    "proxy-authorization",
    "api-key",
    "x-api-key",
    "x-auth-token",
    "x-goog-api-key",
    "x-service-secret",
    "x-upstream-auth",
    "x-custom-token",
    "x-authorization",
)
QUERY_NAMES = (
    "api_key",
    "nvidia_api_key",
    "key",
    "token",
    "access_token",
    "password",
    "secret",
    "client_secret",
)
BODY_NAMES = (
    "api_key",
    "password",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "apiKey",
    "nvidia_api_key",
)
QUERY_STYLES = {
    "plus": quote_plus,  # a space as +, as HTML forms and httpx send it
    "percent": lambda text: quote(text, safe=""),  # a space as %20
    "slash-kept": quote,  # "/" left as it is
}

ANY_PLACEMENTS = (
    *(("header", name, scheme) for name in CREDENTIAL_HEADERS for scheme in ("", "Bearer ", "Token ")),
    *(("basic password", name, "") for name in ("authorization", "proxy-authorization", "x-upstream-auth")),
    *(("query", name, style) for name in QUERY_NAMES for style in QUERY_STYLES),
    *(("body", name, depth) for name in BODY_NAMES for depth in ("list", "nested")),
    ("listed", "x-note", ""),
)
"""(kind, name, detail) of every place a credential of any shape goes."""
TOKEN_PLACEMENTS = (
    ("cookie", "c", ""),
    *(("basic user", name, "") for name in ("authorization", "proxy-authorization", "x-upstream-auth")),
)
"""Places only credentials without ``;``, ``:``, quotes or spaces go."""


@dataclass(frozen=True)
class Placed:
    credential: str
    kind: str
    name: str
    detail: str


placed = st.one_of(
    st.builds(
        lambda credential, place: Placed(credential, *place), any_shape, st.sampled_from(ANY_PLACEMENTS)
    ),
    st.builds(
        lambda credential, place: Placed(credential, *place), header_safe, st.sampled_from(TOKEN_PLACEMENTS)
    ),
)


@dataclass
class Exchange:
    """The requests one batch makes: the same credentials, once streamed and once not."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    query: list[str] = field(default_factory=list)
    cookies: list[str] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    nested: dict[str, Any] = field(default_factory=dict)
    listed: list[str] = field(default_factory=list)

    def put(self, index: int, item: Placed) -> None:
        value, name = item.credential, item.name
        if item.kind == "header":
            self.headers.append((name, item.detail + value))
        elif item.kind == "basic password":
            self.headers.append((name, "Basic " + base64.b64encode(f"svc{index}:{value}".encode()).decode()))
        elif item.kind == "basic user":
            self.headers.append((name, "Basic " + base64.b64encode(f"{value}:pw{index}".encode()).decode()))
        elif item.kind == "cookie":
            self.cookies.append(f"{name}{index}={value}")
        elif item.kind == "query":
            self.query.append(f"{name}={QUERY_STYLES[item.detail](value)}")
        elif item.kind == "body" and item.detail == "list":
            self.services.append({"service": f"s{index}", name: value})
        elif item.kind == "body":
            self.nested[f"s{index}"] = {"auth": {name: value}}
        else:  # listed: in the conversation and in a header of no credential name
            self.listed.append(value)
            self.headers.append((f"{name}-{index}", value))

    def request(self, stream: bool) -> tuple[str, list[tuple[str, str]], bytes]:
        """(path and query, headers, body) of the request; ``stream`` asks for server-sent events."""
        content = "Hello" + "".join(f" and {value}" for value in self.listed)
        body = {
            "model": "echo/model",
            "messages": [{"role": "user", "content": content}],
            "stream": stream,
            "services": self.services,
            "config": self.nested,
        }
        headers = [*self.headers, ("content-type", "application/json")]
        if self.cookies:
            headers.append(("cookie", "; ".join(self.cookies)))
        query = "&".join(["trace=1", *self.query])
        return f"echo?{query}", headers, json.dumps(body).encode()


def exchange_of(batch: list[Placed]) -> Exchange:
    exchange = Exchange()
    for index, item in enumerate(batch):
        exchange.put(index, item)
    return exchange


# -- what must never be in a file ------------------------------------------------------------------


def leak_forms(credential: str) -> set[str]:
    """``credential`` in every encoding a server may repeat it in."""
    data = credential.encode()
    b64, url64 = base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()
    percent = {quote(credential, safe=""), quote(credential), quote_plus(credential)}
    return {
        credential,
        *percent,
        *(form.lower() for form in percent),  # lower-case hex (and letters: stricter still)
        json.dumps(credential)[1:-1],
        json.dumps(credential, ensure_ascii=False)[1:-1],
        json.dumps(credential)[1:-1].replace("/", "\\/"),
        b64,
        b64.rstrip("="),
        url64,
        url64.rstrip("="),
    }


def assert_no_leak(path: Path, credentials: list[str]) -> None:
    """Not one credential, in any encoding, in the file's text or in any string the file decodes to
    (the file writes a string JSON-escaped, and escaping a string escapes each part of it)."""
    text = path.read_text("utf-8")
    for credential in credentials:
        for form in leak_forms(credential):
            for written in {form, json.dumps(form, ensure_ascii=False)[1:-1]}:
                assert written not in text, f"{written!r} (from {credential!r}) reached {path.name}"


def assert_echoed(received: bytes, credentials: list[str]) -> None:
    """The upstream did repeat each credential: the battery tests something."""
    text = received.decode("utf-8")
    for credential in credentials:
        for form in (base64.b64encode(credential.encode()).decode(), quote_plus(credential)):
            assert form in text, f"the upstream never echoed {credential!r}"


# -- nim-mock record -------------------------------------------------------------------------------


@dataclass
class Recorder:
    """``nim-mock record``'s writer behind the recording proxy, in front of the echo upstream."""

    url: str
    writer: CassetteWriter
    lines: queue.Queue[str]

    def record(self, client: httpx.Client, exchange: Exchange, stream: bool) -> tuple[bytes, Path]:
        """Send one request through the proxy; (what the client received, the cassette written)."""
        target, headers, body = exchange.request(stream)
        with client.stream("POST", f"{self.url}/v1/{target}", headers=headers, content=body) as response:
            received = response.read()
        assert response.status_code == 200, received[:500]
        line = self.lines.get(timeout=60)
        assert ": wrote " in line, line  # redaction keeps every exchange
        return received, self.writer.written[-1]


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    with serve_in_thread(echo_app()) as url:
        yield url


@pytest.fixture(scope="module")
def recorder(echo: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorder]:
    lines: queue.Queue[str] = queue.Queue()
    writer = CassetteWriter(tmp_path_factory.mktemp("recorded"), echo, lines.put)
    with serve_in_thread(create_recording_app(echo, writer)) as url:
        yield Recorder(url, writer, lines)


@pytest.fixture(scope="module")
def tally() -> Iterator[set[str]]:
    """Every credential the battery generated: at least 1,000 distinct ones must have travelled."""
    generated: set[str] = set()
    yield generated
    assert len(generated) >= 1000, f"only {len(generated)} credentials were generated"


@settings(
    max_examples=BATCHES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.too_slow,
    ],
)
@given(
    batch=st.lists(
        placed, min_size=BATCH_SIZE, max_size=BATCH_SIZE + 12, unique_by=lambda item: item.credential
    )
)
def test_no_credential_reaches_a_cassette_in_any_encoding(
    recorder: Recorder, tally: set[str], batch: list[Placed]
) -> None:
    exchange = exchange_of(batch)
    credentials = [item.credential for item in batch]
    recorder.writer.redact = tuple(exchange.listed)
    with httpx.Client(timeout=60.0) as client:  # fresh: no cookie jar carried over from another batch
        for stream in (True, False):
            received, path = recorder.record(client, exchange, stream)
            assert_echoed(received, credentials)
            assert_no_leak(path, credentials)
            assert load_cassette(path, root=path.parent).interactions  # and the file still loads
    tally.update(credentials)


# -- the plugin's record mode: the same code, the same cassette ----------------------------------------


def _sample_batch() -> list[Placed]:
    """One credential in each placement, of each shape in turn (seeded: the same batch every run)."""
    rng = random.Random(13)
    shapes = [
        lambda: "nvapi-" + "".join(rng.choices(_URL64, k=32)),
        lambda: "sk-proj-" + "".join(rng.choices(_URL64, k=32)),
        lambda: "".join(rng.choices(_ALNUM, k=24)),
        lambda: "".join(rng.choices(_B64, k=22)) + "+/=",
        lambda: "eyJ" + "".join(rng.choices(_URL64, k=20)) + ".eyJ" + "".join(rng.choices(_URL64, k=30)),
    ]
    places = (*ANY_PLACEMENTS, *TOKEN_PLACEMENTS)
    batch = [Placed(shapes[index % len(shapes)](), *place) for index, place in enumerate(places)]
    return [*batch, Placed('pass "word" \\ 100% & more', "header", "x-api-key", "")]


def _flag(key: str) -> str:
    return next(option.flag for option in OPTIONS if option.key == key)


def _untimed(interaction: Interaction) -> Interaction:
    response = interaction.response
    events = tuple(replace(event, t_ms=0.0) for event in response.events) if response.events else None
    return replace(interaction, response=replace(response, t_headers_ms=0.0, events=events))


INNER_TEST = """
import json

REQUESTS = json.loads({requests!r})

def test_echo(nim_harness_http_client):
    for target, headers, body in REQUESTS:
        with nim_harness_http_client.stream("POST", target, headers=headers, content=body.encode()) as r:
            r.read()
        assert r.status_code == 200
"""


def test_the_plugin_record_mode_writes_what_nim_mock_record_writes(
    pytester: pytest.Pytester, recorder: Recorder, echo: str
) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    batch = _sample_batch()
    exchange = exchange_of(batch)
    credentials = [item.credential for item in batch]
    recorder.writer.redact = tuple(exchange.listed)
    with httpx.Client(timeout=60.0) as client:
        written = [recorder.record(client, exchange, stream)[1] for stream in (True, False)]
    requests = [
        (target, headers, body.decode()) for target, headers, body in map(exchange.request, (True, False))
    ]
    pytester.makepyfile(test_inner_echo=INNER_TEST.format(requests=json.dumps(requests)))
    redact = [arg for value in exchange.listed for arg in (REDACT_FLAG, value)]
    outcome = run(pytester, f"{_flag('endpoint')}={echo}/v1", *redact, mode="record")
    outcome.assert_outcomes(passed=1)
    [recorded] = (pytester.path / "cassettes").rglob("*.json")
    assert_no_leak(recorded, credentials)
    for path in written:
        assert_no_leak(path, credentials)
    by_plugin = load_cassette(recorded, root=pytester.path / "cassettes").interactions
    by_cli = tuple(load_cassette(path, root=path.parent).interactions[0] for path in written)
    assert [_untimed(i) for i in by_plugin] == [_untimed(i) for i in by_cli]
    assert "REDACTED" in recorded.read_text("utf-8")
