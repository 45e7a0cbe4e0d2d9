"""A live progress line for a run: requests done, throughput, errors, time.

It reads a `LiveProgress` that the run updates (the counters, and the run's
planned size: its number of requests, or its duration), and redraws one line
of a terminal a few times a second::

    [##########----------]   120/240 req  48.1 req/s  1,532 tok/s  2 errors  8 in flight  2.5 s
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TextIO, TypeVar

import outcome
import trio

from .engine import LiveProgress

__all__ = ["format_progress", "run_with_progress"]

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
    rate = progress.finished / elapsed if elapsed > 0 else 0.0
    tokens = progress.output_tokens / elapsed if elapsed > 0 else 0.0
    errors = "1 error" if progress.failed == 1 else f"{progress.failed} errors"
    in_flight = progress.started - progress.finished
    return (
        f"[{bar}] {count}  {rate:,.1f} req/s  {tokens:,.0f} tok/s  {errors}"
        f"  {in_flight} in flight  {elapsed:,.1f} s"
    )


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
    fills in the run's planned size as it starts.

    On a terminal the line is redrawn in place; elsewhere (a log file, CI) a
    line is written at most every 10 seconds, and once at the end. A `label`
    (e.g. ``"level 2/4, 8 clients"``) starts each line. Whatever `run()`
    returns or raises passes through unchanged; when it raises before sending
    a request (bad settings), no final line is drawn and an in-place one is
    cleared, so the error is all that shows.
    """
    out = stream if stream is not None else sys.stderr
    in_place = out.isatty()
    start = trio.current_time()

    def draw(final: bool) -> None:
        line = format_progress(progress, trio.current_time() - start)
        if label:
            line = f"{label}  {line}"
        out.write(f"\r{line}\x1b[K" if in_place else line + "\n")
        if final and in_place:
            out.write("\n")
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
            out.write("\r\x1b[K")
            out.flush()
    else:
        draw(final=True)
    return result.unwrap()
