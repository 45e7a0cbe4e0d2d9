"""The simulated server in a thread with a trio run of its own, for code that makes its own
run (the command line's `trio.run`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import trio

from llmeter_trio.sim import SimConfig, simulated_server

__all__ = ["served", "served_in_thread"]


@contextmanager
def served_in_thread(config: SimConfig) -> Iterator[str]:
    """Serve `config` on 127.0.0.1 while the block runs; yields the origin
    (``http://127.0.0.1:PORT``, without ``/v1``)."""
    started = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        async with simulated_server(config) as base_url:
            state["origin"] = base_url.removesuffix("/v1")
            state["token"] = trio.lowlevel.current_trio_token()
            state["stop"] = stop = trio.Event()
            started.set()
            await stop.wait()

    thread = threading.Thread(target=trio.run, args=(serve,), daemon=True)
    thread.start()
    assert started.wait(20), "the simulated server did not start"
    try:
        yield state["origin"]
    finally:
        trio.from_thread.run_sync(state["stop"].set, trio_token=state["token"])
        thread.join(20)


def served(origin: str) -> int:
    """The simulated server's own count of the requests it took up (from its /metrics)."""
    for line in httpx.get(f"{origin}/metrics").text.splitlines():
        if line.startswith("llmeter_sim:requests_total "):
            return int(float(line.split()[1]))
    raise AssertionError("no request count on the metrics page")
