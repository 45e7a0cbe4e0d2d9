"""Which statistics a live display shows while a run goes on (LLMeter's ``progress_bar_stats``).

A display specification maps a short label to a statistic: its key in
`Result.stats` (``"time_to_first_token-p50"``), or a ``(key, "inv")`` pair to
show the reciprocal (seconds per token as tokens per second)::

    Runner(endpoint).run(payload=..., progress_bar_stats={"p99_ttft": "time_to_first_token-p99"})

`DEFAULT_DISPLAY_STATS` is LLMeter's default selection, under LLMeter's
labels. `llmeter_trio.live.run_with_progress` draws them under its progress
line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

__all__ = [
    "DEFAULT_DISPLAY_STATS",
    "DisplayStats",
    "check_display_stats",
    "format_display_stats",
    "statistic_names",
]

DisplayStats: TypeAlias = Mapping[str, str | tuple[str, str]]

#: LLMeter's default live statistics: label -> statistic (or (statistic, "inv")).
DEFAULT_DISPLAY_STATS: dict[str, str | tuple[str, str]] = {
    "rpm": "requests_per_minute",
    "output_tps": "output_tps",
    "p50_ttft": "time_to_first_token-p50",
    "p90_ttft": "time_to_first_token-p90",
    "p50_ttlt": "time_to_last_token-p50",
    "p90_ttlt": "time_to_last_token-p90",
    "p50_tps": ("time_per_output_token-p50", "inv"),
    "input_tokens": "total_input_tokens",
    "output_tokens": "total_output_tokens",
    "fail": "failed_requests",
}

MISSING = "-"  # a statistic not known yet (no successful request so far)


def check_display_stats(display_stats: DisplayStats | None) -> None:
    """A ValueError saying what is wrong unless `display_stats` is a valid specification."""
    if display_stats is None:
        return
    if not isinstance(display_stats, Mapping):
        raise ValueError(f"progress_bar_stats must map labels to statistics, not {display_stats!r}")
    for label, spec in display_stats.items():
        if isinstance(spec, str):
            continue
        if not (isinstance(spec, tuple | list) and len(spec) == 2 and spec[1] == "inv"):
            raise ValueError(
                f"progress_bar_stats[{label!r}] is {spec!r}: give a statistic's name, "
                'e.g. "time_to_first_token-p50", or (name, "inv") for its reciprocal'
            )


def statistic_names(display_stats: DisplayStats) -> set[str]:
    """The statistics a specification shows."""
    return {spec if isinstance(spec, str) else spec[0] for spec in display_stats.values()}


def format_display_stats(stats: Mapping[str, Any], display_stats: DisplayStats) -> list[str]:
    """``label=value`` for each statistic of `display_stats`, from `stats`, with its unit."""
    shown = []
    for label, spec in display_stats.items():
        key, invert = (spec, False) if isinstance(spec, str) else (spec[0], True)
        shown.append(f"{label}={_format_value(key, stats.get(key), invert)}")
    return shown


def _format_value(key: str, value: Any, invert: bool) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return MISSING if value is None else str(value)
    if invert:
        if value <= 0:
            return MISSING
        return f"{1 / value:,.1f} {'tok/s' if 'token' in key else '/s'}"
    if key.endswith("_tps"):
        return f"{value:,.1f} tok/s"
    if key.endswith("_per_minute"):
        return f"{value:,.1f}/min"
    if key.startswith("time_") and "-" in key:
        return f"{value:.3f} s"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
