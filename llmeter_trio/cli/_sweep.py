"""`llmeter-trio sweep`: find the highest load that still meets every SLO (`Sweep`)."""

from __future__ import annotations

import argparse
from typing import get_args

import attrs
import trio

from ..experiments import Sweep
from ..experiments._sweep import Mode
from ._experiment import add_common_arguments, common_options
from ._run import add_endpoint_arguments, endpoint_and_payloads
from ._workload import tokenizer_from_args

__all__ = ["add_sweep_arguments", "sweep_command"]


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio sweep`: `Sweep`'s fields."""
    add_endpoint_arguments(parser)
    d = attrs.fields(Sweep)
    add = parser.add_argument
    add("--slo", action="append", required=True, metavar="SLO",
        help="e.g. 'ttft_p99<=500ms' (repeatable; at least one)")  # fmt: skip
    add("--mode", choices=get_args(Mode), default=d.mode.default,
        help="rate: open-loop requests/s; concurrency: clients (default %(default)s)")  # fmt: skip
    add("--start", type=float, default=d.start.default, help="first load (default %(default)g)")
    add("--max-load", type=float, default=d.max_load.default,
        help="highest load tried (default %(default)g)")  # fmt: skip
    add("--growth", type=float, default=d.growth.default,
        help="each step offers this many times more (default %(default)g)")  # fmt: skip
    add("--refine-steps", type=int, default=d.refine_steps.default,
        help="bisections between last met and first missed load (default %(default)s)")  # fmt: skip
    bound = parser.add_mutually_exclusive_group()
    per_step = d.requests_per_step.default
    bound.add_argument("--requests-per-step", type=int,
                       help=f"requests each step sends (default {per_step})")  # fmt: skip
    bound.add_argument("--duration-per-step", type=float, help="seconds each step runs instead")
    add("--schedule", default=d.schedule.default,
        help="rate mode: each step's schedule (default %(default)s)")  # fmt: skip
    add("--warmup-requests", type=int, help="leave each step's first N out of its stats")
    add_common_arguments(parser, timeout=d.timeout.default, seed=d.seed.default, workers=True)


def sweep_command(args: argparse.Namespace) -> int:
    """Run the search, print its table and the knee."""
    tokenizer = tokenizer_from_args(args)
    endpoint, payloads = endpoint_and_payloads(args, tokenizer)
    per_step = args.requests_per_step
    if per_step is None and args.duration_per_step is None:
        per_step = attrs.fields(Sweep).requests_per_step.default
    sweep = Sweep(
        endpoint,
        payloads,
        args.slo,
        mode=args.mode,
        start=args.start,
        max_load=args.max_load,
        growth=args.growth,
        refine_steps=args.refine_steps,
        requests_per_step=per_step,
        duration_per_step=args.duration_per_step,
        schedule=args.schedule,
        warmup_requests=args.warmup_requests,
        tokenizer=tokenizer,
        **common_options(args),
    )
    result = trio.run(sweep.run)
    print(result.summary())
    if result.output_path is not None:
        print(f"\nresults: {result.output_path}  (load with SweepResult.load(...))")
    return 0
