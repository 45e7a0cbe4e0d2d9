"""`llmeter-trio analyze`: statistics of a saved run, with other SLOs, without a rerun."""

from __future__ import annotations

import argparse
from typing import Any

from ..results import Result
from ..stats import PERCENTILE_METHODS
from ._saved import Kind, folder_kind, load_saved
from ._summary import format_summary

__all__ = ["add_analyze_arguments", "analyze_command"]


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
        print(format_summary(saved.result))
        print("\ntime to first token p50 (s), by input length x output length:")
        for (inputs, outputs), stats in saved.stats_by_combination().items():
            value = stats.get("time_to_first_token-p50")
            print(f"  {inputs:>6} x {outputs:<6} {_number(value):>10}")
        return 0
    print(saved.summary())
    return 0


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
