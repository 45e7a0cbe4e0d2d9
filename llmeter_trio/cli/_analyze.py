"""`llmeter-trio analyze`: statistics of a saved run, with other SLOs, without a rerun."""

from __future__ import annotations

import argparse

from ..results import Result
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


def analyze_command(args: argparse.Namespace) -> int:
    """Print the summary of a saved run, recomputing goodput for the given SLOs."""
    result = Result.load(args.result, load_responses=False, slos=args.slo or None)
    print(format_summary(result))
    if "slos_met" in result.stats:
        return 0 if result.stats["slos_met"] else 1
    return 0
