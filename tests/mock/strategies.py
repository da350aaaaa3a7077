"""Hypothesis strategies for cassettes and JSON bodies, shared by the tests of nim_mock's data layer.

The cassettes drawn here are exactly the ones format v1 can hold: UTF-8 events and request bodies,
Latin-1 header values, no response header the server computes, no secrets. Everything else about
them is free: arbitrary JSON, bodies that are and are not compact JSON, binary bodies, raw events
that look almost like ``data:`` lines, and irregular timings.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from nim_mock.cassette import Cassette, Event, Interaction, RecordedRequest, RecordedResponse, compact_json
from nim_mock.cassettes.encode import cassette_to_dict
from nim_mock.cassettes.secrets import find_secret, is_credential_header
from nim_mock.wire.http import COMPUTED_HEADERS

__all__ = [
    "cassettes",
    "json_objects",
    "json_values",
    "redump",
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)

json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

json_objects: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
    st.text(max_size=8), json_values, max_size=6
)


@st.composite
def redump(draw: st.DrawFn, value: Any) -> str:
    """``value`` as JSON text with its keys shuffled and random indentation and separators."""

    def shuffle(item: Any) -> Any:
        if isinstance(item, dict):
            keys = draw(st.permutations(list(item)))
            return {key: shuffle(item[key]) for key in keys}
        if isinstance(item, list):
            return [shuffle(sub) for sub in item]
        return item

    indent = draw(st.none() | st.integers(min_value=0, max_value=4) | st.sampled_from(["\t", " \n "]))
    item_sep = draw(st.sampled_from([",", ", ", " ,\n", ",\t"]))
    key_sep = draw(st.sampled_from([":", ": ", " : ", ":\n"]))
    ascii_only = draw(st.booleans())
    return json.dumps(shuffle(value), indent=indent, separators=(item_sep, key_sep), ensure_ascii=ascii_only)


_header_names = st.from_regex(r"[a-z][a-z0-9-]{0,14}", fullmatch=True)
_header_values = st.text(
    st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=20
)
_names = st.lists(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True), min_size=1, max_size=3).map(
    "/".join
)
_ignore_paths = st.lists(st.from_regex(r"[a-z*0-9_]{1,6}", fullmatch=True), min_size=1, max_size=3).map(
    ".".join
)
_millis = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def requests(draw: st.DrawFn) -> RecordedRequest:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
    path = "/" + draw(st.from_regex(r"[a-z0-9/._~?=&-]{0,30}", fullmatch=True))
    headers = draw(
        st.dictionaries(
            _header_names.filter(lambda n: not is_credential_header(n)), _header_values, max_size=3
        )
    )
    kind = draw(st.sampled_from(["none", "json", "text"]))
    if kind == "json":
        return RecordedRequest(method, path, headers, body=draw(json_values.filter(lambda v: v is not None)))
    if kind == "text":
        return RecordedRequest(method, path, headers, raw_body=draw(st.text(min_size=1)).encode())
    return RecordedRequest(method, path, headers)


def _json_bytes(value: Any, pretty: bool) -> bytes:
    return json.dumps(value, indent=1).encode() if pretty else compact_json(value)


_bodies = st.one_of(
    st.just(b""),
    st.builds(_json_bytes, json_values, st.booleans()),  # compact JSON, and JSON that is not compact
    st.text(min_size=1).map(str.encode),
    st.binary(min_size=1),
)

_event_raw = st.one_of(
    json_values.map(lambda v: b"data: " + compact_json(v) + b"\n\n"),
    json_values.map(lambda v: b"data: " + json.dumps(v).encode() + b"\n\n"),
    st.just(b"data: [DONE]\n\n"),
    st.text(min_size=1).map(str.encode),
    st.text(min_size=1).map(lambda t: ("data: " + t + "\n\n").encode()),
)


@st.composite
def responses(draw: st.DrawFn) -> RecordedResponse:
    status = draw(st.integers(min_value=200, max_value=599))
    names = _header_names | _header_names.map(str.title)
    headers = draw(
        st.lists(
            st.tuples(
                names.filter(lambda n: n.lower() not in COMPUTED_HEADERS and not is_credential_header(n)),
                _header_values,
            ),
            max_size=4,
        )
    )
    t_headers = draw(_millis)
    if draw(st.booleans()):
        times = sorted(draw(st.lists(_millis, max_size=6)))
        events = tuple(Event(t, draw(_event_raw)) for t in times)
        return RecordedResponse(status, tuple(headers), b"", events, t_headers)
    return RecordedResponse(status, tuple(headers), draw(_bodies), None, t_headers)


@st.composite
def cassettes(draw: st.DrawFn, name: str | None = None) -> Cassette:
    """A cassette format v1 can hold, without secrets."""
    interactions = tuple(
        Interaction(draw(requests()), draw(responses())) for _ in range(draw(st.integers(1, 3)))
    )
    cassette = Cassette(
        name=name if name is not None else draw(_names),
        interactions=interactions,
        description=draw(st.text(max_size=40)),
        ignore=tuple(draw(st.lists(_ignore_paths, max_size=3))),
    )
    # A secret needs e.g. "nvapi-" and 8 more key characters in a row; drawing one is all but impossible,
    # but a test that relied on "all but" would be flaky, so such a draw is discarded.
    assume(find_secret(cassette_to_dict(cassette)) is None)
    return cassette
