"""Overlaid charts of compared runs, as plotly figures a report can include."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..experiments import LoadTestResult
from ..plotting._plotly import go
from ..results import Result
from ._core import Comparison, Run, load_compared
from ._metrics import LATENCIES

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

__all__ = ["comparison_figures"]


def comparison_figures(*runs: Run, comparisons: Sequence[Comparison] = ()) -> dict[str, Figure]:
    """Charts of the runs on shared axes, by name; needs the ``plotting`` extra.

    Runs: the distribution (CDF) of each latency, one line a run
    (``cdf-time_to_first_token``, ...). Load tests: each latency's median
    and p99 against the number of clients, one line a test and percentile
    (``by-clients-time_to_first_token``, ...). With `comparisons` (from
    `compare`), ``differences``: each metric's relative change with its
    confidence interval, one marker a comparison.
    """
    loaded = [load_compared(run) for run in runs]
    figures: dict[str, Figure] = {}
    for metric in LATENCIES:
        figure = go.Figure()
        for label, run in loaded:
            if isinstance(run, Result):
                values = sorted(
                    v for r in run.iter_records()
                    if r.excluded is None and not r.failed
                    and (v := getattr(r, metric)) is not None
                )  # fmt: skip
                shares = [(i + 1) / len(values) for i in range(len(values))]
                figure.add_trace(go.Scatter(x=values, y=shares, mode="lines", name=label,
                                            line_shape="hv"))  # fmt: skip
            elif isinstance(run, LoadTestResult):
                levels = list(run.results)
                for aggregation in ("p50", "p99"):
                    key = f"{metric}-{aggregation}"
                    figure.add_trace(go.Scatter(
                        x=levels, y=[run.results[n].stats.get(key) for n in levels],
                        mode="lines+markers", name=f"{label} {aggregation}",
                    ))  # fmt: skip
        title = metric.replace("_", " ")
        if all(isinstance(run, LoadTestResult) for _, run in loaded) and loaded:
            figure.update_layout(title=f"{title} by clients", xaxis_title="clients",
                                 yaxis_title="seconds")  # fmt: skip
            figures[f"by-clients-{metric}"] = figure
        else:
            figure.update_layout(title=f"{title}: distribution", xaxis_title="seconds",
                                 yaxis_title="share of requests")  # fmt: skip
            figures[f"cdf-{metric}"] = figure
    if comparisons:
        figures["differences"] = _differences(comparisons)
    return figures


def _differences(comparisons: Sequence[Comparison]) -> Figure:
    figure = go.Figure()
    for comparison in comparisons:
        names, changes, above, below = [], [], [], []
        for m in comparison.metrics.values():
            if m.relative is None or m.low is None or m.high is None or not m.baseline:
                continue
            scale = 100 / abs(m.baseline)
            names.append(m.metric)
            changes.append(m.relative * 100)
            above.append(m.high * scale - m.relative * 100)
            below.append(m.relative * 100 - m.low * scale)
        level = f" ({comparison.clients} clients)" if comparison.clients is not None else ""
        figure.add_trace(go.Scatter(
            x=changes, y=names, mode="markers", name=f"{comparison.candidate}{level}",
            error_x={"type": "data", "array": above, "arrayminus": below, "symmetric": False},
        ))  # fmt: skip
    figure.add_vline(x=0, line_dash="dot")
    baseline = comparisons[0].baseline
    percent = f"{comparisons[0].confidence:.0%}"
    figure.update_layout(
        title=f"Change from {baseline}, with {percent} intervals",
        xaxis_title="% change",
    )
    return figure
