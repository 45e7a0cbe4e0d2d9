"""`llmeter-trio load-test`: one run per number of clients (`LoadTest`)."""

from __future__ import annotations

import argparse
import contextlib

import attrs
import trio

from ..experiments import LoadTest
from ._experiment import add_common_arguments, common_options
from ._run import add_endpoint_arguments, endpoint_and_payloads
from ._sessions import add_session_arguments, sessions_from_args
from ._summary import format_summary
from ._workload import tokenizer_from_args

__all__ = ["add_load_test_arguments", "load_test_command"]


def add_load_test_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio load-test`: `LoadTest`'s fields."""
    add_endpoint_arguments(parser)
    d = attrs.fields(LoadTest)
    add = parser.add_argument
    add("--sequence-of-clients", type=int, nargs="+", required=True, metavar="N",
        help="the levels: numbers of clients, e.g. 1 4 16")  # fmt: skip
    add("--min-requests-per-client", type=int, default=d.min_requests_per_client.default,
        help="count-bound: requests each client sends at least (default %(default)s)")  # fmt: skip
    add("--min-requests-per-run", type=int, default=d.min_requests_per_run.default,
        help="count-bound: requests each level sends at least (default %(default)s)")  # fmt: skip
    add("--run-duration", type=float, help="time-bound: seconds per level instead")
    add("--low-memory", action="store_true", help="keep no records in memory (needs --output)")
    add("--drain-timeout", type=float, help="seconds to let requests in flight finish")
    add("--server-metrics", metavar="URL", help="a Prometheus page to scrape during each level")
    add("--server-metrics-interval", type=float, default=d.server_metrics_interval.default,
        metavar="SECONDS", help="seconds between two scrapes (default %(default)g)")  # fmt: skip
    add_session_arguments(parser)
    add_common_arguments(parser, timeout=d.timeout.default, seed=None, workers=True, stats=True)


def load_test_command(args: argparse.Namespace) -> int:
    """Run every level, print each level's summary; save them and the charts with --output."""
    tokenizer = tokenizer_from_args(args)
    endpoint, payloads = endpoint_and_payloads(args, tokenizer)
    test = LoadTest(
        endpoint,
        payloads,
        args.sequence_of_clients,
        tokenizer=tokenizer,
        min_requests_per_client=args.min_requests_per_client,
        min_requests_per_run=args.min_requests_per_run,
        run_duration=args.run_duration,
        low_memory=args.low_memory,
        drain_timeout=args.drain_timeout,
        server_metrics=args.server_metrics,
        server_metrics_interval=args.server_metrics_interval,
        sessions=sessions_from_args(args),
        **common_options(args),
    )
    result = trio.run(test.run)
    for clients, level in result.results.items():
        print(f"== {clients} clients")
        print(format_summary(level))
        print()
    if result.output_path is not None:
        with contextlib.suppress(ImportError):  # no plotly: the runs stand without charts
            result.plot_results(show=False)
        print(f"results: {result.output_path}  (load with LoadTestResult.load(...))")
    return 0
