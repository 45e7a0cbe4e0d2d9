"""The `llmeter-trio` command line: run, load-test, heatmap, sweep, quota, analyze, export,
endpoints, demo, serve-sim.

Bad input, whether argparse or the library finds it, is one line on stderr
(``llmeter-trio run: error: ...``) and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

from .._version import __version__
from ._analyze import add_analyze_arguments, analyze_command
from ._compare import add_compare_arguments, compare_command
from ._config import parse_with_config
from ._demo import add_demo_arguments, demo_command
from ._endpoints import describe_endpoints
from ._export import add_export_arguments, export_command
from ._heatmap import add_heatmap_arguments, heatmap_command
from ._load_test import add_load_test_arguments, load_test_command
from ._quota import add_quota_arguments, quota_command
from ._report import add_report_arguments, report_command
from ._run import add_run_arguments, run_command
from ._sweep import add_sweep_arguments, sweep_command

__all__ = ["main"]

EXIT_USAGE = 2
# What bad input raises, from argparse, the plugins and the library's checks.
USAGE_ERRORS = (ValueError, KeyError, TypeError, FileNotFoundError, FileExistsError)


class UsageError(ValueError):
    """A command line argparse refused; `prog` names the (sub)command."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, printed by `main`."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(
        prog="llmeter-trio", description="Load tests for LLM endpoints whose numbers you can trust."
    )
    parser.add_argument("--version", action="version", version=f"llmeter-trio {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_run_arguments(commands.add_parser("run", help="run a load test against an endpoint"))
    add_quota_arguments(
        commands.add_parser("quota", help="find the requests and tokens per minute it sustains")
    )
    add_analyze_arguments(
        commands.add_parser("analyze", help="statistics of a saved run, e.g. with other SLOs")
    )
    add_compare_arguments(
        commands.add_parser("compare", help="compare runs or load tests with a baseline")
    )
    add_load_test_arguments(
        commands.add_parser("load-test", help="one run per number of clients (LoadTest)")
    )
    add_heatmap_arguments(
        commands.add_parser("heatmap", help="latency by input and output length (LatencyHeatmap)")
    )
    add_sweep_arguments(
        commands.add_parser("sweep", help="the highest load that meets every SLO (Sweep)")
    )
    add_export_arguments(
        commands.add_parser("export", help="a saved run's records as CSV, Parquet or JSON Lines")
    )
    add_report_arguments(
        commands.add_parser("report", help="one self-contained HTML page for a saved run")
    )
    commands.add_parser("endpoints", help="list the registered endpoint types and their options")
    add_demo_arguments(
        commands.add_parser("demo", help="a short load test against the built-in simulated server")
    )
    for sub in commands.choices.values():
        sub.add_argument(
            "--config",
            metavar="FILE.toml",
            help="options from a TOML file (keys: the long options); flags on the line win",
        )
    commands.add_parser(
        "serve-sim", help="serve the simulated OpenAI-compatible server", add_help=False
    )
    return parser


def _usage_error(prog: str, exc: BaseException) -> int:
    # str() would quote a KeyError's message; attrs validators add details after theirs
    quoted = isinstance(exc, KeyError) and len(exc.args) == 1
    detailed = type(exc) in (ValueError, TypeError) and len(exc.args) > 1
    message = exc.args[0] if quoted or detailed else str(exc)
    line = " ".join(str(message).split())  # one line, whatever the message held
    print(f"{prog}: error: {line}", file=sys.stderr)
    return EXIT_USAGE


def _alone(exc: BaseException) -> BaseException:
    """The one error inside nested exception groups (trio's nurseries wrap what they raise)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `llmeter-trio` command."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["serve-sim"]:
        from ..sim import serve_sim

        return serve_sim(args_list[1:])
    try:
        args = parse_with_config(build_parser, args_list)
    except UsageError as exc:
        return _usage_error(exc.prog, exc)
    except USAGE_ERRORS as exc:  # a config file or --replay run refused
        return _usage_error(f"llmeter-trio {args_list[0]}", exc)
    try:
        if args.command == "endpoints":
            print(describe_endpoints())
            return 0
        if args.command == "demo":
            return demo_command(args)
        if args.command == "analyze":
            return analyze_command(args)
        if args.command == "compare":
            return compare_command(args)
        if args.command == "load-test":
            return load_test_command(args)
        if args.command == "heatmap":
            return heatmap_command(args)
        if args.command == "sweep":
            return sweep_command(args)
        if args.command == "export":
            return export_command(args)
        if args.command == "quota":
            return quota_command(args)
        if args.command == "report":
            return report_command(args)
        return run_command(args)
    except USAGE_ERRORS as exc:
        return _usage_error(f"llmeter-trio {args.command}", exc)
    except BaseExceptionGroup as group:  # a setting refused while the run set up
        if isinstance(_alone(group), USAGE_ERRORS):
            return _usage_error(f"llmeter-trio {args.command}", _alone(group))
        raise
