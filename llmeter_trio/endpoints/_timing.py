"""Timestamps taken where bytes move: the helper adapters use while a response streams in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import trio

from ._response import Chunk, ChunkKind, InvocationResponse

__all__ = ["StreamRecorder", "keep_partial_timeline", "watch_recorders"]

# The recorders created while the engine watches one request (see `watch_recorders`).
_watched: ContextVar[list[StreamRecorder] | None] = ContextVar(
    "llmeter_trio_recorders", default=None
)


class StreamRecorder:
    """Records the chunk timeline of one request against the run's single clock.

    Create it right before handing the request to the transport; call `chunk`
    as each piece of output arrives and `finish` once the response has ended.
    The work per chunk is one clock read and one small object.
    """

    __slots__ = ("_now", "chunks", "send_time")

    def __init__(self) -> None:
        # The run's clock, read directly: what `trio.current_time` reads, in one call.
        self._now = now = trio.lowlevel.current_clock().current_time
        self.send_time = now()
        self.chunks: list[Chunk] = []
        watched = _watched.get()
        if watched is not None:
            watched.append(self)

    def elapsed(self) -> float:
        """Seconds since the request was sent."""
        return self._now() - self.send_time

    def chunk(
        self, chars: int, kind: ChunkKind = ChunkKind.CONTENT, tokens: int | None = None
    ) -> None:
        """Note that a piece of output arrived just now."""
        self.chunks.append(Chunk(self._now() - self.send_time, kind, chars, tokens))

    def finish(self, response: InvocationResponse) -> InvocationResponse:
        """Stamp the end of the response and derive the timings from the timeline."""
        response.time_to_last_token = self._now() - self.send_time
        response.send_time = self.send_time
        response.chunks = self.chunks
        response.derive_timings()
        return response


@contextmanager
def watch_recorders() -> Iterator[list[StreamRecorder]]:
    """Collect the `StreamRecorder`s an endpoint creates in this task during the block.

    The engine watches each request this way, so that a request cut short (by
    its timeout, the end of the run, or an error) still keeps the chunks it had
    received: the endpoint never got to call `finish`.
    """
    recorders: list[StreamRecorder] = []
    token = _watched.set(recorders)
    try:
        yield recorders
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
