"""The live display of a run: progress, requests in flight, rates, errors, statistics.

It reads a `LiveProgress` that the run updates (the counters, and the run's
planned size: its number of requests, or its duration) and redraws, a few
times a second at most: with rich (the ``live`` extra) on a terminal, in a
notebook as one output updated in place, else as plain lines::

    [##########----------]   120/240 req  48.1 req/s  1,532 tok/s  2 errors  8 in flight  2.5 s

The statistics (``progress_bar_stats``, see `llmeter_trio.live_display`)
follow on lines of their own, from the run's statistics so far::

      rpm=2,886.0/min  output_tps=1,532.0 tok/s  p50_ttft=0.312 s  p90_ttft=0.480 s

`Runner.run` draws it itself when stderr is a terminal or in a notebook
(`display_wanted`); `run_with_progress` draws it around any run, and a run
inside draws no second one.
"""

from __future__ import annotations

import contextlib
import contextvars
import html
import importlib
import io
import math
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TextIO, TypeVar

import attrs
import outcome
import trio

from .engine import LiveProgress
from .live_display import DEFAULT_DISPLAY_STATS as DEFAULT_DISPLAY_STATS
from .live_display import _per_second, format_display_stats, progress_parts, statistic_names

__all__ = [
    "DEFAULT_DISPLAY_STATS",
    "current_label",
    "display_label",
    "display_wanted",
    "format_live_stats",
    "format_progress",
    "in_notebook",
    "live_stats",
    "run_with_progress",
]

T = TypeVar("T")

BAR_WIDTH = 20


def format_progress(progress: LiveProgress, elapsed: float) -> str:
    """One progress line; the bar follows requests (count-bound) or time (time-bound)."""
    parts = progress_parts(progress, elapsed)
    filled = round(parts.fraction * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    return f"[{bar}] {parts.count}  " + "  ".join(parts.figures)


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


class _StatsLines:
    """The statistics lines, recomputed at most every `interval` seconds of the run, and
    never more often than every 20 times what the last computation cost. With `default`,
    a run that names no statistics (``progress_bar_stats=None``) shows LLMeter's default."""

    def __init__(
        self, progress: LiveProgress, interval: float, width: int, default: bool = False
    ) -> None:
        self.progress, self.interval, self.width = progress, interval, width
        self.default = default
        self.lines: list[str] = []
        self.next_at = -math.inf

    def get(self, elapsed: float, now: float, final: bool) -> list[str]:
        if final or now >= self.next_at:
            began = time.perf_counter()
            shown = self.progress
            if self.default and shown.display_stats is None:
                shown = attrs.evolve(shown, display_stats=DEFAULT_DISPLAY_STATS)
            self.lines = format_live_stats(shown, elapsed, self.width)
            cost = time.perf_counter() - began
            self.next_at = now + max(self.interval, 20 * cost)
        return self.lines


#: a display draws for the run in this context: Runner.run does not draw a second one
_DRAWING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "llmeter_trio_drawing", default=False
)
#: what a display started by Runner.run in this context says first (a sweep's step)
_LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("llmeter_trio_label", default="")

#: a run's display redraws no more often than this costs 1% of the run's wall time
MAX_SHARE = 0.01


@contextlib.contextmanager
def display_label(label: str) -> Iterator[None]:
    """Runs started within start their live display's line with `label` (e.g. a sweep's step)."""
    token = _LABEL.set(label)
    try:
        yield
    finally:
        _LABEL.reset(token)


def current_label() -> str:
    """The label `display_label` set for runs started here ("" when none)."""
    return _LABEL.get()


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's, when it is imported)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # pragma: no cover - a broken IPython is no notebook
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def display_wanted(show: bool | None, stream: TextIO | None = None) -> bool:
    """Whether Runner.run draws a display: never when one draws for the run already (a
    LoadTest's, the CLI's); else as `show` says, or when `stream` (stderr) is a terminal
    or the run is in a notebook."""
    if _DRAWING.get():
        return False  # never a second display for the same run
    if show is not None:
        return show
    out = stream if stream is not None else sys.stderr
    return _isatty(out) or in_notebook()


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def _rich_console(out: TextIO, in_place: bool) -> Any:
    """A rich console on `out`, or None without rich (the `live` extra) or off a terminal."""
    if not in_place:
        return None
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(file=out, stderr=out is sys.stderr)


class _Throttle:
    """Redraws no more often than every `interval` seconds of the run, nor than what the
    last one cost allows (`MAX_SHARE` of the time between them)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.next_at = -math.inf

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def spent(self, now: float, cost: float) -> None:
        self.next_at = now + max(self.interval, cost / MAX_SHARE)


async def run_with_progress(
    run: Callable[[], Awaitable[T]],
    progress: LiveProgress,
    *,
    stream: TextIO | None = None,
    interval: float = 0.25,
    label: str = "",
    console: Any = None,
) -> T:
    """Await `run()` while a live display of `progress` is redrawn.

    `progress` is the `LiveProgress` that `run()` passes to `Runner.run`, which
    fills in the run's planned size as it starts, and the statistics to show
    under the line when ``progress_bar_stats`` names some. A display drawn in
    place (a terminal, a notebook) shows LLMeter's default statistics
    (`DEFAULT_DISPLAY_STATS`) when it names none (None; ``{}`` shows none).

    On a terminal (and in a notebook) with rich installed (the ``live``
    extra), a rich display: a progress bar (requests, or time for a run bound
    by time), requests in flight, rates, errors, and the statistics, redrawn
    in place at most every `interval` seconds, and less often when a redraw
    would cost more than 1% of the time between two. Without rich, the same
    as plain lines redrawn in place, cut to the terminal's width. Elsewhere (a
    log file, CI) plain lines at most every 5 seconds, and once at the end. In
    a notebook, one output cell updated in place (IPython's display). A
    `label` (e.g. ``"level 2/4: 8 clients"``) starts each progress line; a
    `console` (rich's) draws there instead of `stream`. Whatever `run()`
    returns or raises passes through unchanged; when it raises before sending
    a request (bad settings), nothing final is drawn and what was drawn in
    place is cleared, so the error is all that shows.
    """
    out = stream if stream is not None else sys.stderr
    if console is None and stream is None and in_notebook():
        screen: _Screen = _NotebookScreen(progress, label)
    else:
        console = console if console is not None else _rich_console(out, _isatty(out))
        if console is not None:
            screen = _RichScreen(console, progress, label)
        else:
            screen = _PlainScreen(out, progress, label)
    start = trio.current_time()
    throttle = _Throttle(interval if screen.in_place else max(interval, 5.0))
    # a display drawn in place shows LLMeter's default statistics unless told otherwise
    stats_lines = _StatsLines(progress, max(interval, 0.5), screen.width, screen.in_place)

    def draw(final: bool) -> None:
        now = trio.current_time()
        began = time.perf_counter()
        elapsed = now - start
        screen.draw(elapsed, stats_lines.get(elapsed, now, final), final)
        throttle.spent(now, time.perf_counter() - began)

    async def redraw() -> None:
        while True:
            await trio.sleep(throttle.interval)
            now = trio.current_time()
            if throttle.due(now):
                draw(final=False)

    token = _DRAWING.set(True)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(redraw)
            result = await outcome.acapture(run)
            nursery.cancel_scope.cancel()
    finally:
        _DRAWING.reset(token)
    if isinstance(result, outcome.Error) and progress.started == 0:
        screen.clear()
    else:
        draw(final=True)
    screen.close()
    return result.unwrap()


class _Screen:
    """Where a display draws: `draw` the progress and its statistics lines."""

    in_place: bool
    width: int

    def draw(self, elapsed: float, stats: list[str], final: bool) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        """Remove what was drawn in place (the run was refused)."""

    def close(self) -> None:
        """The run is over."""


class _PlainScreen(_Screen):
    """Plain lines: redrawn in place on a terminal (cut to its width), else appended."""

    def __init__(self, out: TextIO, progress: LiveProgress, label: str) -> None:
        self.out, self.progress, self.label = out, progress, label
        self.in_place = _isatty(out)
        self.width = shutil.get_terminal_size().columns - 1 if self.in_place else 100
        self.drawn = 0  # lines drawn in place, to go back over

    def _back_over_drawn(self) -> str:
        return (f"\x1b[{self.drawn - 1}A" if self.drawn > 1 else "") + "\r"

    def draw(self, elapsed: float, stats: list[str], final: bool) -> None:
        line = format_progress(self.progress, elapsed)
        if self.label:
            line = f"{self.label}  {line}"
        lines = [line, *stats]
        if self.in_place:
            lines = [text[: self.width] for text in lines]
            self.out.write(self._back_over_drawn() + "\x1b[K\n".join(lines) + "\x1b[K\x1b[J")
            self.drawn = len(lines)
            if final:
                self.out.write("\n")
        else:
            self.out.write("".join(f"{text}\n" for text in lines))
        self.out.flush()

    def clear(self) -> None:
        if self.in_place and self.drawn:
            self.out.write(self._back_over_drawn() + "\x1b[J")
            self.out.flush()


class _RichScreen(_Screen):
    """rich's live display: redrawn only when asked (the throttle decides)."""

    def __init__(self, console: Any, progress: LiveProgress, label: str) -> None:
        from rich.live import Live

        self.console, self.progress, self.label = console, progress, label
        self.in_place = True
        self.width = max(console.width - 1, 20)
        self.live = Live(console=console, auto_refresh=False, transient=False)
        self.started = False

    def draw(self, elapsed: float, stats: list[str], final: bool) -> None:
        from .live_display import rich_display

        renderable = rich_display(self.progress, elapsed, self.label, stats)
        if not self.started:
            self.live.start()
            self.started = True
        self.live.update(renderable, refresh=True)

    def clear(self) -> None:
        if self.started:
            self.live.transient = True

    def close(self) -> None:
        if self.started:
            self.live.stop()


class _NotebookScreen(_Screen):
    """A notebook's output, updated in place through IPython's display (no widgets needed):
    rich's display as HTML when rich is installed, else the plain lines."""

    def __init__(self, progress: LiveProgress, label: str) -> None:
        self.progress, self.label = progress, label
        self.in_place, self.width = True, 100
        self.handle: Any = None

    def draw(self, elapsed: float, stats: list[str], final: bool) -> None:
        shown = _ipython_display()
        page = shown.HTML(self._html(elapsed, stats))
        if self.handle is None:
            self.handle = shown.display(page, display_id=True)
        else:
            self.handle.update(page)

    def _html(self, elapsed: float, stats: list[str]) -> str:
        try:
            from rich.console import Console
        except ImportError:
            line = format_progress(self.progress, elapsed)
            text = "\n".join([f"{self.label}  {line}" if self.label else line, *stats])
            return f"<pre>{html.escape(text)}</pre>"
        from .live_display import rich_display

        console = Console(
            file=io.StringIO(),
            record=True,
            width=self.width,
            color_system="truecolor",
            force_jupyter=False,  # else rich shows it in the notebook itself
        )
        console.print(rich_display(self.progress, elapsed, self.label, stats))
        return console.export_html(inline_styles=True, code_format="<pre>{code}</pre>")

    def clear(self) -> None:
        if self.handle is not None:
            self.handle.update(_ipython_display().HTML(""))


def _ipython_display() -> Any:
    """IPython's display module (untyped)."""
    return importlib.import_module("IPython.display")
