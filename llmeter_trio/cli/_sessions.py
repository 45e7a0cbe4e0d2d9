"""``--turns K`` and ``--think-time DIST``: multi-turn sessions from the command line."""

from __future__ import annotations

import argparse
from typing import Any

from ..run_config import RunConfig
from ..workloads import Sessions, parse_distribution

__all__ = ["add_session_arguments", "session_replay_values", "sessions_from_args"]


def add_session_arguments(parser: argparse.ArgumentParser) -> None:
    """The multi-turn session options (docs/workloads.md)."""
    group = parser.add_argument_group("multi-turn sessions (docs/workloads.md)")
    group.add_argument(
        "--turns",
        type=int,
        metavar="K",
        help="make each payload the first turn of a K-turn conversation that sends the "
        "history with the real answers; --n-requests and --rate then count sessions",
    )
    group.add_argument(
        "--think-time",
        metavar="DIST",
        help="seconds between a turn's answer and the next turn: 2, uniform:1,5, "
        "normal:3,1, lognormal:3,0.5 or empirical:FILE (default 0; needs --turns)",
    )


def sessions_from_args(args: argparse.Namespace) -> Sessions | None:
    """The sessions ``--turns``/``--think-time`` ask for (a replayed run's follow-ups kept)."""
    if args.turns is None:
        if args.think_time is not None:
            raise ValueError("--think-time needs --turns K")
        return None
    if isinstance(args.turns, bool) or args.turns < 1:
        raise ValueError(f"--turns must be a whole number of at least 1, not {args.turns}")
    think_time: Any = 0.0
    if args.think_time is not None:
        try:
            think_time = parse_distribution(str(args.think_time))
        except (ValueError, OSError) as exc:
            raise ValueError(f"--think-time: {exc}") from None
    replayed: RunConfig | None = getattr(args, "replayed", None)
    saved = (replayed.sessions if replayed is not None else None) or {}
    return Sessions(turns=args.turns, think_time=think_time, follow_ups=saved.get("follow_ups"))


def session_replay_values(config: RunConfig) -> dict[str, Any]:
    """A saved run's sessions as ``--turns`` and ``--think-time`` values."""
    if config.sessions is None:
        return {}
    think = Sessions(turns=1, think_time=config.sessions.get("think_time", 0)).think_time
    return {"turns": config.sessions["turns"], "think_time": str(think)}
