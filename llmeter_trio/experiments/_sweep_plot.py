"""The sweep chart: latency against load, SLO thresholds, the knee."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..plotting._plotly import go
from ..slo import parse_slos

if TYPE_CHECKING:
    from ._sweep import SweepResult

__all__ = ["sweep_figures"]

SERIES = (
    ("TTFT p50", "time_to_first_token-p50"),
    ("TTFT p99", "time_to_first_token-p99"),
    ("e2e p99 from intended", "time_to_last_token_from_intended-p99"),
    ("e2e p99 from send", "time_to_last_token-p99"),
)


def sweep_figures(sweep: SweepResult) -> dict[str, Any]:
    """One figure, ``"latency_vs_load"``."""
    steps = sorted(sweep.steps, key=lambda s: s.load)
    loads = [s.load for s in steps]
    figure = go.Figure()
    for label, key in SERIES:
        values = [s.result.stats.get(key) for s in steps]
        if any(v is not None for v in values):
            figure.add_trace(go.Scatter(x=loads, y=values, mode="lines+markers", name=label))
    for slo in parse_slos(sweep.slos):
        figure.add_hline(
            y=slo.threshold,
            line_dash="dot",
            annotation_text=slo.text,
            annotation_position="top left",
        )
    if sweep.knee is not None:
        figure.add_vline(x=sweep.knee, line_dash="dash", annotation_text=f"knee {sweep.knee:g}")
    unit = "requests per second" if sweep.mode == "rate" else "concurrent clients"
    figure.update_layout(
        title=f"Latency against load ({sweep.test_name})",
        xaxis_title=f"offered load ({unit})",
        yaxis_title="seconds",
        template="plotly_white",
    )
    return {"latency_vs_load": figure}
