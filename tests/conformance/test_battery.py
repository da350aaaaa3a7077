"""The battery as pytest tests, one per case, against the two servers the environment names.

    NIM_CONFORMANCE_A=http://127.0.0.1:18100/v1 NIM_CONFORMANCE_B=http://127.0.0.1:8000/v1 \\
        pytest tests/conformance/test_battery.py

(``NIM_CONFORMANCE_MODEL`` names the model both serve; default ``meta/llama-3.1-8b-instruct``.)

Without both variables the run shows one skipped test that says so (not 200 skips that bury the
real ones): the battery needs two running servers and never reaches for the internet.
``python -m tests.conformance`` runs the same cases with one report and an agreement threshold.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from .cases import DEFAULT_MODEL, Case, cases
from .compare import compare
from .run import observed

A_URL = os.environ.get("NIM_CONFORMANCE_A", "")
B_URL = os.environ.get("NIM_CONFORMANCE_B", "")
MODEL = os.environ.get("NIM_CONFORMANCE_MODEL", DEFAULT_MODEL)

_UNCONFIGURED = (
    "the differential battery needs two servers: set NIM_CONFORMANCE_A and NIM_CONFORMANCE_B to "
    "their base URLs (e.g. vLLM's and the mock's .../v1)"
)
_CASES = (
    [pytest.param(case, id=case.name) for case in cases(MODEL)]
    if A_URL and B_URL
    else [pytest.param(None, id="two-servers-needed", marks=pytest.mark.skip(reason=_UNCONFIGURED))]
)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=120.0) as http:
        yield http


@pytest.mark.parametrize("case", _CASES)
def test_both_servers_answer_alike(case: Case, client: httpx.Client) -> None:
    outcome = compare(case.name, observed(client, A_URL, case)[1], observed(client, B_URL, case)[1])
    assert outcome.agrees, "\n".join(str(found) for found in outcome.disagreements)
