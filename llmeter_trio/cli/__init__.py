"""The `llmeter-trio` command line: run, endpoints, demo, serve-sim."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._version import __version__
from ._analyze import add_analyze_arguments, analyze_command
from ._demo import add_demo_arguments, demo_command
from ._endpoints import describe_endpoints
from ._run import add_run_arguments, run_command

__all__ = ["main"]

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="llmeter-trio", description="Load tests for LLM endpoints whose numbers you can trust."
    )
    parser.add_argument("--version", action="version", version=f"llmeter-trio {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_run_arguments(commands.add_parser("run", help="run a load test against an endpoint"))
    add_analyze_arguments(
        commands.add_parser("analyze", help="statistics of a saved run, e.g. with other SLOs")
    )
    commands.add_parser("endpoints", help="list the registered endpoint types and their options")
    add_demo_arguments(
        commands.add_parser("demo", help="a short load test against the built-in simulated server")
    )
    commands.add_parser(
        "serve-sim", help="serve the simulated OpenAI-compatible server", add_help=False
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `llmeter-trio` command."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["serve-sim"]:
        from ..sim import serve_sim

        return serve_sim(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        if args.command == "endpoints":
            print(describe_endpoints())
            return 0
        if args.command == "demo":
            return demo_command(args)
        if args.command == "analyze":
            return analyze_command(args)
        return run_command(args)
    except (ValueError, KeyError, TypeError, FileNotFoundError, FileExistsError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"llmeter-trio {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
