"""What a report shows of a saved folder: its kind, summary table, charts, verdicts and
configuration, whichever experiment wrote it (a run, a load test, a heatmap, a sweep or a
quota search)."""

from __future__ import annotations

import os
import posixpath
from typing import Any

import attrs

from ..endpoints._base import mask_url, scrub_secrets
from ..results import Result, holds_run
from ..storage import converter, exists, resolve
from ..workloads import describe_asked_served

__all__ = ["ReportContent", "read_content"]

_PAYLOADS_SHOWN = 3  # a run's payloads can be thousands of prompts: the first few show them


@attrs.frozen(kw_only=True)
class ReportContent:
    """Everything a report shows, ready to render."""

    kind: str  # "run", "load test", "heatmap", "sweep", "quota search"
    title: str
    columns: list[str]  # the summary table: one row per run (a level, a step, ...)
    rows: list[list[str]]
    figures: dict[str, Any]  # plotly figures by title
    verdicts: list[tuple[bool | None, str]]  # (passed: True/False, None for a note), text
    config: dict[str, Any] | None  # the run configuration, secrets masked


def _ms(value: Any) -> str:
    return "" if value is None else f"{value * 1000:,.1f} ms"


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


_RUN_COLUMNS = [
    "Requests",
    "Failed",
    "Requests/min",
    "Output tokens/min",
    "TTFT p50",
    "TTFT p90",
    "TTFT p99",
    "TTLT p50",
    "TTLT p90",
    "TTLT p99",
    "ITL p50",
    "TPOT p50",
]


def _run_row(stats: dict[str, Any]) -> list[str]:
    return [
        _number(stats.get("total_requests")),
        _number(stats.get("failed_requests")),
        _number(stats.get("requests_per_minute")),
        _number(stats.get("average_output_tokens_per_minute")),
        _ms(stats.get("time_to_first_token-p50")),
        _ms(stats.get("time_to_first_token-p90")),
        _ms(stats.get("time_to_first_token-p99")),
        _ms(stats.get("time_to_last_token-p50")),
        _ms(stats.get("time_to_last_token-p90")),
        _ms(stats.get("time_to_last_token-p99")),
        _ms(stats.get("inter_token_latency-p50")),
        _ms(stats.get("time_per_output_token-p50")),
    ]


def run_verdicts(result: Result, label: str = "") -> list[tuple[bool | None, str]]:
    """A run's verdicts: each SLO met or not, the generator's warnings, errors by class,
    and why it stopped early."""
    stats = result.stats
    prefix = f"{label}: " if label else ""
    verdicts: list[tuple[bool | None, str]] = []
    for slo in stats.get("slos") or []:
        observed = slo.get("observed")
        if slo.get("percentile") is None:
            shown = "" if observed is None else f" ({observed:.1%} of requests met it)"
        else:
            shown = "" if observed is None else f" (observed {_ms(observed)})"
        state = "met" if slo.get("met") else "not met"
        verdicts.append((bool(slo.get("met")), f"{prefix}SLO {slo.get('slo')}: {state}{shown}"))
    generator = stats.get("generator") or {}
    for warning in generator.get("warnings") or []:
        verdicts.append((False, f"{prefix}load generator: {warning}"))
    if generator.get("bottleneck"):
        verdicts.append((False, f"{prefix}the load generator was the bottleneck"))
    for kind, count in sorted((stats.get("errors_by_class") or {}).items()):
        verdicts.append((False, f"{prefix}{count} failed request(s): {kind}"))
    for line in describe_asked_served(stats):  # a workload that asked token lengths
        verdicts.append((None, f"{prefix}{line}"))
    if stats.get("interrupted") or result.interrupted:
        reason = stats.get("stop_reason") or result.stop_reason or "interrupted"
        verdicts.append((None, f"{prefix}the run stopped early: {reason}"))
    return verdicts


def _masked(value: Any) -> Any:
    """`value` with credential-named entries and credentials in URLs masked."""
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def run_config(result: Result) -> dict[str, Any] | None:
    """The run's configuration as saved, secrets masked (None: the run saved none)."""
    if result.run_config is None:
        return None
    document: dict[str, Any] = _masked(scrub_secrets(converter.unstructure(result.run_config)))
    payload = document.get("payload")
    if isinstance(payload, list) and len(payload) > _PAYLOADS_SHOWN:
        more = f"... and {len(payload) - _PAYLOADS_SHOWN:,} more payloads"
        document["payload"] = [*payload[:_PAYLOADS_SHOWN], more]
    return document


def _run(result: Result, url: str) -> ReportContent:
    from ..plotting.run import run_figures

    return ReportContent(
        kind="run",
        title=result.run_name or posixpath.basename(url.rstrip("/")) or url,
        columns=_RUN_COLUMNS,
        rows=[_run_row(result.stats)],
        figures=run_figures(result),
        verdicts=run_verdicts(result),
        config=run_config(result),
    )


def _load_test(url: str) -> ReportContent:
    from ..experiments import LoadTestResult
    from ..plotting import plot_load_test_results

    test = LoadTestResult.load(url, load_responses=True)
    levels = [test.results[c] for c in sorted(test.results)]
    verdicts = [
        v for c in sorted(test.results) for v in run_verdicts(test.results[c], f"{c} clients")
    ]
    return ReportContent(
        kind="load test",
        title=test.test_name,
        columns=["Clients", *_RUN_COLUMNS],
        rows=[[str(c), *_run_row(test.results[c].stats)] for c in sorted(test.results)],
        figures={
            k.replace("_", " ").capitalize(): f for k, f in plot_load_test_results(test).items()
        },
        verdicts=verdicts,
        config=run_config(levels[0]) if levels else None,
    )


def _heatmap(url: str) -> ReportContent:
    from ..experiments import LatencyHeatmapResult

    heatmap = LatencyHeatmapResult.load(url, load_responses=False)
    stats = heatmap.stats_by_combination()
    ttft, ttlt = heatmap.plot_heatmaps(show=False)
    return ReportContent(
        kind="heatmap",
        title=posixpath.basename(url.rstrip("/")) or url,
        columns=["Input tokens", "Output tokens", *_RUN_COLUMNS],
        rows=[[str(i), str(o), *_run_row(s)] for (i, o), s in sorted(stats.items())],
        figures={"Time to first token by cell": ttft, "Time to last token by cell": ttlt},
        verdicts=run_verdicts(heatmap.result),
        config=run_config(heatmap.result),
    )


def _sweep(url: str) -> ReportContent:
    from ..experiments import SweepResult
    from ..experiments._sweep_plot import sweep_figures

    sweep = SweepResult.load(url)
    unit = "requests/s" if sweep.mode == "rate" else "clients"
    if sweep.knee is not None:
        knee: tuple[bool | None, str] = (True, f"knee: {sweep.knee:g} {unit} met every SLO")
    elif sweep.highest_met is None:
        knee = (False, "not even the first load met every SLO")
    else:
        knee = (None, f"every load met every SLO, up to {sweep.highest_met:g} {unit}: no knee")
    steps = sorted(sweep.steps, key=lambda s: s.load)
    return ReportContent(
        kind="sweep",
        title=sweep.test_name,
        columns=[f"Load ({unit})", "SLOs met", *_RUN_COLUMNS],
        rows=[
            [f"{s.load:g}", "yes" if s.passed else "no", *_run_row(s.result.stats)] for s in steps
        ],
        figures={k.replace("_", " ").capitalize(): f for k, f in sweep_figures(sweep).items()},
        verdicts=[knee, *(v for s in steps for v in run_verdicts(s.result, f"{s.load:g} {unit}"))],
        config=run_config(steps[0].result) if steps else None,
    )


def _quota(url: str) -> ReportContent:
    from ..experiments import QuotaResult
    from ..experiments._quota_plot import quota_figures

    quota = QuotaResult.load(url)
    if quota.requests_per_minute is None:
        found: tuple[bool | None, str] = (
            None,
            "no step throttled past the threshold: the quota lies above the highest rate offered",
        )
    else:
        tokens = _number(quota.tokens_per_minute)
        found = (None, f"quota: {quota.requests_per_minute:,.0f} requests/min, {tokens} tokens/min")
    return ReportContent(
        kind="quota search",
        title=quota.test_name,
        columns=["Offered requests/min", "Throttled", "Admitted requests/min", *_RUN_COLUMNS],
        rows=[
            [
                _number(s.requests_per_minute),
                f"{s.throttled_share:.1%}",
                _number(s.admitted_requests_per_minute),
                *_run_row(s.result.stats),
            ]
            for s in quota.steps
        ],
        figures={k.replace("_", " ").capitalize(): f for k, f in quota_figures(quota).items()},
        verdicts=[found],
        config=run_config(quota.steps[0].result) if quota.steps else None,
    )


def read_content(path: str | os.PathLike[str]) -> ReportContent:
    """What the report of a saved folder shows: a heatmap, sweep or quota search by the
    document it holds, a run by its run documents, else a load test (run subfolders).

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: it holds none of these.
    """
    from ..experiments._heatmap import HEATMAP_FILE
    from ..experiments._quota import QUOTA_FILE
    from ..experiments._sweep import SWEEP_FILE

    url = os.fspath(path)
    fs, folder = resolve(url)
    if not exists(fs, folder):
        raise FileNotFoundError(f"{url} does not exist")
    if not fs.isdir(folder):
        raise ValueError(f"{url} is a file: pass the folder of a run or an experiment")
    for name, read in ((HEATMAP_FILE, _heatmap), (SWEEP_FILE, _sweep), (QUOTA_FILE, _quota)):
        if exists(fs, posixpath.join(folder, name)):
            return read(url)
    if holds_run(fs, folder):
        return _run(Result.load(url), url)
    return _load_test(url)
