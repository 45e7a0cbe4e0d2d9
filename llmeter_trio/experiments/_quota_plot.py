"""The quota chart: admitted against offered requests per minute, the 429 share, the quota."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..plotting._plotly import go, make_subplots

if TYPE_CHECKING:
    from ._quota import QuotaResult

__all__ = ["quota_figures"]


def quota_figures(quota: QuotaResult) -> dict[str, Any]:
    """One figure, ``"quota"``."""
    offered = [s.requests_per_minute for s in quota.steps]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Scatter(x=offered, y=offered, mode="lines", name="offered", line={"dash": "dot"}),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=offered,
            y=[s.admitted_requests_per_minute for s in quota.steps],
            mode="lines+markers",
            name="admitted",
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Bar(
            x=offered, y=[s.throttled_share for s in quota.steps], name="429 share", opacity=0.4
        ),
        secondary_y=True,
    )
    if quota.requests_per_minute is not None:
        figure.add_hline(
            y=quota.requests_per_minute,
            line_dash="dash",
            annotation_text=f"sustainable {quota.requests_per_minute:,.0f} rpm",
            annotation_position="top left",
        )
    figure.update_layout(
        title=f"Quota ({quota.test_name})",
        xaxis_title="offered requests per minute",
        template="plotly_white",
    )
    figure.update_yaxes(title_text="requests per minute", secondary_y=False)
    figure.update_yaxes(title_text="share throttled (429)", tickformat=".0%", secondary_y=True)
    return {"quota": figure}
