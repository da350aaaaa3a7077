"""The nim2 stand-in refuses the battery's bad requests in vLLM 0.32's words, and coerces as pydantic.

Every refusal of the battery is pinned byte for byte (a snapshot of status, ``type``, ``param`` and
message, measured equal to vLLM's with ``tools/conformance_vllm.py``), so a change of wording shows
up here before CI meets the live target. The lax scalar coercion is checked against pydantic itself
over generated inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from nim_mock import create_app, serve_in_thread
from nim_mock.synth.config import SynthConfig
from nim_mock.synth.pydantic_errors import FieldError, as_bool, as_float, as_int
from nim_mock.synth.rules import load_reply_rules

from .cases import DEFAULT_MODEL, cases
from .send import send

RULES = Path(__file__).resolve().parent / "stand_in_rules.json"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[str]:
    """The nim2 stand-in as CI runs it against the live target (its model, 2048 tokens, 1179 words)."""
    config = SynthConfig(
        rules=load_reply_rules(RULES), models=(DEFAULT_MODEL,), max_model_len=2048, vocab_size=1179
    )
    with serve_in_thread(create_app([], on_miss="synthesize", synth=config, identity="nim2")) as url:
        yield url + "/v1"


def test_every_refusal_of_the_battery_is_worded_as_vllm_words_it(stand_in: str, snapshot: Any) -> None:
    refusals: dict[str, Any] = {}
    with httpx.Client(timeout=60) as client:
        for case in cases():
            answer = send(client, stand_in, case)
            if answer.status >= 400:
                refusals[case.name] = {"status": answer.status, "body": json.loads(answer.body)}
    assert len(refusals) > 80
    assert refusals == snapshot


class _Fields(BaseModel):
    number: int | None = None
    ratio: float | None = None
    flag: bool | None = None


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["4", " 7 ", "2.5", "yes", "off", "hot", "", "1e3", "true", "N"]),
    st.text(max_size=4),
)


@given(value=_SCALARS)
def test_lax_coercion_is_pydantics(value: Any) -> None:
    for field, read in (("number", as_int), ("ratio", as_float), ("flag", as_bool)):
        if value is None:
            continue
        ours = read(value, ("body", field))
        try:
            theirs: Any = getattr(_Fields.model_validate({field: value}), field)
        except ValidationError as error:
            (detail,) = error.errors()
            assert isinstance(ours, FieldError), (field, value, ours)
            assert ours.type == detail["type"]
            assert ours.msg == detail["msg"]
        else:
            assert not isinstance(ours, FieldError), (field, value, ours)
            assert (type(ours), ours) == (type(theirs), theirs)
