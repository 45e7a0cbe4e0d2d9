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

`run_sync` runs one of them from code with no event loop (a script).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, cast

import outcome
import sniffio
import trio

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


class _GuestRun:
    """One trio guest run on the running asyncio loop, cancellable from the asyncio side."""

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.token: trio.lowlevel.TrioToken | None = None
        self.cancel_requested = False

    async def main(self, async_fn: Callable[[], Awaitable[T]]) -> T | None:
        self.token = trio.lowlevel.current_trio_token()
        if self.cancel_requested:
            self.scope.cancel()
        with self.scope:
            return await async_fn()
        return None  # cancelled from the asyncio side

    def cancel(self) -> None:
        self.cancel_requested = True
        if self.token is not None:
            self.token.run_sync_soon(self.scope.cancel)


async def _as_asyncio_guest(async_fn: Callable[[], Awaitable[T]]) -> T:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[outcome.Outcome[T | None]] = loop.create_future()
    guest = _GuestRun()
    trio.lowlevel.start_guest_run(
        guest.main,
        async_fn,
        run_sync_soon_threadsafe=loop.call_soon_threadsafe,
        done_callback=done.set_result,
        host_uses_signal_set_wakeup_fd=True,  # asyncio's own signal handling uses it
    )
    while not done.done():  # the trio run always ends, after saving what it measured
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            guest.cancel()
    ended = done.result()
    if isinstance(ended, outcome.Error) and not isinstance(ended.error, trio.Cancelled):
        ended.unwrap()  # the run's error (also one raised while it stopped) is raised as it is
    if guest.cancel_requested:
        raise asyncio.CancelledError()
    return cast(T, ended.unwrap())
