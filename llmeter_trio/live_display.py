"""Which statistics a live display shows while a run goes on (LLMeter's ``progress_bar_stats``).

A display specification maps a short label to a statistic: its key in
`Result.stats` (``"time_to_first_token-p50"``), or a ``(key, "inv")`` pair to
show the reciprocal (seconds per token as tokens per second)::

    Runner(endpoint).run(payload=..., progress_bar_stats={"p99_ttft": "time_to_first_token-p99"})

`DEFAULT_DISPLAY_STATS` is LLMeter's default selection, under LLMeter's
labels. `llmeter_trio.live.run_with_progress` draws them under its progress
line; `progress_parts` and `rich_display` are what that line shows, as text
and as rich's renderable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

if TYPE_CHECKING:
    from .engine import LiveProgress

__all__ = [
    "DEFAULT_DISPLAY_STATS",
    "DisplayStats",
    "ProgressParts",
    "check_display_stats",
    "format_display_stats",
    "progress_parts",
    "rich_display",
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


@attrs.frozen
class ProgressParts:
    """What a progress line shows: the bar's `fraction` (0 to 1), the `count` of requests
    (``"50/100 req"``) and the `figures` that follow (rates, errors, in flight, time)."""

    fraction: float
    count: str
    figures: tuple[str, ...]


def progress_parts(progress: LiveProgress, elapsed: float) -> ProgressParts:
    """The parts of a progress line; the bar follows requests (count-bound) or time."""
    total_requests, run_duration = progress.total_requests, progress.run_duration
    if total_requests:
        fraction = progress.finished / total_requests
        count = f"{progress.finished:>5}/{total_requests} req"
    else:
        fraction = elapsed / run_duration if run_duration else 0.0
        count = f"{progress.finished:>5} req"
    rate = _per_second(progress.finished, elapsed)
    tokens = _per_second(progress.output_tokens, elapsed)
    errors = "1 error" if progress.failed == 1 else f"{progress.failed} errors"
    in_flight = progress.started - progress.finished
    figures: tuple[str, ...] = (
        f"{rate:,.1f} req/s",
        f"{tokens:,.0f} tok/s",
        errors,
        f"{in_flight} in flight",
        f"{elapsed:,.1f} s",
    )
    sessions = progress.sessions
    if sessions is not None:  # a multi-turn run: its sessions too
        figures = (
            *figures[:4],
            f"{sessions.started} sessions ({sessions.active} active)",
            *figures[4:],
        )
    return ProgressParts(min(max(fraction, 0.0), 1.0), count, figures)


def rich_display(
    progress: LiveProgress, elapsed: float, label: str, stats_lines: Sequence[str]
) -> Any:
    """rich's renderable of a live display: the label, a bar as wide as the terminal
    allows, the counts and figures, then the statistics lines (needs rich)."""
    from rich.console import Group
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    parts = progress_parts(progress, elapsed)
    line = Table.grid(padding=(0, 1), expand=True)
    if label:
        line.add_column(no_wrap=True, style="bold")
    line.add_column(ratio=1, min_width=10)
    line.add_column(no_wrap=True)
    bar = ProgressBar(total=1.0, completed=parts.fraction, width=None)
    figures = Text(f"{parts.count.strip()}  ", style="cyan")
    failed = progress.failed > 0
    for index, figure in enumerate(parts.figures):
        figures.append(figure, style="red" if failed and "error" in figure else "")
        if index < len(parts.figures) - 1:
            figures.append("  ")
    line.add_row(*([label] if label else []), bar, figures)
    stats = [Text(text.strip(), style="dim", overflow="fold") for text in stats_lines]
    return Group(line, *stats)


def _per_second(count: int, elapsed: float) -> float:
    return count / elapsed if elapsed > 0 else 0.0
