"""Histogram observations as counts between fixed bounds, so a long run costs no memory per request.

A load or soak test sends millions of requests; keeping every duration and token count to bucket
them at scrape time grew the server by ~65 bytes a request and made each scrape slower than the
last. An :class:`Observed` keeps one count per interval between the bounds any exposition of the
series uses (all of them together where one series feeds families with different buckets, as
vLLM's two HTTP duration histograms do), plus the count and the sum, so every family's cumulative
buckets still come out exact.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

__all__ = ["NOTHING_OBSERVED", "Observed"]


class Observed:
    """Values observed so far, as counts per interval of ``bounds``: ``(-inf, b0], ..., (bn, +inf)``."""

    __slots__ = ("_bounds", "_counts", "count", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self._bounds = tuple(sorted(set(bounds)))
        self._counts = [0] * (len(self._bounds) + 1)
        self.count = 0
        self.total = 0.0

    def add(self, value: float, times: int = 1) -> None:
        """Observe ``value`` (``times`` times over)."""
        self._counts[bisect.bisect_left(self._bounds, value)] += times
        self.count += times
        self.total += value * times

    def add_each(self, values: Sequence[float]) -> None:
        """Observe each of ``values``, in order (the sum comes out as from one :meth:`add` each)."""
        counts, bounds, total = self._counts, self._bounds, self.total
        for value in values:
            counts[bisect.bisect_left(bounds, value)] += 1
            total += value
        self.count += len(values)
        self.total = total

    def at_most(self, bound: float) -> int:
        """How many observed values were ``<= bound``; ``bound`` must be one of the bounds given."""
        if not self.count:
            return 0
        index = bisect.bisect_left(self._bounds, bound)
        if index == len(self._bounds) or self._bounds[index] != bound:
            raise ValueError(f"{bound} is not one of this series' bucket bounds {self._bounds}")
        return sum(self._counts[: index + 1])

    def copy(self) -> Observed:
        """A snapshot (taken under the metrics' lock, read after it is released)."""
        return Observed.merged((self,), self._bounds)

    @classmethod
    def merged(cls, series: Iterable[Observed], bounds: Sequence[float]) -> Observed:
        """All of ``series`` (each kept with exactly ``bounds``) as one."""
        combined = cls(bounds)
        for observed in series:
            if observed._bounds != combined._bounds:
                raise ValueError("only series kept with the same bounds can be merged")
            combined._counts = [a + b for a, b in zip(combined._counts, observed._counts, strict=True)]
            combined.count += observed.count
            combined.total += observed.total
        return combined


NOTHING_OBSERVED = Observed(())
"""A series nothing was observed in, for any bounds (what a histogram shows for an idle model); read only."""
