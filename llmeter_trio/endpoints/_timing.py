"""Timestamps taken where bytes move: the helper adapters use while a response streams in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import trio

from ._response import Chunk, ChunkKind, InvocationResponse

__all__ = ["StreamRecorder", "keep_partial_timeline", "watch_recorders"]


class _Watch:
    """The engine's view of one request: the run's start, and the recorders made for it."""

    __slots__ = ("recorders", "run_start")

    def __init__(self, run_start: float) -> None:
        self.run_start = run_start
        self.recorders: list[StreamRecorder] = []


# Set by the engine around each request it sends (see `watch_recorders`).
_watched: ContextVar[_Watch | None] = ContextVar("llmeter_trio_recorders", default=None)


class StreamRecorder:
    """Records the chunk timeline of one request against the run's single clock.

    Create it right before handing the request to the transport; call `chunk`
    as each piece of output arrives and `finish` once the response has ended.
    The work per chunk is one clock read and one small object.

    `send_time` is on the run clock: seconds from the run's start (outside a
    run, such as in an adapter's unit test, the trio clock's own reading).
    """

    __slots__ = ("_now", "_sent_at", "chunks", "send_time")

    def __init__(self) -> None:
        # The run's clock, read directly: what `trio.current_time` reads, in one call.
        self._now = now = trio.lowlevel.current_clock().current_time
        self._sent_at = sent_at = now()
        self.chunks: list[Chunk] = []
        watch = _watched.get()
        if watch is None:
            self.send_time = sent_at
        else:
            self.send_time = sent_at - watch.run_start
            watch.recorders.append(self)

    def elapsed(self) -> float:
        """Seconds since the request was sent."""
        return self._now() - self._sent_at

    def chunk(
        self, chars: int, kind: ChunkKind = ChunkKind.CONTENT, tokens: int | None = None
    ) -> None:
        """Note that a piece of output arrived just now."""
        self.chunks.append(Chunk(self._now() - self._sent_at, kind, chars, tokens))

    def finish(self, response: InvocationResponse) -> InvocationResponse:
        """Stamp the end of the response and derive the timings from the timeline."""
        response.time_to_last_token = self._now() - self._sent_at
        response.send_time = self.send_time
        response.chunks = self.chunks
        response.derive_timings()
        return response


@contextmanager
def watch_recorders(run_start: float) -> Iterator[list[StreamRecorder]]:
    """Collect the `StreamRecorder`s an endpoint creates in this task during the block.

    The engine watches each request this way, so that a request cut short (by
    its timeout, the end of the run, or an error) still keeps the chunks it had
    received: the endpoint never got to call `finish`. The recorders take their
    `send_time` from `run_start` (a trio time), on the run clock.
    """
    watch = _Watch(run_start)
    token = _watched.set(watch)
    try:
        yield watch.recorders
    finally:
        _watched.reset(token)


def keep_partial_timeline(response: InvocationResponse, recorders: list[StreamRecorder]) -> None:
    """Give a failed record the timeline its request had received before it was cut short."""
    if response.chunks or not recorders:
        return
    recorder = recorders[-1]
    response.send_time = recorder.send_time
    response.chunks = recorder.chunks
    response.derive_timings()
