"""Charts of what the server and the load generator were doing: where a knee comes from.

A load test whose throughput stops growing has hit a limit somewhere: the
server's (requests queue up, the KV cache fills) or the client's (the
generator's CPU is saturated, its event loop lags). `server_generator_clients_fig`
draws both against the number of clients; `run_timeline_fig` draws one run
second by second (`Result.generator_series` and the saved server metrics).
Needs the ``plotting`` extra: ``pip install 'llmeter-trio[plotting]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..metrics import Role, read_server_metrics, role_series
from ..metrics._summary import RoleSeries
from ..results import Result
from ._plotly import go, make_subplots

if TYPE_CHECKING:
    from ..experiments import LoadTestResult

__all__ = ["has_server_metrics", "run_timeline_fig", "server_generator_clients_fig"]

_TEMPLATE = "plotly_white"
_COUNTS = (  # statistic, trace name: drawn on the left axis (requests)
    ("server_requests_running-max", "Server: requests running (max)"),
    ("server_requests_waiting-max", "Server: requests waiting (max)"),
)
_SHARES = (  # drawn on the right axis (0 to 1)
    ("server_kv_cache_usage-max", "Server: KV cache in use (max)"),
)


def has_server_metrics(load_test_result: LoadTestResult) -> bool:
    """Whether any level of the load test scraped a server's metrics and read its gauges."""
    return any(_gauges(r.server_metrics) for r in load_test_result.results.values())


def _gauges(server_metrics: object) -> bool:
    """Whether a result's `server_metrics` summary holds gauges (a dict of them, not empty)."""
    if not isinstance(server_metrics, dict):
        return False
    gauges = server_metrics.get("gauges")
    return isinstance(gauges, dict) and bool(gauges)


def server_generator_clients_fig(load_test_result: LoadTestResult, log_scale: bool = False) -> Any:
    """Requests running and waiting on the server, its KV-cache use, and the generator's CPU,
    against the number of clients.

    Waiting requests or a full KV cache at the knee: the server is the limit. The
    generator's CPU near one core (and its event-loop lag) there: the client is.
    Levels without a statistic are left out of its line.
    """
    levels = [load_test_result.results[c] for c in sorted(load_test_result.results)]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    for stats, dash, right in ((_COUNTS, None, False), (_SHARES, "dot", True)):
        for stat, name in stats:
            xs, ys = _points(levels, stat)
            if xs:
                figure.add_trace(_line(xs, ys, name, dash), secondary_y=right)
    measured = [r for r in levels if r.generator.get("cpu_utilization") is not None]
    if measured:
        cpu = [r.generator["cpu_utilization"] for r in measured]
        name = "Generator: CPU (share of a core)"
        figure.add_trace(_line([r.clients for r in measured], cpu, name, "dash"), secondary_y=True)
    figure.update_layout(
        title="Server and load generator vs number of clients",
        xaxis_title="Number of clients",
        template=_TEMPLATE,
    )
    figure.update_yaxes(title_text="Requests", secondary_y=False)
    figure.update_yaxes(title_text="Share", tickformat=".0%", secondary_y=True)
    if log_scale:
        figure.update_xaxes(type="log")
    return figure


def run_timeline_fig(result: Result) -> Any:
    """One run second by second: the generator's CPU and event-loop lag, its open connections
    beside the requests the server was running and queueing, and its memory.

    The generator's samples are `Result.generator_series`; the server's are read from
    the run folder's ``server_metrics.jsonl`` when the run scraped them. A run with
    neither is a ValueError.
    """
    series = result.generator_series
    server: RoleSeries = {}
    if result.server_metrics and result.output_path is not None:
        server = role_series(read_server_metrics(result.output_path))
    if not series and not server:
        raise ValueError(
            "this run has no time series: no generator.jsonl (runs saved by an older "
            "llmeter-trio, or by LLMeter, have none) and no server metrics"
        )
    figure = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.05,
        subplot_titles=(
            "Generator CPU (share of a core)",
            "Generator event-loop lag (ms, worst each second)",
            "Connections and requests",
            "Generator memory (MB)",
        ),
    )
    # a run across workers: one line per worker (its samples carry a "worker" column)
    by_worker: dict[Any, list[dict[str, Any]]] = {}
    for sample in series:
        by_worker.setdefault(sample.get("worker"), []).append(sample)
    for worker, samples in by_worker.items():
        times = [sample["time"] for sample in samples]
        suffix = "" if worker is None else f" (worker {worker})"
        for row, key, scale, name in (
            (1, "cpu", 1.0, "Generator CPU"),
            (2, "event_loop_lag_max", 1000.0, "Event-loop lag"),
            (3, "open_connections", 1.0, "Generator: open connections"),
            (4, "rss_bytes", 1 / 1e6, "Generator memory"),
        ):
            values = [None if s.get(key) is None else s[key] * scale for s in samples]
            figure.add_trace(_line(times, values, name + suffix), row=row, col=1)
    roles: tuple[tuple[Role, str], ...] = (
        ("requests_running", "Server: requests running"),
        ("requests_waiting", "Server: requests waiting"),
    )
    for role, name in roles:
        if server.get(role):
            xs, ys = [t for t, _ in server[role]], [v for _, v in server[role]]
            figure.add_trace(_line(xs, ys, name, dash="dot"), row=3, col=1)
    figure.update_yaxes(tickformat=".0%", row=1, col=1)
    figure.update_xaxes(title_text="Seconds into the run", row=4, col=1)
    figure.update_layout(
        title=f"Run {result.run_name or ''} second by second", template=_TEMPLATE, height=900
    )
    return figure


def _line(xs: list[Any], ys: list[Any], name: str, dash: str | None = None) -> Any:
    return go.Scatter(x=xs, y=ys, mode="lines+markers", name=name, line={"dash": dash})


def _points(levels: list[Result], stat: str) -> tuple[list[int], list[Any]]:
    """The levels that have `stat`: their clients and values."""
    having = [r for r in levels if stat in r.stats]
    return [r.clients for r in having], [r.stats[stat] for r in having]
