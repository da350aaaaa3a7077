"""202 polling bounds and URLs, tested without any HTTP (the transport tests cover the loop)."""

from __future__ import annotations

import pytest
from nim_harness._errors import APIConnectionError, APITimeoutError
from nim_harness._polling import PollDeadline, polling_url


def test_polling_url_joins_with_exactly_one_slash() -> None:
    assert polling_url("https://api.nvcf.nvidia.com/v2/nvcf/pexec/status/", "r1") == (
        "https://api.nvcf.nvidia.com/v2/nvcf/pexec/status/r1"
    )
    assert polling_url("http://127.0.0.1:9/status", "r1") == "http://127.0.0.1:9/status/r1"


def test_polling_url_quotes_hostile_ids() -> None:
    assert (
        polling_url("http://127.0.0.1:9/s/", "../../admin?x=1")
        == "http://127.0.0.1:9/s/..%2F..%2Fadmin%3Fx%3D1"
    )


def test_next_delay_is_the_interval_while_time_remains() -> None:
    deadline = PollDeadline("r1", started=100.0, timeout=1.0)
    assert deadline.next_delay(100.0, 0.25) == 0.25
    assert deadline.next_delay(100.75, 0.25) == 0.25


def test_past_the_timeout_raises_naming_the_request_id() -> None:
    deadline = PollDeadline("req-42", started=100.0, timeout=1.0)
    with pytest.raises(APITimeoutError, match="req-42") as info:
        deadline.next_delay(100.9, 0.25)
    error = info.value
    assert error.request_id == "req-42"
    assert error.status == 202
    assert "timeout=1s" in str(error)
    assert isinstance(error, APIConnectionError)
    assert isinstance(error, TimeoutError)  # what the published client raises here


def test_no_timeout_polls_for_as_long_as_it_takes() -> None:
    deadline = PollDeadline("r1", started=0.0, timeout=None)
    assert deadline.next_delay(1e9, 0.05) == 0.05
