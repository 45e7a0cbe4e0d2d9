"""The chart of token lengths a workload asked of each request beside those the server served."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..endpoints._response import InvocationResponse
from ._plotly import go, make_subplots

__all__ = ["asked_served_pairs", "lengths_fig"]

_KINDS = (
    ("input", "requested_input_tokens", "num_tokens_input"),
    ("output", "requested_output_tokens", "num_tokens_output"),
)


def asked_served_pairs(
    records: Iterable[InvocationResponse], kind: str
) -> Counter[tuple[int, int]]:
    """How many successful, measured requests asked each (asked, served) ``kind`` length pair."""
    asked_field, served_field = next((a, s) for k, a, s in _KINDS if k == kind)
    pairs: Counter[tuple[int, int]] = Counter()
    for record in records:
        if record.excluded is not None or record.error is not None:
            continue
        asked, served = getattr(record, asked_field), getattr(record, served_field)
        if asked is not None and served is not None:
            pairs[(asked, served)] += 1
    return pairs


def lengths_fig(records: Iterable[InvocationResponse]) -> Any:
    """Served against asked input and output lengths, one point per pair (sized by how many
    requests had it), beside the line where they are equal; None when nothing asked a length."""
    kept = list(records)
    pairs = {kind: asked_served_pairs(kept, kind) for kind, _, _ in _KINDS}
    if not any(pairs.values()):
        return None
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("Input tokens", "Output tokens"), horizontal_spacing=0.1
    )
    for column, (kind, counts) in enumerate(pairs.items(), start=1):
        if not counts:
            continue
        points = sorted(counts.items())
        largest = max(counts.values())
        figure.add_trace(
            go.Scatter(
                x=[asked for (asked, _), _ in points],
                y=[served for (_, served), _ in points],
                mode="markers",
                name=f"{kind} tokens",
                marker={"size": [6 + 14 * (n / largest) ** 0.5 for _, n in points]},
                text=[f"{n} request(s)" for _, n in points],
                hovertemplate="asked %{x}, served %{y}: %{text}<extra></extra>",
            ),
            row=1,
            col=column,
        )
        low = min(min(pair) for pair in counts)
        high = max(max(pair) for pair in counts)
        figure.add_trace(
            go.Scatter(
                x=[low, high],
                y=[low, high],
                mode="lines",
                name="served = asked",
                line={"dash": "dot", "color": "grey"},
                showlegend=column == 1,
            ),
            row=1,
            col=column,
        )
        figure.update_xaxes(title_text="asked", row=1, col=column)
        figure.update_yaxes(title_text="served", row=1, col=column)
    figure.update_layout(template="plotly_white", title="Asked vs served token lengths")
    return figure
