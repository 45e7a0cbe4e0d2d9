"""LLMeter's chart helpers (``llmeter.plotting.plotting``), drawn with plotly from our results.

Charts of one run (`plot_heatmap`, `scatter_histogram_2d`, and the traces
`histogram_by_dimension`, `boxplot_by_dimension`) read the records through
`Result.get_dimension`; charts of a load test (`plot_load_test_results` and the
``*_clients`` helpers) read each level's `Result.stats` and records. Everything
is drawn with ``plotly.graph_objects``, so no pandas is needed. Needs the
``plotting`` extra: ``pip install 'llmeter-trio[plotting]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..results import Result
from ._plotly import go, make_subplots, sequential
from .monitoring import has_server_metrics, server_generator_clients_fig

if TYPE_CHECKING:
    from ..experiments import LoadTestResult

__all__ = [
    "average_input_tokens_clients_fig",
    "average_output_tokens_clients_fig",
    "boxplot_by_dimension",
    "color_sequences",
    "cost_clients_fig",
    "error_clients_fig",
    "histogram_by_dimension",
    "latency_clients",
    "latency_clients_fig",
    "plot_heatmap",
    "plot_load_test_results",
    "rpm_clients_fig",
    "scatter_histogram_2d",
    "stat_clients",
]

Distribution = Literal["box", "violin"]

# plotly's sequential colour scales by name (``color_sequences.Viridis``), as LLMeter exports them
color_sequences = sequential

_TEMPLATE = "plotly_white"
_SIZE = 800  # width and height of the square charts of one run
_CLIENTS = "Number of clients"


def _title(dimension: str) -> str:
    """``"time_to_first_token"`` as ``"Time to first token"``."""
    return dimension.replace("_", " ").capitalize()


def _values(result: Result, dimension: str, message: str) -> list[Any]:
    """`result.get_dimension(dimension)`, an unknown dimension being a ValueError with `message`."""
    try:
        return result.get_dimension(dimension)
    except AttributeError:
        raise ValueError(message) from None


def _measured(*columns: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows (one value per column) where every column has a value (failed requests have
    no latency, some endpoints no token counts)."""
    return [row for row in zip(*columns, strict=True) if all(value is not None for value in row)]


def _upper(values: Sequence[Any]) -> float:
    """An axis end a tenth above the largest value (1 when there is none)."""
    return max(values, default=0) * 1.1 or 1.0


def _with_marginals(x_title: str, y_title: str, title: str | None = None) -> Any:
    """A square figure: the main chart bottom left, a histogram of x above, of y at the right."""
    figure = make_subplots(
        rows=2,
        cols=2,
        column_widths=[0.8, 0.2],
        row_heights=[0.2, 0.8],
        shared_xaxes=True,
        shared_yaxes=True,
        horizontal_spacing=0.02,
        vertical_spacing=0.02,
    )
    figure.update_layout(
        title=title, template=_TEMPLATE, width=_SIZE, height=_SIZE, showlegend=False
    )
    figure.update_xaxes(title_text=x_title, row=2, col=1)
    figure.update_yaxes(title_text=y_title, row=2, col=1)
    return figure


def _add_marginals(
    figure: Any, xs: Sequence[Any], ys: Sequence[Any], n_bins_x: int | None, n_bins_y: int | None
) -> None:
    grey = {"color": "grey"}
    figure.add_trace(go.Histogram(x=xs, nbinsx=n_bins_x or 0, marker=grey), row=1, col=1)
    figure.add_trace(go.Histogram(y=ys, nbinsy=n_bins_y or 0, marker=grey), row=2, col=2)


def scatter_histogram_2d(
    result: Result, x_dimension: str, y_dimension: str, n_bins_x: int, n_bins_y: int
) -> Any:
    """One record a point, `x_dimension` against `y_dimension`, with a histogram of each.

    Records without a value on either dimension are left out. An unknown
    dimension is a ValueError.
    """
    message = f"Invalid dimension: {x_dimension} or {y_dimension}"
    points = _measured(_values(result, x_dimension, message), _values(result, y_dimension, message))
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    figure = _with_marginals(_title(x_dimension), _title(y_dimension))
    figure.add_trace(go.Scatter(x=xs, y=ys, mode="markers"), row=2, col=1)
    _add_marginals(figure, xs, ys, n_bins_x, n_bins_y)
    figure.update_xaxes(range=[0, _upper(xs)], row=2, col=1)
    figure.update_yaxes(range=[0, _upper(ys)], row=2, col=1)
    return figure


def histogram_by_dimension(
    result: Result,
    dimension: str,
    filter_dimension: str | None = None,
    filter_value: Any = None,
    **histogram_kwargs: Any,
) -> Any:
    """A histogram trace of one dimension (a share of the records, by default), named after
    the run; `filter_dimension`/`filter_value` keep only matching records (see
    `Result.get_dimension`). Other keyword arguments go to ``go.Histogram``."""
    values = result.get_dimension(
        dimension, filter_dimension=filter_dimension, filter_value=filter_value
    )
    histogram_kwargs["name"] = histogram_kwargs.get("name") or result.run_name
    histogram_kwargs["histnorm"] = histogram_kwargs.get("histnorm") or "probability"
    return go.Histogram(x=values, **histogram_kwargs)


def plot_heatmap(
    result: Result,
    dimension: str,
    n_bins_x: int | None,
    n_bins_y: int | None,
    show_scatter: bool = False,
) -> Any:
    """The average of `dimension` by measured input tokens (x) and output tokens (y).

    Records are binned by their token counts (`n_bins_x`/`n_bins_y` bins, or
    plotly's choice for None), with a histogram of each count beside the map
    and, with `show_scatter`, a mark per record. Records without the
    dimension (failed requests) or a token count are left out. An unknown
    dimension is a ValueError.
    """
    inputs = result.get_dimension("num_tokens_input")
    outputs = result.get_dimension("num_tokens_output")
    values = _values(result, dimension, f"Dimension {dimension} not found in result")
    points = _measured(inputs, outputs, values)
    xs, ys, zs = ([row[i] for row in points] for i in range(3))
    figure = _with_marginals(
        "Number of input tokens", "Number of output tokens", f"Average {_title(dimension)}"
    )
    figure.add_trace(
        go.Histogram2d(
            x=xs,
            y=ys,
            z=zs,
            histfunc="avg",
            nbinsx=n_bins_x or 0,
            nbinsy=n_bins_y or 0,
            coloraxis="coloraxis",
            texttemplate="%{z:.3s}s",
        ),
        row=2,
        col=1,
    )
    _add_marginals(figure, xs, ys, n_bins_x, n_bins_y)
    if show_scatter:
        marker = {"symbol": "x", "opacity": 0.7, "color": "white", "size": 8, "line": {"width": 1}}
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="markers", marker=marker), row=2, col=1)
    figure.update_layout(
        coloraxis={
            "colorscale": "Oryel",
            "colorbar": {"title": {"text": "average"}, "ticksuffix": "s", "tickformat": ".2s"},
        }
    )
    return figure


def boxplot_by_dimension(
    result: Result, dimension: str, name: str | None = None, **box_kwargs: Any
) -> Any:
    """A box trace of one dimension, named `name` (default: the run's name); other keyword
    arguments go to ``go.Box``."""
    return go.Box(x=result.get_dimension(dimension), name=name or result.run_name, **box_kwargs)


# -- load tests -------------------------------------------------------------------


def _levels(load_test_result: LoadTestResult) -> list[Result]:
    return [load_test_result.results[clients] for clients in sorted(load_test_result.results)]


def stat_clients(load_test_result: LoadTestResult, stat: str, **scatter_kwargs: Any) -> Any:
    """A line trace of one statistic (a key of `Result.stats`) against the number of clients.

    Keyword arguments go to ``go.Scatter`` and win over the defaults.
    """
    levels = _levels(load_test_result)
    options: dict[str, Any] = {
        "x": [result.clients for result in levels],
        "y": [result.stats[stat] for result in levels],
        "mode": "lines+markers",
        "name": load_test_result.test_name,
        "opacity": 0.5,
        "line": {"dash": "dot"},
    }
    options.update(scatter_kwargs)
    return go.Scatter(**options)


def _stat_figure(
    load_test_result: LoadTestResult,
    stat: str,
    title: str,
    log_scale: bool,
    log_y: bool,
    tick_format: str | None,
    scatter_kwargs: dict[str, Any],
) -> Any:
    figure = go.Figure()
    figure.add_trace(stat_clients(load_test_result, stat, **scatter_kwargs))
    figure.update_layout(
        title=f"{title} vs number of clients",
        xaxis_title=_CLIENTS,
        yaxis_title=title,
        template=_TEMPLATE,
    )
    if tick_format:
        figure.update_yaxes(tickformat=tick_format)
    if log_scale:
        figure.update_xaxes(type="log")
        if log_y:
            figure.update_yaxes(type="log")
    return figure


def error_clients_fig(
    load_test_result: LoadTestResult, log_scale: bool = False, **scatter_kwargs: Any
) -> Any:
    """The error rate (``failed_requests_rate``) against the number of clients; `log_scale`
    makes the clients axis logarithmic (the rate stays linear)."""
    return _stat_figure(
        load_test_result,
        "failed_requests_rate",
        "Error rate",
        log_scale,
        False,
        None,
        scatter_kwargs,
    )


def rpm_clients_fig(
    load_test_result: LoadTestResult, log_scale: bool = False, **scatter_kwargs: Any
) -> Any:
    """Requests per minute against the number of clients (`log_scale`: both axes)."""
    return _stat_figure(
        load_test_result,
        "requests_per_minute",
        "Requests per minute",
        log_scale,
        True,
        ".2s",
        scatter_kwargs,
    )


def average_input_tokens_clients_fig(
    load_test_result: LoadTestResult, log_scale: bool = False, **scatter_kwargs: Any
) -> Any:
    """Input tokens per minute against the number of clients (`log_scale`: both axes)."""
    return _stat_figure(
        load_test_result,
        "average_input_tokens_per_minute",
        "Average input tokens per minute",
        log_scale,
        True,
        ".2s",
        scatter_kwargs,
    )


def average_output_tokens_clients_fig(
    load_test_result: LoadTestResult, log_scale: bool = False, **scatter_kwargs: Any
) -> Any:
    """Output tokens per minute against the number of clients (`log_scale`: both axes)."""
    return _stat_figure(
        load_test_result,
        "average_output_tokens_per_minute",
        "Average output tokens per minute",
        log_scale,
        True,
        ".2s",
        scatter_kwargs,
    )


def cost_clients_fig(
    load_test_result: LoadTestResult, log_scale: bool = False, **scatter_kwargs: Any
) -> Any:
    """What 1,000 requests cost (``cost_per_1000_requests``, from a `CostModel` callback)
    against the number of clients (`log_scale`: the clients axis)."""
    return _stat_figure(
        load_test_result,
        "cost_per_1000_requests",
        "Cost per 1,000 requests",
        log_scale,
        False,
        None,
        scatter_kwargs,
    )


def _priced(load_test_result: LoadTestResult) -> bool:
    """Whether a `CostModel` priced every level of the load test."""
    levels = _levels(load_test_result)
    return bool(levels) and all("cost_per_1000_requests" in r.stats for r in levels)


def latency_clients(
    load_test_result: LoadTestResult,
    dimension: Literal["time_to_first_token", "time_to_last_token"],
    *,
    distribution: Distribution = "box",
    **box_kwargs: Any,
) -> Any:
    """One trace of every level's `dimension` values (successful requests), at x = clients.

    A box by default, a violin with ``distribution="violin"``; keyword
    arguments go to the trace. No value in any level is a ValueError, as is
    an unknown dimension.
    """
    if distribution not in ("box", "violin"):
        raise ValueError(f"distribution must be 'box' or 'violin', not {distribution!r}")
    xs: list[int] = []
    ys: list[float] = []
    for clients in sorted(load_test_result.results):
        result = load_test_result.results[clients]
        try:  # successful requests only: a stream cut short has a time but no answer
            values = result.get_dimension(dimension, filter_dimension="error", filter_value=None)
        except AttributeError:
            raise ValueError(f"Invalid dimension: {dimension}") from None
        measured = [value for value in values if value is not None]
        ys.extend(measured)
        xs.extend([clients] * len(measured))
    if not ys:
        raise ValueError(f"No valid data points found in results for {dimension}")
    options: dict[str, Any] = {"x": xs, "y": ys, "name": _title(dimension)}
    options.update(box_kwargs)
    if distribution == "violin":
        return go.Violin(box_visible=True, **options)
    return go.Box(**options)


def latency_clients_fig(
    load_test_result: LoadTestResult,
    dimension: Literal["time_to_first_token", "time_to_last_token"],
    log_scale: bool = False,
    *,
    distribution: Distribution = "box",
    **box_kwargs: Any,
) -> Any:
    """The distribution of `dimension` at each number of clients (see `latency_clients`);
    `log_scale` makes both axes logarithmic. The trace is named after the test."""
    box_kwargs["name"] = box_kwargs.get("name") or load_test_result.test_name
    trace = latency_clients(load_test_result, dimension, distribution=distribution, **box_kwargs)
    figure = go.Figure()
    figure.add_trace(trace)
    figure.update_layout(
        title=f"{_title(dimension)} vs number of clients",
        xaxis_title=_CLIENTS,
        yaxis_title=f"{_title(dimension)} (s)",
        yaxis_tickformat=".2s",
        template=_TEMPLATE,
    )
    if log_scale:
        figure.update_xaxes(type="log")
        figure.update_yaxes(type="log")
    return figure


def plot_load_test_results(
    load_test_result: LoadTestResult, log_scale: bool = True, *, distribution: Distribution = "box"
) -> dict[str, Any]:
    """The six standard charts of a load test, by name, against the number of clients.

    ``time_to_first_token`` and ``time_to_last_token`` (each level's
    distribution, as `distribution`), ``requests_per_minute``,
    ``error_rate``, ``average_input_tokens_clients`` and
    ``average_output_tokens_clients``; ``cost_per_1000_requests`` when a
    `CostModel` priced every level. `log_scale` (LLMeter's default: on)
    draws the clients axis, and the axes of rates, logarithmic. A load test
    that scraped its server's metrics (`server_metrics`) also gets
    ``server_and_generator`` (`monitoring.server_generator_clients_fig`).
    """
    figures = {
        "time_to_first_token": latency_clients_fig(
            load_test_result, "time_to_first_token", log_scale=log_scale, distribution=distribution
        ),
        "time_to_last_token": latency_clients_fig(
            load_test_result, "time_to_last_token", log_scale=log_scale, distribution=distribution
        ),
        "requests_per_minute": rpm_clients_fig(load_test_result, log_scale=log_scale),
        "error_rate": error_clients_fig(load_test_result, log_scale=log_scale),
        "average_input_tokens_clients": average_input_tokens_clients_fig(
            load_test_result, log_scale=log_scale
        ),
        "average_output_tokens_clients": average_output_tokens_clients_fig(
            load_test_result, log_scale=log_scale
        ),
    }
    if has_server_metrics(load_test_result):
        figures["server_and_generator"] = server_generator_clients_fig(
            load_test_result, log_scale=log_scale
        )
    if _priced(load_test_result):
        figures["cost_per_1000_requests"] = cost_clients_fig(load_test_result, log_scale=log_scale)
    return figures
