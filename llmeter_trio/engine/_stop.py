"""Ending a run's load from inside it, cleanly and saying why (a cost cap, a dead endpoint).

`stop_run(reason)`, called from anything the run runs (an `after_invoke`
callback, an endpoint), stops sending: closed-loop clients send no next
request, an open loop sends no next arrival. Requests in flight finish, within
the run's drain grace. The run then ends as usual, saved, with
`Result.stop_reason` set; it is not `interrupted` (nothing was cut short by a
signal or an error).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

import attrs
import trio

__all__ = ["LoadStop", "stop_run"]


@attrs.define
class LoadStop:
    """The first reason given to stop the load, and the scope of the sending that it ends."""

    reason: str | None = None
    sending: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    on_stop: Callable[[], None] | None = None  # the run bounds its drain from here
    _stopped: trio.Event = attrs.field(factory=trio.Event)

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def stop(self, reason: str) -> None:
        """Stop sending; the first reason is the one kept."""
        if self.reason is not None:
            return
        self.reason = reason
        self._stopped.set()
        self.sending.cancel()
        if self.on_stop is not None:
            self.on_stop()

    async def wait(self) -> None:
        """Until the load is stopped (a wait between requests ends with it)."""
        await self._stopped.wait()

    async def stopped_within(self, seconds: float) -> bool:
        """Wait `seconds`, or less if the load is stopped meanwhile: whether it was."""
        with trio.move_on_after(seconds):
            await self._stopped.wait()
        return self._stopped.is_set()


CURRENT_STOP: ContextVar[LoadStop | None] = ContextVar("llmeter_trio_load_stop", default=None)


def stop_run(reason: str) -> None:
    """Stop the load of the run this is called from: no new requests, those in flight finish.

    The reason is saved as the result's `stop_reason`; a second call keeps the
    first reason. Call it from the run's trio thread (a callback's
    `after_invoke`, an endpoint's `invoke`), not from a worker thread.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("stop_run needs a reason: one line saying why the run stops")
    stop = CURRENT_STOP.get()
    if stop is None:
        raise RuntimeError("stop_run is called from inside a run (a callback, an endpoint)")
    stop.stop(" ".join(reason.split()))
