"""The simulated server for LiteLLM's ``openai/`` provider, with what the machine showed.

`sim_with_arrivals` serves `SimApp` on 127.0.0.1 in the test's own trio run
(the same clock as the endpoint's records) and notes the trio time at which
each generation request reached it: the time LiteLLM spent before its request
was on the wire is then measured, not guessed. `LagProbe` measures how late
the event loop wakes a sleeping task meanwhile (the GIL the worker threads
hold shows there too).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import attrs
import trio

from llmeter_trio.sim import Plan, SimApp, SimConfig, plan
from llmeter_trio.sim._server import serve_app

__all__ = ["INPUT_WORDS", "PROMPT", "LagProbe", "Sim", "sim_with_arrivals", "truth"]

INPUT_WORDS = 12  # the simulated server counts one token per whitespace-separated word
PROMPT = " ".join(["word"] * INPUT_WORDS)


def truth(config: SimConfig) -> Plan:
    """The server's timeline for `PROMPT` (no jitter configured: the draw is irrelevant)."""
    return plan(config, random.Random(0), input_tokens=INPUT_WORDS, reasoning=True)


@attrs.define
class Sim:
    base_url: str
    arrivals: list[float] = attrs.field(factory=list)  # trio times, one per POST


@asynccontextmanager
async def sim_with_arrivals(config: SimConfig) -> AsyncIterator[Sim]:
    """The simulated server on 127.0.0.1, noting when each POST reaches it."""
    app = SimApp(config)
    shutdown = trio.Event()
    sim = Sim("")

    async def noting(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            sim.arrivals.append(trio.current_time())
        await app(scope, receive, send)

    async with trio.open_nursery() as nursery:
        origin: str = await nursery.start(
            partial(serve_app, noting, "127.0.0.1:0", shutdown_trigger=shutdown.wait)  # type: ignore[arg-type]
        )
        sim.base_url = origin + "/v1"
        try:
            yield sim
        finally:
            shutdown.set()


@attrs.define
class LagProbe:
    """How late the event loop wakes a task sleeping `interval` seconds (the worst seen)."""

    interval: float = 0.002
    worst: float = 0.0

    async def run(self) -> None:
        while True:
            before = trio.current_time()
            await trio.sleep(self.interval)
            self.worst = max(self.worst, trio.current_time() - before - self.interval)
