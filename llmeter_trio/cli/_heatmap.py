"""`llmeter-trio heatmap`: latency by input and output length (`LatencyHeatmap`)."""

from __future__ import annotations

import argparse

import attrs
import trio

from ..experiments import LatencyHeatmap
from ._analyze import format_heatmap
from ._endpoints import parse_options
from ._experiment import add_common_arguments, common_options
from ._run import add_endpoint_arguments, endpoint_from_args
from ._workload import tokenizer_from_args

__all__ = ["add_heatmap_arguments", "heatmap_command"]


def add_heatmap_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio heatmap`: `LatencyHeatmap`'s fields."""
    add_endpoint_arguments(parser, payloads=False)
    d = attrs.fields(LatencyHeatmap)
    add = parser.add_argument
    add("--source-file", required=True, help="text the prompts are cut from")
    add("--clients", type=int, default=d.clients.default,
        help="concurrent clients (default %(default)s)")  # fmt: skip
    add("--input-lengths", type=int, nargs="+", metavar="N",
        help="prompt lengths in tokens (default 10 50 200 500)")  # fmt: skip
    add("--output-lengths", type=int, nargs="+", metavar="N",
        help="max_tokens asked for (default 128 256 512 1024)")  # fmt: skip
    add("--requests-per-combination", type=int, default=d.requests_per_combination.default,
        help="requests per input and output length (default %(default)s)")  # fmt: skip
    add("--payload-option", action="append", default=[], metavar="KEY=VALUE",
        help="passed on to the endpoint's create_payload (repeatable)")  # fmt: skip
    add_common_arguments(parser, timeout=d.timeout.default, seed=None, workers=False)


def heatmap_command(args: argparse.Namespace) -> int:
    """Send every combination, print the run's summary and the cells."""
    lengths = {
        name: getattr(args, name)
        for name in ("input_lengths", "output_lengths")
        if getattr(args, name) is not None
    }
    heatmap = LatencyHeatmap(
        endpoint_from_args(args),
        args.source_file,
        clients=args.clients,
        requests_per_combination=args.requests_per_combination,
        create_payload_kwargs=parse_options(args.payload_option, "--payload-option"),
        tokenizer=tokenizer_from_args(args),
        **lengths,
        **common_options(args, name="run_name"),
    )
    result = trio.run(heatmap.run)
    print(format_heatmap(result))
    if result.output_path is not None:
        print(f"\nresults: {result.output_path}  (load with LatencyHeatmapResult.load(...))")
    return 0
