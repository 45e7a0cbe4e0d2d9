"""`llmeter-trio report`: one self-contained HTML page for a saved run or experiment."""

from __future__ import annotations

import argparse

__all__ = ["add_report_arguments", "report_command"]


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio report`."""
    parser.add_argument(
        "path", help="the folder of a run, load test, heatmap, sweep or quota search"
    )
    parser.add_argument(
        "--out", default=None, metavar="FILE", help="where to write it (default PATH/report.html)"
    )


def report_command(args: argparse.Namespace) -> int:
    """Write the report and say where it went; plotly missing is bad input (a ValueError)."""
    try:
        from ..report import write_report

        target = write_report(args.path, args.out)
    except ImportError as exc:
        raise ValueError(f"{exc} (plotly)") from None
    print(f"report: {target}")
    return 0
