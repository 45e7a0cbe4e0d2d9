"""Warm-up and cool-down: which requests the statistics leave out.

Membership is decided when a request is issued, from its issue index and its
intended time, so live, low-memory and reloaded statistics agree. How many
requests the run sends (for a cool-down by count) comes from the run's plan.
"""

from __future__ import annotations

from .._checks import check_number
from ..run_config import RunConfig

__all__ = ["check_window", "exclusion"]


def check_window(config: RunConfig, total_requests: int | None) -> None:
    """Refuse windows that cannot be decided up front, saying why."""
    check_number("warmup_requests", config.warmup_requests, whole=True, at_least=0)
    check_number("cooldown_requests", config.cooldown_requests, whole=True, at_least=0)
    check_number("warmup_seconds", config.warmup_seconds, at_least=0)
    check_number("cooldown_seconds", config.cooldown_seconds, at_least=0)
    if config.cooldown_requests and total_requests is None:
        raise ValueError("cooldown_requests needs a count-bound run (n_requests)")
    if config.cooldown_seconds and config.run_duration is None:
        raise ValueError("cooldown_seconds needs a time-bound run (run_duration)")


def exclusion(
    config: RunConfig, total_requests: int | None, index: int, intended: float
) -> str | None:
    """ "warmup", "cooldown" or None for the `index`-th request, due at `intended` (run clock).

    `total_requests` is the run's planned size (`RunPlan.total_requests`).
    """
    if config.warmup_requests and index < config.warmup_requests:
        return "warmup"
    if config.warmup_seconds and intended < config.warmup_seconds:
        return "warmup"
    if (
        config.cooldown_requests
        and total_requests is not None
        and index >= total_requests - config.cooldown_requests
    ):
        return "cooldown"
    if (
        config.cooldown_seconds
        and config.run_duration is not None
        and intended >= config.run_duration - config.cooldown_seconds
    ):
        return "cooldown"
    return None
