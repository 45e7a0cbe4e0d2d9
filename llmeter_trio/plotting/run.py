"""Charts of one run from its records: how latencies are distributed, and how the run went.

`distribution_fig` draws a histogram or a CDF of time to first token, time to
last token, inter-token latency or time per output token; `timeline_fig` draws
the run over time: throughput, requests in flight, latency percentiles and
errors by class; `lengths_fig` (runs of a workload that asked token lengths)
the lengths asked beside those served. `run_figures` is every one of them, by name, as the HTML
report shows them. Needs the ``plotting`` extra.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

from ..endpoints._response import InvocationResponse
from ..results import Result
from ..stats import percentile
from ._lengths import lengths_fig
from ._plotly import go, make_subplots

__all__ = ["DISTRIBUTION_METRICS", "distribution_fig", "run_figures", "timeline_fig"]

# metric, title (all in seconds)
DISTRIBUTION_METRICS = {
    "time_to_first_token": "Time to first token",
    "time_to_last_token": "Time to last token",
    "inter_token_latency": "Inter-token latency",
    "time_per_output_token": "Time per output token",
}
Kind = Literal["histogram", "cdf"]
_TEMPLATE = "plotly_white"
_BINS = 50  # bars of a histogram
_CDF_POINTS = 1000  # points of a CDF at most
_MAX_BINS = 120  # the timeline's resolution: at most this many intervals, none under a second


def _measured(records: Iterable[InvocationResponse]) -> list[InvocationResponse]:
    """The records the statistics count: neither excluded (warm-up) nor failed."""
    return [r for r in records if r.excluded is None and r.error is None]


def metric_values(records: Iterable[InvocationResponse], metric: str) -> list[float]:
    """A metric's values over the successful records, sorted; inter-token latency has one
    value per token gap (a chunk of k tokens after a gap g counts k gaps of g/k)."""
    if metric not in DISTRIBUTION_METRICS:
        raise ValueError(f"unknown metric {metric!r}: one of {', '.join(DISTRIBUTION_METRICS)}")
    values: list[float] = []
    for record in _measured(records):
        if metric == "inter_token_latency":
            for gap, tokens in record.token_gaps():
                values.extend([gap] * tokens)
        else:
            value = getattr(record, metric)
            if value is not None:
                values.append(float(value))
    return sorted(values)


def histogram_bins(values: list[float], bins: int = _BINS) -> tuple[list[float], list[int], float]:
    """Sorted `values` counted in `bins` equal bins: the bins' centres, counts and width (one
    bin when every value is the same). Binned here, so a chart holds `bins` bars however many
    values a run has."""
    if not values:
        return [], [], 0.0
    low, high = values[0], values[-1]
    if high == low:
        return [low], [len(values)], abs(low) * 0.02 or 1.0
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - low) / width))] += 1
    return [low + (i + 0.5) * width for i in range(bins)], counts, width


def cdf_points(values: list[float], points: int = _CDF_POINTS) -> tuple[list[float], list[float]]:
    """The empirical CDF of sorted `values`: each value and the share at or below it; for more
    than `points` values, `points` of them evenly spread over the ranks (the first and the
    last among them)."""
    n = len(values)
    ranks = (
        range(n)
        if n <= points
        else sorted({round(k * (n - 1) / (points - 1)) for k in range(points)})
    )
    return [values[i] for i in ranks], [(i + 1) / n for i in ranks]


def distribution_fig(result: Result, metric: str, kind: Kind = "histogram") -> Any:
    """A histogram (``kind="histogram"``) or an empirical CDF (``kind="cdf"``) of a latency
    metric of the run, in milliseconds. A metric without values is an empty chart."""
    if kind not in ("histogram", "cdf"):
        raise ValueError(f"unknown kind {kind!r}: 'histogram' or 'cdf'")
    values = [v * 1000 for v in metric_values(result.iter_records(), metric)]
    title = DISTRIBUTION_METRICS[metric]
    figure = go.Figure()
    if kind == "histogram":
        centres, counts, width = histogram_bins(values)
        figure.add_trace(go.Bar(x=centres, y=counts, width=width, name=title))
        figure.update_layout(bargap=0)
        y_title = "Requests" if metric != "inter_token_latency" else "Token gaps"
    else:
        xs, ys = cdf_points(values)
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"shape": "hv"}, name=title))
        y_title = "Share at or below"
    figure.update_layout(
        template=_TEMPLATE,
        title=f"{title} ({'CDF' if kind == 'cdf' else 'histogram'})",
        xaxis_title=f"{title} (ms)",
        yaxis_title=y_title,
        showlegend=False,
    )
    return figure


def _span(record: InvocationResponse, start: float) -> tuple[float, float] | None:
    """When a record's request was sent and ended, in seconds since `start` (None: no
    send time). A failed request without a latency ends when it was sent."""
    if record.request_time is None:
        return None
    sent = record.request_time.timestamp() - start
    return sent, sent + (record.time_to_last_token or 0.0)


def timeline_fig(result: Result) -> Any:
    """The run over time, in intervals of at least a second: completed requests and output
    tokens per second, requests in flight (on average over the interval), p50/p90/p99 of time
    to first and last token of the requests completed in each interval, and errors per
    interval by class.

    A run whose records carry no send time is a ValueError.
    """
    records = [r for r in result.iter_records() if r.excluded is None]
    sent = [r.request_time.timestamp() for r in records if r.request_time is not None]
    if not sent:
        raise ValueError("this run's records carry no send time: no timeline to draw")
    start = min(sent)
    spans = [(r, s) for r in records if (s := _span(r, start)) is not None]
    end = max(e for _, (_, e) in spans)
    width = max(1.0, math.ceil(end / _MAX_BINS))
    bins = max(1, math.ceil(end / width))
    times = [(i + 0.5) * width for i in range(bins)]
    method = result.percentile_method

    def bin_of(t: float) -> int:
        return min(bins - 1, int(t // width))

    done = [0] * bins
    tokens = [0] * bins
    in_flight = [0.0] * bins
    ttft: list[list[float]] = [[] for _ in range(bins)]
    ttlt: list[list[float]] = [[] for _ in range(bins)]
    errors: dict[str, list[int]] = {}
    for record, (begin, finish) in spans:
        first, last = bin_of(begin), bin_of(finish)
        for i in range(first, last + 1):  # the share of each interval it was in flight
            in_flight[i] += max(0.0, min(finish, (i + 1) * width) - max(begin, i * width)) / width
        if record.error is not None:
            kind = record.error_class.value if record.error_class is not None else "error"
            errors.setdefault(kind, [0] * bins)[last] += 1
            continue
        done[last] += 1
        tokens[last] += record.num_tokens_output or 0
        if record.time_to_first_token is not None:
            ttft[last].append(record.time_to_first_token * 1000)
        if record.time_to_last_token is not None:
            ttlt[last].append(record.time_to_last_token * 1000)

    figure = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=(
            "Throughput (per second)",
            "Requests in flight",
            "Latency percentiles (ms)",
            "Errors by class",
        ),
        specs=[[{"secondary_y": True}], [{}], [{}], [{}]],
    )
    figure.add_trace(
        go.Scatter(x=times, y=[d / width for d in done], name="Requests/s"), row=1, col=1
    )
    figure.add_trace(
        go.Scatter(
            x=times, y=[t / width for t in tokens], name="Output tokens/s", line={"dash": "dot"}
        ),
        row=1,
        col=1,
        secondary_y=True,
    )
    figure.add_trace(go.Scatter(x=times, y=in_flight, name="In flight (average)"), row=2, col=1)
    for name, columns in (("TTFT", ttft), ("TTLT", ttlt)):
        for q in (50, 90, 99):
            ys = [percentile(sorted(c), q / 100, method) if c else None for c in columns]
            figure.add_trace(
                go.Scatter(x=times, y=ys, name=f"{name} p{q}", connectgaps=False), row=3, col=1
            )
    if not errors:
        errors = {"none": [0] * bins}
    for kind, counts in sorted(errors.items()):
        figure.add_trace(go.Bar(x=times, y=counts, name=f"Errors: {kind}"), row=4, col=1)
    figure.update_layout(
        template=_TEMPLATE, title="The run over time", height=1000, barmode="stack"
    )
    figure.update_xaxes(title_text="Seconds since the first request", row=4, col=1)
    return figure


def run_figures(result: Result) -> dict[str, Any]:
    """Every chart of one run, by title: a histogram and a CDF of each latency metric that
    has values, time to first token of prefix cache hits and misses (when some request
    hit), then the timeline (when the records carry send times)."""
    from .cache import cache_ttft_fig, cache_ttft_values

    records = list(result.iter_records())
    figures: dict[str, Any] = {}
    for metric, title in DISTRIBUTION_METRICS.items():
        if metric_values(records, metric):
            figures[f"{title}: histogram"] = distribution_fig(result, metric, "histogram")
            figures[f"{title}: CDF"] = distribution_fig(result, metric, "cdf")
    if cache_ttft_values(records)[0]:
        figures["Time to first token: cache hits and misses"] = cache_ttft_fig(result)
    if any(r.request_time is not None for r in records):
        figures["The run over time"] = timeline_fig(result)
    lengths = lengths_fig(records)  # runs of a workload that asked token lengths
    if lengths is not None:
        figures["Asked vs served token lengths"] = lengths

    if result.stats_by_turn():  # a multi-turn run
        from ._turns import ttft_by_turn_fig

        figures["Time to first token by turn"] = ttft_by_turn_fig(result)
    return figures
