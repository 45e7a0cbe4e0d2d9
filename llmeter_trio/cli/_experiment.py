"""Options every experiment command shares: timeout, seed, workers, callbacks, output."""

from __future__ import annotations

import argparse
from typing import Any

from ..plugins import callback_from_config
from ._display_options import (
    add_display_arguments,
    add_ray_resource_argument,
    display_options,
    ray_resources_from_args,
)
from ._endpoints import parse_callback
from ._run import split_output, workers_from_arg

__all__ = ["add_common_arguments", "common_options"]


def add_common_arguments(
    parser: argparse.ArgumentParser,
    *,
    timeout: float | None,
    seed: int | None,
    workers: bool,
    stats: bool = False,
) -> None:
    """``--timeout``, ``--seed``, ``--output``, ``--no-progress`` (and with `stats`, ``--stat``),
    and (`workers`) ``--workers``, ``--ray``, ``--ray-resource``, ``--callback``, with the
    experiment's defaults."""
    add_display_arguments(parser, stats=stats)
    add = parser.add_argument
    add("--timeout", type=float, default=timeout, help="deadline per request in seconds")
    add("--seed", type=int, default=seed, help="seed for prompts, payload orders and schedules")
    add("--output", help="the experiment's folder to write (local path or fsspec URL)")
    if workers:
        add("--workers", metavar="N|auto", help="send each run's load from N worker processes")
        add("--ray", metavar="ADDRESS", help="run the --workers on the Ray cluster at ADDRESS")
        add_ray_resource_argument(parser)
        add(
            "--callback",
            action="append",
            default=[],
            metavar="NAME[:JSON]",
            help="a registered callback for every run, options as a JSON object (repeatable)",
        )


def common_options(args: argparse.Namespace, *, name: str = "test_name") -> dict[str, Any]:
    """The experiment's keyword arguments the shared options give (`name`: its folder's field)."""
    parent, folder = split_output(args.output)
    options: dict[str, Any] = {
        "timeout": args.timeout,
        "seed": args.seed,
        "output_path": parent,
        name: folder,
        **display_options(args),
    }
    if hasattr(args, "workers"):
        options["workers"] = workers_from_arg(args.workers)
        if args.ray is not None:
            options.update(executor="ray", ray_address=args.ray)
        options["ray_resources"] = ray_resources_from_args(args)
        if args.callback:
            options["callbacks"] = [callback_from_config(parse_callback(c)) for c in args.callback]
    return options
