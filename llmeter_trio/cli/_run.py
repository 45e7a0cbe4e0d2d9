"""`llmeter-trio run`: one run from the command line, with a live progress line."""

from __future__ import annotations

import argparse
import posixpath
import sys
from functools import partial
from typing import Any

import trio

from ..endpoints import Endpoint
from ..engine import LiveProgress, RunInterrupted, Runner
from ..engine._payloads import normalize_payloads
from ..live import run_with_progress
from ..results import Result
from ._endpoints import build_endpoint, parse_headers, parse_options
from ._summary import format_summary

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "add_run_arguments", "run_command", "run_and_report"]

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio run`."""
    parser.add_argument(
        "--endpoint", required=True, help="registered endpoint type (see `llmeter-trio endpoints`)"
    )
    parser.add_argument("--base-url", help="the API root, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--model", help="model id sent with each request")
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="extra HTTP header (repeatable; never saved when it carries credentials)",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other endpoint option (JSON values allowed; repeatable)",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--payload", help="JSON or JSONL file of payloads (any fsspec URL)")
    source.add_argument("--prompt", help="one prompt, made into a payload by the endpoint")
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=256,
        help="output tokens asked for with --prompt (default 256)",
    )
    parser.add_argument(
        "--clients", type=int, default=1, help="concurrent closed-loop clients (default 1)"
    )
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument("--n-requests", type=int, help="requests per client")
    bound.add_argument("--duration", type=float, help="seconds to keep sending")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="deadline per request in seconds (default 60)"
    )
    parser.add_argument("--output", help="run folder to write (local path or fsspec URL)")
    parser.add_argument("--seed", type=int, help="seed for the clients' payload orders")
    parser.add_argument(
        "--max-error-rate",
        type=float,
        default=None,
        help="exit with 1 when a larger share of requests failed (default: only if all failed)",
    )


async def run_and_report(
    endpoint: Endpoint,
    payloads: list[dict[str, Any]],
    *,
    clients: int,
    n_requests: int | None,
    duration: float | None,
    timeout: float,  # noqa: ASYNC109 - the per-request deadline handed to the Runner
    output: str | None,
    seed: int | None = None,
    max_error_rate: float | None = None,
) -> int:
    """Run, show progress on stderr, print the summary; return the exit code."""
    parent, run_name = None, None
    if output is not None:
        parent, run_name = posixpath.split(output.rstrip("/"))
        parent = parent or "."
    runner = Runner(endpoint, output_path=parent, seed=seed)
    progress = LiveProgress()
    per_client = n_requests if n_requests is not None else len(payloads)

    async def run() -> Result:
        return await runner.run(
            payload=payloads,
            clients=clients,
            n_requests=n_requests,
            run_duration=duration,
            timeout=timeout,
            run_name=run_name,
            progress=progress,
        )

    try:
        result = await run_with_progress(
            run,
            progress,
            total_requests=None if duration is not None else per_client * clients,
            run_duration=duration,
        )
    except RunInterrupted as stopped:
        _report(stopped.result)
        return EXIT_INTERRUPTED
    _report(result)
    rate = result.stats["failed_requests_rate"]
    if result.total_requests and rate == 1.0:
        print("every request failed", file=sys.stderr)
        return EXIT_FAILED
    if max_error_rate is not None and rate > max_error_rate:
        print(
            f"error rate {rate:.1%} is above --max-error-rate {max_error_rate:.1%}", file=sys.stderr
        )
        return EXIT_FAILED
    return 0


def _report(result: Result) -> None:
    print(format_summary(result))
    if result.output_path:
        print(f"\nresults: {result.output_path}  (load with Result.load({result.output_path!r}))")


def run_command(args: argparse.Namespace) -> int:
    """`llmeter-trio run`."""
    options = parse_options(args.option)
    if args.base_url:
        options["base_url"] = args.base_url
    if args.model:
        options["model_id"] = args.model
    if args.header:
        options["extra_headers"] = parse_headers(args.header)
    endpoint = build_endpoint(args.endpoint, options)
    if args.payload:
        payloads = normalize_payloads(args.payload)
    else:
        payloads = [endpoint.create_payload(args.prompt, max_tokens=args.max_tokens)]
    return trio.run(
        partial(
            run_and_report,
            endpoint,
            payloads,
            clients=args.clients,
            n_requests=args.n_requests,
            duration=args.duration,
            timeout=args.timeout,
            output=args.output,
            seed=args.seed,
            max_error_rate=args.max_error_rate,
        )
    )
