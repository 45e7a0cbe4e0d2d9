"""Warm-up and cool-down: which requests the statistics leave out.

Membership is decided when a request is issued, from its issue index and its
intended time, so live, low-memory and reloaded statistics agree.
"""

from __future__ import annotations

from ..run_config import RunConfig

__all__ = ["check_window", "exclusion"]


def _total(config: RunConfig) -> int | None:
    if config.n_requests is None:
        return None
    return config.n_requests if config.schedule else config.n_requests * config.clients


def check_window(config: RunConfig) -> None:
    """Refuse windows that cannot be decided up front, saying why."""
    for name in ("warmup_requests", "cooldown_requests", "warmup_seconds", "cooldown_seconds"):
        value = getattr(config, name)
        if value is not None and value < 0:
            raise ValueError(f"{name} must be 0 or more, not {value!r}")
    if config.cooldown_requests and _total(config) is None:
        raise ValueError("cooldown_requests needs a count-bound run (n_requests)")
    if config.cooldown_seconds and config.run_duration is None:
        raise ValueError("cooldown_seconds needs a time-bound run (run_duration)")


def exclusion(config: RunConfig, index: int, intended: float) -> str | None:
    """ "warmup", "cooldown" or None for the `index`-th request, due at `intended` (run clock)."""
    if config.warmup_requests and index < config.warmup_requests:
        return "warmup"
    if config.warmup_seconds and intended < config.warmup_seconds:
        return "warmup"
    total = _total(config)
    if config.cooldown_requests and total is not None and index >= total - config.cooldown_requests:
        return "cooldown"
    if (
        config.cooldown_seconds
        and config.run_duration is not None
        and intended >= config.run_duration - config.cooldown_seconds
    ):
        return "cooldown"
    return None
