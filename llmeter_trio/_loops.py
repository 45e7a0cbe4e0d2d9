"""The engine runs on trio; this lets it be awaited from asyncio too, and run from plain code.

Under trio, a run is awaited as it is. Under asyncio (a Jupyter notebook,
`asyncio.run`), it runs as a trio *guest* on the asyncio loop
(`trio.lowlevel.start_guest_run`): trio's tasks take turns on the loop's
thread and both libraries' tasks go on side by side. Stopping works as under
trio:

- Cancelling the awaiting asyncio task (`task.cancel()`, `asyncio.timeout`,
  the first Ctrl-C in `asyncio.run`) cancels the trio run, which saves the
  partial result as on a trio cancellation; then the task sees `CancelledError`.
- Ctrl-C or SIGTERM while requests are being sent reaches the run's own signal
  watcher (the main thread's Python signal handlers run on the loop), which
  stops the load, saves, and raises `RunInterrupted`, a `KeyboardInterrupt`.

Runs awaited side by side on one asyncio loop share one guest run (trio allows
one per thread), which ends with the last of them. `run_sync` runs one of them
from code with no event loop (a script).
"""

from __future__ import annotations

import asyncio
import functools
import sys
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, cast

import outcome
import sniffio
import trio

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

__all__ = ["run_on_any_loop", "run_sync", "runs_on_any_loop"]

P = ParamSpec("P")
T = TypeVar("T")


async def run_on_any_loop(
    async_fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``await async_fn(*args, **kwargs)`` (trio code) from trio or from asyncio."""
    library = sniffio.current_async_library()
    if library == "trio":
        return await async_fn(*args, **kwargs)
    if library == "asyncio":
        return await _as_asyncio_guest(functools.partial(async_fn, *args, **kwargs))
    raise RuntimeError(f"llmeter-trio runs under trio or asyncio, not under {library}")


def runs_on_any_loop(
    async_fn: Callable[P, Awaitable[T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Decorate an async function (or method) of the engine so asyncio can await it too."""

    @functools.wraps(async_fn)
    async def on_any_loop(*args: P.args, **kwargs: P.kwargs) -> T:
        return await run_on_any_loop(async_fn, *args, **kwargs)

    return on_any_loop


def run_sync(async_fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``async_fn(*args, **kwargs)`` to the end from code with no event loop; its result.

    For scripts: ``result = run_sync(runner.run, payload=payloads, clients=4)``.
    Where an event loop already runs (a notebook, async code), await the call
    instead: blocking the loop would stop it.
    """
    try:
        library: str | None = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        library = None
    if library is None and _asyncio_loop_running():
        library = "asyncio"
    if library is not None:
        name = getattr(async_fn, "__qualname__", "the call")
        raise RuntimeError(
            f"run_sync cannot block inside a running {library} event loop; "
            f"await {name}(...) instead"
        )
    return trio.run(functools.partial(async_fn, *args, **kwargs))


def _asyncio_loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Call:
    """One awaited call, run as a task of the loop's guest run; cancellable from asyncio."""

    def __init__(self, async_fn: Callable[[], Awaitable[Any]], loop: asyncio.AbstractEventLoop):
        self.async_fn = async_fn
        self.done: asyncio.Future[outcome.Outcome[Any]] = loop.create_future()
        self.scope = trio.CancelScope()
        self.cancel_requested = False

    async def run(self) -> None:
        ended = await outcome.acapture(self._in_scope)
        if isinstance(ended, outcome.Error) and isinstance(ended.error, trio.Cancelled):
            return  # the guest run itself was stopped (KeyboardInterrupt): its end says why
        self.resolve(ended)

    async def _in_scope(self) -> Any:
        with self.scope:
            return await self.async_fn()
        return None  # cancelled from the asyncio side

    def resolve(self, ended: outcome.Outcome[Any]) -> None:
        if not self.done.done():
            self.done.set_result(ended)


class _Guest:
    """The one trio guest run on an asyncio loop (trio allows one per thread).

    It runs every call awaited on that loop, side by side, as tasks of one
    nursery, and ends when the last of them does; the next call starts another.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.calls: set[_Call] = set()
        self.waiting: list[_Call] | None = []  # submitted before the nursery opened
        self.nursery: trio.Nursery | None = None
        self.idle = trio.Event()
        self.finished: asyncio.Future[None] = loop.create_future()
        trio.lowlevel.start_guest_run(
            self._main,
            run_sync_soon_threadsafe=loop.call_soon_threadsafe,
            done_callback=self._done,
            host_uses_signal_set_wakeup_fd=True,  # asyncio's own signal handling uses it
        )
        self.token = trio.lowlevel.current_trio_token()  # set up once start_guest_run returns

    @property
    def accepting(self) -> bool:
        return not self.idle.is_set()

    def submit(self, async_fn: Callable[[], Awaitable[Any]]) -> _Call:
        call = _Call(async_fn, self.loop)
        self.calls.add(call)  # counted at once: the run cannot end before the call starts
        self.token.run_sync_soon(self._start, call)
        return call

    def cancel(self, call: _Call) -> None:
        call.cancel_requested = True
        self.token.run_sync_soon(call.scope.cancel)

    def _start(self, call: _Call) -> None:
        if self.nursery is None:
            assert self.waiting is not None
            self.waiting.append(call)
        else:
            self.nursery.start_soon(self._run, call)

    async def _run(self, call: _Call) -> None:
        try:
            await call.run()
        finally:
            if call.done.done():
                self.calls.discard(call)
            if not self.calls:
                self.idle.set()  # from now on, new calls wait for the next guest run

    async def _main(self) -> None:
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            waiting, self.waiting = self.waiting or [], None
            for call in waiting:
                nursery.start_soon(self._run, call)
            await self.idle.wait()

    def _done(self, ended: outcome.Outcome[None]) -> None:
        error: BaseException = RuntimeError("the trio guest run ended before the call")
        if isinstance(ended, outcome.Error):  # else no call is left unanswered: to be sure
            error = ended.error
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]  # the nursery's group around one KeyboardInterrupt
        for call in self.calls:  # e.g. KeyboardInterrupt: every call left gets it
            call.resolve(outcome.Error(error))
        _guests.pop(self.loop, None)
        self.finished.set_result(None)


_guests: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Guest] = weakref.WeakKeyDictionary()


async def _as_asyncio_guest(async_fn: Callable[[], Awaitable[T]]) -> T:
    loop = asyncio.get_running_loop()
    while True:
        guest = _guests.get(loop)
        if guest is None:
            guest = _guests[loop] = _Guest(loop)
        if guest.accepting:
            break
        await asyncio.shield(guest.finished)  # the last run on this loop is ending
    call = guest.submit(async_fn)
    while not call.done.done():  # the call always ends, after saving what it measured
        try:
            await asyncio.shield(call.done)
        except asyncio.CancelledError:
            guest.cancel(call)
    while guest.idle.is_set() and not guest.finished.done():  # the last call: let trio end
        try:
            await asyncio.shield(guest.finished)
        except asyncio.CancelledError:
            call.cancel_requested = True
    ended = call.done.result()
    if isinstance(ended, outcome.Error) and not isinstance(ended.error, trio.Cancelled):
        ended.unwrap()  # the run's error (also one raised while it stopped) is raised as it is
    if call.cancel_requested:
        raise asyncio.CancelledError()
    return cast(T, ended.unwrap())
