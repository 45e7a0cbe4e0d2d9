"""Timestamps taken where bytes move: the helper adapters use while a response streams in."""

from __future__ import annotations

import trio

from ._response import Chunk, ChunkKind, InvocationResponse

__all__ = ["StreamRecorder"]


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
