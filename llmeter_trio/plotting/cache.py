"""The prefix cache's chart: time to first token of the requests that hit the cache beside
those that missed it, as two empirical CDFs. Needs the ``plotting`` extra."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..endpoints._response import InvocationResponse
from ..results import Result
from ._plotly import go

__all__ = ["cache_ttft_fig", "cache_ttft_values"]

_TEMPLATE = "plotly_white"


def cache_ttft_values(records: Iterable[InvocationResponse]) -> tuple[list[float], list[float]]:
    """Sorted times to first token (seconds) of the successful, measured requests whose server
    reported cached input tokens: those with some (hits) and those with none (misses), as
    `llmeter_trio.stats.RunStats` counts them."""
    hits: list[float] = []
    misses: list[float] = []
    for record in records:
        cached, ttft = record.num_tokens_input_cached, record.time_to_first_token
        if record.excluded is not None or record.error is not None or cached is None:
            continue
        if ttft is not None:
            (hits if cached > 0 else misses).append(ttft)
    return sorted(hits), sorted(misses)


def cache_ttft_fig(result: Result) -> Any:
    """Time to first token of cache hits and misses, one CDF each, in milliseconds (a run
    without hits is a ValueError: there is nothing to compare)."""
    from .run import cdf_points

    hits, misses = cache_ttft_values(result.iter_records())
    if not hits:
        raise ValueError("no request of this run hit a prefix cache: no chart to draw")
    figure = go.Figure()
    for name, values in (("cache hits", hits), ("cache misses", misses)):
        if values:
            xs, ys = cdf_points([v * 1000 for v in values])
            label = f"{name} ({len(values)})"
            figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"shape": "hv"}, name=label))
    figure.update_layout(
        template=_TEMPLATE,
        title="Time to first token: prefix cache hits and misses (CDF)",
        xaxis_title="Time to first token (ms)",
        yaxis_title="Share at or below",
    )
    return figure
