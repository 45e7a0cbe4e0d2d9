"""The charts of a load test, with plotly: latency distributions and rates against clients."""

from __future__ import annotations

import importlib.util
import posixpath
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from ..storage import open_atomic, resolve

try:
    import plotly.graph_objects as go
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "LoadTestResult.plot_results needs plotly: pip install 'llmeter-trio[plot]'"
    ) from exc

if TYPE_CHECKING:
    from ._load_test_result import LoadTestResult

__all__ = ["load_test_figures", "save_figures"]

WIDTH, HEIGHT = 900, 500
_TEMPLATE = "plotly_white"
_CLIENTS_AXIS = {"title": "Number of clients", "type": "category"}
_DISTRIBUTIONS = {
    "time_to_first_token": "Time to first token",
    "time_to_last_token": "Time to last token",
}
_RATES: dict[str, tuple[str, str, str]] = {  # chart name: (stat key, title, y-axis format)
    "requests_per_minute": ("requests_per_minute", "Requests per minute", ",.0f"),
    "error_rate": ("failed_requests_rate", "Error rate", ".0%"),
    "average_input_tokens_clients": (
        "average_input_tokens_per_minute",
        "Input tokens per minute",
        ",.0f",
    ),
    "average_output_tokens_clients": (
        "average_output_tokens_per_minute",
        "Output tokens per minute",
        ",.0f",
    ),
}


def _distribution_figure(
    test: LoadTestResult, metric: str, title: str, kind: Literal["box", "violin"]
) -> go.Figure:
    trace: Callable[..., Any] = go.Box if kind == "box" else go.Violin
    figure = go.Figure()
    for clients in sorted(test.results):
        values = [
            value
            for response in test.results[clients].iter_records()
            if not response.failed and (value := getattr(response, metric)) is not None
        ]
        options = {"boxmean": True} if kind == "box" else {"box_visible": True}
        figure.add_trace(
            trace(x=[str(clients)] * len(values), y=values, name=f"{clients} clients", **options)
        )
    figure.update_layout(
        title=f"{title} vs number of clients ({test.test_name})",
        xaxis=_CLIENTS_AXIS,
        yaxis={"title": f"{title} (s)", "rangemode": "tozero"},
        showlegend=False,
        template=_TEMPLATE,
        width=WIDTH,
        height=HEIGHT,
    )
    return figure


def _rate_figure(test: LoadTestResult, key: str, title: str, tick_format: str) -> go.Figure:
    levels = sorted(test.results)
    values = [test.results[clients].stats.get(key) for clients in levels]
    figure = go.Figure(
        go.Scatter(x=[str(c) for c in levels], y=values, mode="lines+markers", name=title)
    )
    figure.update_layout(
        title=f"{title} vs number of clients ({test.test_name})",
        xaxis=_CLIENTS_AXIS,
        yaxis={"title": title, "tickformat": tick_format, "rangemode": "tozero"},
        template=_TEMPLATE,
        width=WIDTH,
        height=HEIGHT,
    )
    return figure


def load_test_figures(
    test: LoadTestResult, distribution: Literal["box", "violin"] = "box"
) -> dict[str, go.Figure]:
    """Every standard chart of a load test, by name (the names LLMeter uses)."""
    if distribution not in ("box", "violin"):
        raise ValueError(f"distribution must be 'box' or 'violin', not {distribution!r}")
    if not test.results:
        raise ValueError(f"load test {test.test_name!r} has no results to plot")
    figures = {
        name: _distribution_figure(test, name, title, distribution)
        for name, title in _DISTRIBUTIONS.items()
    }
    for name, (key, title, tick_format) in _RATES.items():
        figures[name] = _rate_figure(test, key, title, tick_format)
    return figures


def save_figures(figures: dict[str, go.Figure], url: str, format: Literal["html", "png"]) -> None:
    """Write each figure as ``{url}/{name}.{format}`` (any fsspec URL)."""
    if format == "png" and importlib.util.find_spec("kaleido") is None:
        raise ImportError("saving charts as PNG needs kaleido: pip install 'llmeter-trio[plot]'")
    fs, folder = resolve(url)
    fs.makedirs(folder, exist_ok=True)
    for name, figure in figures.items():
        if format == "html":
            data = figure.to_html(include_plotlyjs=True, full_html=True).encode()
        else:
            with warnings.catch_warnings():
                # kaleido 0.2.1 is pinned on purpose (it brings its own browser, so it works
                # offline); plotly and kaleido warn about that pairing on every export
                warnings.simplefilter("ignore", DeprecationWarning)
                data = figure.to_image(format="png", width=WIDTH, height=HEIGHT)
        with open_atomic(fs, posixpath.join(folder, f"{name}.{format}")) as f:
            f.write(data)
