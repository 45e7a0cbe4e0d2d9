"""`llmeter-trio quota`: find the requests and tokens per minute an endpoint sustains."""

from __future__ import annotations

import argparse
import contextlib
from functools import partial

import attrs
import trio

from ..experiments import Quota
from ._display_options import add_display_arguments
from ._run import add_endpoint_arguments, endpoint_and_payloads, split_output
from ._workload import tokenizer_from_args

__all__ = ["add_quota_arguments", "quota_command"]


def add_quota_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio quota`."""
    add_endpoint_arguments(parser)
    d = attrs.fields(Quota)  # the experiment's defaults, shown in the help
    group = parser.add_argument_group("the search")
    add = group.add_argument
    add("--start-rpm", type=float, default=d.start_requests_per_minute.default,
        help="offered requests per minute of the first step (default %(default)g)")  # fmt: skip
    add("--growth", type=float, default=d.growth.default,
        help="each step offers this many times more (default %(default)g)")  # fmt: skip
    add("--max-rpm", type=float, default=d.max_requests_per_minute.default,
        help="the highest rate offered (default %(default)g)")  # fmt: skip
    add("--step-duration", type=float, default=d.step_duration.default,
        help="seconds per step (default %(default)g)")  # fmt: skip
    add("--threshold", type=float, default=d.threshold.default,
        help="share of 429s that counts as throttled (default %(default)g)")  # fmt: skip
    add("--schedule", default=d.schedule.default,
        help="each step's schedule: constant, poisson, gamma (default %(default)s)")  # fmt: skip
    add("--timeout", type=float, default=d.timeout.default, help="deadline per request in seconds")
    add("--seed", type=int, default=d.seed.default, help="seed for payload orders and schedules")
    add("--output", help="folder for the steps, quota.json and the chart (local path or URL)")
    add_display_arguments(parser, stats=False)


def quota_command(args: argparse.Namespace) -> int:
    """`llmeter-trio quota`: run the search, print its table; save it with --output."""
    tokenizer = tokenizer_from_args(args)
    endpoint, payloads = endpoint_and_payloads(args, tokenizer)
    parent, name = split_output(args.output)
    quota = Quota(
        endpoint,
        payloads,
        start_requests_per_minute=args.start_rpm,
        growth=args.growth,
        max_requests_per_minute=args.max_rpm,
        step_duration=args.step_duration,
        threshold=args.threshold,
        schedule=args.schedule,
        output_path=parent,
        test_name=name,
        timeout=args.timeout,
        seed=args.seed,
        tokenizer=tokenizer,
        show_progress=not args.no_progress,
    )
    result = trio.run(partial(quota.run))
    print(result.summary())
    if result.output_path is not None:
        with contextlib.suppress(ImportError):  # no plotly: the table and the steps stand
            result.plot(output_path=result.output_path)
        print(
            f"\nresults: {result.output_path}  (load with QuotaResult.load({result.output_path!r}))"
        )
    return 0
