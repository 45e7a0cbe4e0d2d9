"""Percentiles for the benchmark drivers (stdlib only: the LLMeter driver runs in its own venv)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

LAG_INTERVAL = 0.01  # seconds a lag sampler sleeps between samples


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The `q` quantile (0..1) of `sorted_values`, nearest rank."""
    index = max(0, math.ceil(q * len(sorted_values)) - 1)
    return sorted_values[index]


def summarize(values: Sequence[float]) -> dict[str, float] | None:
    """p50, p90, p99 and mean of `values` (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    return {
        "p50": percentile(ordered, 0.50),
        "p90": percentile(ordered, 0.90),
        "p99": percentile(ordered, 0.99),
        "mean": sum(ordered) / len(ordered),
    }


def report(
    requests: int,
    errors: Sequence[str],
    ttlt: Sequence[float],
    wall: float,
    cpu: float,
    lags: Sequence[float],
) -> dict[str, Any]:
    """What a driver process prints (as JSON) for one measured run."""
    return {
        "requests": requests,
        "failed": len(errors),
        "first_error": errors[0] if errors else None,
        "wall": wall,
        "cpu": cpu,
        "ttlt": summarize(ttlt),
        "lag": summarize(lags),
    }
