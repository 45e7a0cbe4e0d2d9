"""A live progress line for a run: requests done, throughput, errors, time.

It reads a `LiveProgress` that the run updates (the counters, and the run's
planned size: its number of requests, or its duration), and redraws one line
of a terminal a few times a second::

    [##########----------]   120/240 req  48.1 req/s  1,532 tok/s  2 errors  8 in flight  2.5 s

When the run names statistics to show (``progress_bar_stats``, see
`llmeter_trio.live_display`), they follow on lines of their own, from the
run's statistics so far::

      rpm=2,886.0/min  output_tps=1,532.0 tok/s  p50_ttft=0.312 s  p90_ttft=0.480 s
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TextIO, TypeVar

import outcome
import trio

from .engine import LiveProgress
from .live_display import DEFAULT_DISPLAY_STATS as DEFAULT_DISPLAY_STATS
from .live_display import format_display_stats, statistic_names

__all__ = [
    "DEFAULT_DISPLAY_STATS",
    "format_live_stats",
    "format_progress",
    "live_stats",
    "run_with_progress",
]

T = TypeVar("T")

BAR_WIDTH = 20


def format_progress(progress: LiveProgress, elapsed: float) -> str:
    """One progress line; the bar follows requests (count-bound) or time (time-bound)."""
    total_requests, run_duration = progress.total_requests, progress.run_duration
    if total_requests:
        fraction = progress.finished / total_requests
        count = f"{progress.finished:>5}/{total_requests} req"
    else:
        fraction = elapsed / run_duration if run_duration else 0.0
        count = f"{progress.finished:>5} req"
    filled = round(min(max(fraction, 0.0), 1.0) * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    rate = _per_second(progress.finished, elapsed)
    tokens = _per_second(progress.output_tokens, elapsed)
    errors = "1 error" if progress.failed == 1 else f"{progress.failed} errors"
    in_flight = progress.started - progress.finished
    return (
        f"[{bar}] {count}  {rate:,.1f} req/s  {tokens:,.0f} tok/s  {errors}"
        f"  {in_flight} in flight  {elapsed:,.1f} s"
    )


def live_stats(progress: LiveProgress, elapsed: float) -> dict[str, Any]:
    """The run's statistics so far, for the ones `progress.display_stats` shows.

    From the run's own statistics (`RunStats`), over `elapsed` seconds; only
    the metrics shown are summarized, to keep a redraw cheap. ``output_tps``
    (LLMeter's live-only statistic) is the progress line's tokens per second.
    """
    if progress.stats is None or not progress.display_stats:
        return {}
    names = statistic_names(progress.display_stats)
    metrics = {name.rsplit("-", 1)[0] for name in names}
    stats = progress.stats.to_dict(elapsed or None, metrics=metrics)
    stats["output_tps"] = _per_second(progress.output_tokens, elapsed)
    return stats


def format_live_stats(progress: LiveProgress, elapsed: float, width: int = 100) -> list[str]:
    """The lines of statistics `progress.display_stats` names (none if it names none),
    each within `width` characters where the items allow."""
    if not progress.display_stats:
        return []
    items = format_display_stats(live_stats(progress, elapsed), progress.display_stats)
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += "  " + item
        else:
            lines.append("  " + item)
    return lines


def _per_second(count: int, elapsed: float) -> float:
    return count / elapsed if elapsed > 0 else 0.0


class _StatsLines:
    """The statistics lines, recomputed at most every `interval` seconds of the run, and
    never more often than every 20 times what the last computation cost."""

    def __init__(self, progress: LiveProgress, interval: float, width: int) -> None:
        self.progress, self.interval, self.width = progress, interval, width
        self.lines: list[str] = []
        self.next_at = -math.inf

    def get(self, elapsed: float, now: float, final: bool) -> list[str]:
        if final or now >= self.next_at:
            began = time.perf_counter()
            self.lines = format_live_stats(self.progress, elapsed, self.width)
            cost = time.perf_counter() - began
            self.next_at = now + max(self.interval, 20 * cost)
        return self.lines


async def run_with_progress(
    run: Callable[[], Awaitable[T]],
    progress: LiveProgress,
    *,
    stream: TextIO | None = None,
    interval: float = 0.25,
    label: str = "",
) -> T:
    """Await `run()` while redrawing the progress line every `interval` seconds.

    `progress` is the `LiveProgress` that `run()` passes to `Runner.run`, which
    fills in the run's planned size as it starts, and the statistics to show
    under the line when ``progress_bar_stats`` names some.

    On a terminal the lines are redrawn in place; elsewhere (a log file, CI)
    they are written at most every 10 seconds, and once at the end. A `label`
    (e.g. ``"level 2/4, 8 clients"``) starts each progress line. Whatever
    `run()` returns or raises passes through unchanged; when it raises before
    sending a request (bad settings), nothing final is drawn and what was
    drawn in place is cleared, so the error is all that shows.
    """
    out = stream if stream is not None else sys.stderr
    in_place = out.isatty()
    width = shutil.get_terminal_size().columns - 1 if in_place else 100
    start = trio.current_time()
    stats_lines = _StatsLines(progress, max(interval, 0.5), width)
    drawn = 0  # lines drawn in place, to go back over

    def back_over_drawn() -> str:
        return (f"\x1b[{drawn - 1}A" if drawn > 1 else "") + "\r"

    def draw(final: bool) -> None:
        nonlocal drawn
        now = trio.current_time()
        elapsed = now - start
        line = format_progress(progress, elapsed)
        if label:
            line = f"{label}  {line}"
        lines = [line, *stats_lines.get(elapsed, now, final)]
        if in_place:
            out.write(back_over_drawn() + "\x1b[K\n".join(lines) + "\x1b[K\x1b[J")
            drawn = len(lines)
            if final:
                out.write("\n")
        else:
            out.write("".join(f"{text}\n" for text in lines))
        out.flush()

    async def redraw() -> None:
        period = interval if in_place else max(interval, 10.0)
        while True:
            await trio.sleep(period)
            draw(final=False)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(redraw)
        result = await outcome.acapture(run)
        nursery.cancel_scope.cancel()
    if isinstance(result, outcome.Error) and progress.started == 0:
        if in_place:
            out.write(back_over_drawn() + "\x1b[J")
            out.flush()
    else:
        draw(final=True)
    return result.unwrap()
