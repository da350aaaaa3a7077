"""The process, platform and GC families a NIM's ``/metrics`` shows, built only when scraped."""

from __future__ import annotations

import re

import pytest

from nim_mock.serve.metrics import NIM1_NAMES, Metrics

FAMILY = re.compile(r"^# TYPE (\S+) ", re.MULTILINE)
DEFAULT_FAMILIES = (
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "python_info",
    "python_gc_objects_collected_total",
    "num_requests_running",  # the engine's own come last
)


@pytest.mark.parametrize("mock", [True, False], ids=["mock-registry", "server-registry"])
def test_every_scrape_shows_the_default_families_in_prometheus_client_order(mock: bool) -> None:
    metrics = Metrics(engine=NIM1_NAMES)
    scrapes = [FAMILY.findall(metrics.render(mock=mock)) for _ in range(2)]
    for families in scrapes:
        positions = [families.index(name) for name in DEFAULT_FAMILIES]
        assert positions == sorted(positions), families
    assert scrapes[0] == scrapes[1]


def test_an_app_without_engine_metrics_has_no_default_families() -> None:
    families = FAMILY.findall(Metrics().render())
    assert not set(DEFAULT_FAMILIES) & set(families)
