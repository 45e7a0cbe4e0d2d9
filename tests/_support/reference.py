"""Independent implementations that the library's results are checked against."""

from __future__ import annotations

import statistics


def reference_quantile(data: list[float], q: float) -> float:
    """The type-7 quantile as statistics computes it (an independent implementation)."""
    cuts = statistics.quantiles(data, n=1000, method="inclusive")
    index = round(q * 1000) - 1
    return cuts[index]
