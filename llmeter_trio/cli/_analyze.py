"""`llmeter-trio analyze`: statistics of a saved run, with other SLOs, without a rerun."""

from __future__ import annotations

import argparse
from typing import Any

from ..experiments import LatencyHeatmapResult
from ..results import Result
from ..stats import PERCENTILE_METHODS
from ._saved import Kind, folder_kind, load_saved
from ._summary import format_summary

__all__ = ["add_analyze_arguments", "analyze_command", "format_heatmap"]


def add_analyze_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio analyze`."""
    parser.add_argument("result", help="a run folder (local path or fsspec URL)")
    parser.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="SLO",
        help="e.g. 'ttft_p99<=500ms' (repeatable); default: the run's own SLOs",
    )
    parser.add_argument(
        "--percentile-method",
        choices=PERCENTILE_METHODS,
        default=None,
        help="'linear' (interpolate between ranks) or 'llmeter' (LLMeter's "
        "statistics.quantiles rule); default: the run's own",
    )


def analyze_command(args: argparse.Namespace) -> int:
    """Print the summary of a saved run, recomputing goodput for the given SLOs.

    A load test prints each level's summary; a sweep, quota search or heatmap
    its own table (and its run's summary, for a heatmap).
    """
    kind = folder_kind(args.result)
    if kind != "run":
        return _analyze_experiment(args, kind)
    result = Result.load(
        args.result,
        load_responses=False,
        slos=args.slo or None,
        percentile_method=args.percentile_method,
    )
    print(format_summary(result))
    if result.llmeter_stats is not None:
        print(format_llmeter_comparison(result.stats, result.llmeter_stats))
    if "slos_met" in result.stats:
        return 0 if result.stats["slos_met"] else 1
    return 0


def _analyze_experiment(args: argparse.Namespace, kind: Kind) -> int:
    if args.slo or args.percentile_method:
        raise ValueError(f"--slo and --percentile-method apply to a run; {args.result} is a {kind}")
    saved = load_saved(args.result, kind)
    if kind == "load-test":
        for clients, result in saved.results.items():
            print(f"== {clients} clients ({result.output_path})")
            print(format_summary(result))
            print()
        return 0
    if kind == "heatmap":
        print(format_heatmap(saved))
        return 0
    print(saved.summary())
    return 0


def format_heatmap(heatmap: LatencyHeatmapResult) -> str:
    """A heatmap's run summary, then each cell's median latencies."""
    lines = [format_summary(heatmap.result), "", "by input x output length (tokens), p50 in s:"]
    lines.append(f"  {'input':>6} x {'output':<6} {'TTFT':>10} {'last token':>10}")
    for (inputs, outputs), stats in heatmap.stats_by_combination().items():
        ttft = _number(stats.get("time_to_first_token-p50"))
        last = _number(stats.get("time_to_last_token-p50"))
        lines.append(f"  {inputs:>6} x {outputs:<6} {ttft:>10} {last:>10}")
    return "\n".join(lines)


COMPARED = (
    ("time to first token", "time_to_first_token"),
    ("time to last token", "time_to_last_token"),
)
COMPARED_AGGREGATIONS = ("p50", "p90", "p99", "average")


def format_llmeter_comparison(recomputed: dict[str, Any], saved: dict[str, Any]) -> str:
    """Latencies recomputed here beside those LLMeter saved in its ``stats.json``."""
    lines = [
        "",
        "LLMeter's saved statistics (stats.json, its own rules) beside the recomputed ones:",
    ]
    for label, metric in COMPARED:
        for aggregation in COMPARED_AGGREGATIONS:
            key = f"{metric}-{aggregation}"
            if key in recomputed or key in saved:
                lines.append(
                    f"  {label} {aggregation:<8} recomputed {_number(recomputed.get(key)):>10}"
                    f"   LLMeter {_number(saved.get(key)):>10}"
                )
    return "\n".join(lines)


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"
