"""The simulated server's app served on 127.0.0.1 in the test's own trio run, with the app at
hand (its state, e.g. `SimApp.rate_limiter`'s counts, is the truth a test checks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import trio

from llmeter_trio.sim import SimApp
from llmeter_trio.sim._server import serve_app

__all__ = ["serving"]


@asynccontextmanager
async def serving(app: SimApp) -> AsyncIterator[str]:
    """Serve `app` while the block runs; yields its origin (``http://127.0.0.1:PORT``)."""
    done = trio.Event()
    async with trio.open_nursery() as nursery:
        origin: str = await nursery.start(
            partial(serve_app, app, "127.0.0.1:0", shutdown_trigger=done.wait)
        )
        try:
            yield origin
        finally:
            done.set()
