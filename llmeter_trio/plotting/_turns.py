"""The chart of a multi-turn run: time to first token by turn index, with each turn's input."""

from __future__ import annotations

from typing import Any

from ..results import Result
from ._plotly import go, make_subplots

__all__ = ["ttft_by_turn_fig"]


def ttft_by_turn_fig(result: Result) -> Any:
    """Time to first token (p50, p90, mean) by turn, and the mean input tokens of each turn on
    a second axis: how the growing history slows the first token. Needs a multi-turn run."""
    by_turn = result.stats_by_turn()
    if not by_turn:
        raise ValueError("this run has no sessions: no time to first token by turn to draw")
    turns = list(by_turn)
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    for aggregation, name in (("p50", "TTFT p50"), ("p90", "TTFT p90"), ("average", "TTFT mean")):
        values = [by_turn[t].get(f"time_to_first_token-{aggregation}") for t in turns]
        figure.add_trace(go.Scatter(x=turns, y=values, mode="lines+markers", name=name))
    tokens = [by_turn[t].get("num_tokens_input-average") for t in turns]
    if any(value is not None for value in tokens):
        figure.add_trace(
            go.Bar(x=turns, y=tokens, name="input tokens (mean)", opacity=0.25),
            secondary_y=True,
        )
    figure.update_layout(
        title="Time to first token by turn",
        template="plotly_white",
        xaxis={"title": "turn", "dtick": 1},
        legend={"orientation": "h", "y": -0.2},
    )
    figure.update_yaxes(title_text="time to first token (s)", rangemode="tozero", secondary_y=False)
    figure.update_yaxes(title_text="input tokens", rangemode="tozero", secondary_y=True)
    return figure
