"""Histogram series kept as interval counts give exactly the buckets the raw values would."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nim_mock.serve.observed import Observed

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
bounds_lists = st.lists(finite, min_size=1, max_size=12)


@given(bounds_lists, st.lists(finite, max_size=60))
def test_buckets_count_what_the_raw_values_would(bounds: list[float], values: list[float]) -> None:
    observed = Observed(bounds)
    for value in values:
        observed.add(value)
    for bound in bounds:
        assert observed.at_most(bound) == sum(value <= bound for value in values)
    assert observed.count == len(values)
    assert math.isclose(observed.total, math.fsum(values), rel_tol=1e-9, abs_tol=1e-6)


@given(bounds_lists, st.lists(st.lists(finite, max_size=20), max_size=4))
def test_merging_series_is_observing_all_their_values(bounds: list[float], parts: list[list[float]]) -> None:
    series = []
    for part in parts:
        observed = Observed(bounds)
        for value in part:
            observed.add(value)
        series.append(observed)
    merged, everything = Observed.merged(series, bounds), [value for part in parts for value in part]
    for bound in bounds:
        assert merged.at_most(bound) == sum(value <= bound for value in everything)
    assert merged.count == len(everything)


def test_a_copy_does_not_move_with_the_original() -> None:
    observed = Observed((1.0, 2.0))
    observed.add(0.5)
    snapshot = observed.copy()
    observed.add(1.5)
    assert (snapshot.count, snapshot.at_most(2.0)) == (1, 1)
    assert (observed.count, observed.at_most(2.0)) == (2, 2)


def test_a_bound_the_series_was_not_kept_with_is_refused() -> None:
    observed = Observed((1.0, 2.0))
    observed.add(1.0)
    with pytest.raises(ValueError, match=r"1\.5 is not one of this series' bucket bounds"):
        observed.at_most(1.5)


def test_series_with_different_bounds_are_not_merged() -> None:
    with pytest.raises(ValueError, match="same bounds"):
        Observed.merged((Observed((1.0,)),), (2.0,))


@given(bounds_lists, st.lists(finite, max_size=60))
def test_observing_values_together_is_observing_each(bounds: list[float], values: list[float]) -> None:
    together, each = Observed(bounds), Observed(bounds)
    together.add_each(values)
    for value in values:
        each.add(value)
    assert [together.at_most(bound) for bound in bounds] == [each.at_most(bound) for bound in bounds]
    assert (together.count, together.total) == (each.count, each.total)  # same order, same float sum
