"""Options of the live display and of Ray placement that `run` and the experiment commands share."""

from __future__ import annotations

import argparse
from typing import Any

from ..live_display import DisplayStats

__all__ = [
    "add_display_arguments",
    "add_ray_resource_argument",
    "display_options",
    "display_stats_from_args",
    "ray_resources_from_args",
]


def add_display_arguments(parser: argparse.ArgumentParser, *, stats: bool = True) -> None:
    """``--no-progress``, and (`stats`) ``--stat LABEL=STATISTIC`` for the live display."""
    add = parser.add_argument
    add("--no-progress", action="store_true", help="no live display on stderr")
    if stats:
        add(
            "--stat",
            action="append",
            default=[],
            metavar="LABEL=STATISTIC",
            help="a statistic the live display shows, e.g. 'p99 ttft=time_to_first_token-p99' "
            "(repeatable; STATISTIC:inv shows its reciprocal; 'none' shows none; "
            "default: LLMeter's set)",
        )


def display_stats_from_args(texts: list[str]) -> DisplayStats | None:
    """``--stat`` values as `progress_bar_stats` (None: the default set)."""
    if not texts:
        return None
    if texts == ["none"]:
        return {}
    shown: dict[str, Any] = {}
    for text in texts:
        label, sep, statistic = text.partition("=")
        if not sep or not label.strip() or not statistic.strip():
            raise ValueError(f"--stat must be LABEL=STATISTIC, not {text!r}")
        name, _, invert = statistic.strip().partition(":")
        if invert not in ("", "inv"):
            raise ValueError(f"--stat {text!r}: only ':inv' may follow the statistic's name")
        shown[label.strip()] = (name, "inv") if invert else name
    return shown


def display_options(args: argparse.Namespace) -> dict[str, Any]:
    """``show_progress`` (and ``progress_bar_stats`` when the command has ``--stat``): the
    command line shows the display on stderr, drawn in place on a terminal and as a plain
    line every few seconds elsewhere, unless ``--no-progress``."""
    options: dict[str, Any] = {"show_progress": not args.no_progress}
    if hasattr(args, "stat"):
        options["progress_bar_stats"] = display_stats_from_args(args.stat)
    return options


def add_ray_resource_argument(parser: argparse.ArgumentParser) -> None:
    """``--ray-resource NAME=AMOUNT`` (repeatable)."""
    parser.add_argument(
        "--ray-resource",
        action="append",
        default=[],
        metavar="NAME=AMOUNT",
        help="a Ray resource each worker actor asks for, e.g. CPU=1 or GPU=0.5 (repeatable)",
    )


def ray_resources_from_args(args: argparse.Namespace) -> dict[str, float] | None:
    """``--ray-resource NAME=AMOUNT`` values: the Ray resources each worker actor asks for."""
    texts: list[str] = args.ray_resource
    if not texts:
        return None
    if args.ray is None:
        raise ValueError("--ray-resource places workers on a Ray cluster: give --ray ADDRESS too")
    resources: dict[str, float] = {}
    for text in texts:
        name, sep, amount = text.partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = -1.0
        if not sep or not name.strip() or value < 0:
            raise ValueError(f"--ray-resource must be NAME=AMOUNT (e.g. CPU=1), not {text!r}")
        resources[name.strip()] = value
    return resources
