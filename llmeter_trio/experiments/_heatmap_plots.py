"""The charts of a latency heatmap, with plotly: one latency statistic per (input, output) cell."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..plotting._plotly import go

if TYPE_CHECKING:
    from ._heatmap import LatencyHeatmapResult

__all__ = ["HEATMAP_METRICS", "heatmap_figure"]

HEATMAP_METRICS = {
    "time_to_first_token": "Time to first token",
    "time_to_last_token": "Time to last token",
}
WIDTH, HEIGHT = 900, 600


def heatmap_figure(heatmap: LatencyHeatmapResult, metric: str, aggregation: str) -> Any:
    """A heatmap of ``{metric}-{aggregation}`` (seconds): input lengths up, output lengths across.

    Lengths are categories, so 10 and 500 tokens get cells of the same size;
    a cell with no successful request is left blank.
    """
    title = HEATMAP_METRICS.get(metric, metric.replace("_", " ").capitalize())
    matrix = heatmap.matrix(metric, aggregation)
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=[str(length) for length in heatmap.output_lengths],
            y=[str(length) for length in heatmap.input_lengths],
            colorscale="Viridis",
            colorbar={"title": {"text": "seconds"}},
            texttemplate="%{z:.3f}",
            hovertemplate=("input %{y} tokens<br>output %{x} tokens<br>%{z:.4f} s<extra></extra>"),
        )
    )
    figure.update_layout(
        title=f"{title} ({aggregation}) by input and output length",
        xaxis={"title": "Output length (tokens asked for)", "type": "category"},
        yaxis={"title": "Input length (tokens)", "type": "category"},
        template="plotly_white",
        width=WIDTH,
        height=HEIGHT,
    )
    return figure
