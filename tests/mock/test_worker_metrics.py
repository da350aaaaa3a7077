"""A worker's metrics say whose they are: every sample carries ``worker``, and how many workers there are."""

from __future__ import annotations

import re

import pytest

from nim_mock.serve.metrics import Metrics, WorkerLabel

SAMPLE = re.compile(r"(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)")


def _samples(text: str) -> list[tuple[str, str, str]]:
    found = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = SAMPLE.fullmatch(line)
        assert match, line
        found.append((match["name"], match["labels"] or "", match["value"]))
    return found


def _busy(metrics: Metrics) -> Metrics:
    metrics.request_done("POST", "/v1/chat/completions", 200)
    metrics.matched()
    metrics.fault("rate_limit")
    metrics.observe_lag(0.003)
    return metrics


def test_every_sample_of_a_worker_is_labelled_with_its_index() -> None:
    samples = _samples(_busy(Metrics(WorkerLabel(2, 4))).render())
    assert samples
    # prometheus-client writes labels in name order
    assert all('worker="2"' in labels.split(",") for _, labels, _ in samples)
    assert ("nim_mock_workers", 'worker="2"', "4.0") in samples
    assert (
        "nim_mock_requests_total",
        'method="POST",route="/v1/chat/completions",status="200",worker="2"',
        "1.0",
    ) in samples
    assert ("nim_mock_replay_lag_seconds_bucket", 'le="0.005",worker="2"', "1.0") in samples
    assert ("nim_mock_faults_total", 'kind="rate_limit",worker="2"', "1.0") in samples


def test_a_single_process_renders_no_worker_label_and_no_worker_count() -> None:
    text = _busy(Metrics()).render()
    assert "worker" not in text
    labelled = _busy(Metrics(WorkerLabel(0, 1))).render()
    assert [(n, v) for n, _, v in _samples(text)] == [
        (n, v) for n, _, v in _samples(labelled) if n != "nim_mock_workers"
    ]


@pytest.mark.parametrize(
    ("index", "count", "message"),
    [(-1, 2, "index must be in 0..1"), (2, 2, "index must be in 0..1"), (0, 0, "count must be at least 1")],
)
def test_a_worker_label_outside_its_count_is_refused(index: int, count: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkerLabel(index, count)
