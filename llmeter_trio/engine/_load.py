"""Issuing requests: closed-loop clients, an open-loop dispatcher following a schedule, or
one paced by a quota (`TokenRate`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import trio

from ..endpoints import InvocationResponse
from ..schedules import Arrival
from ._pacer import QuotaPacer
from ._payloads import client_payloads
from ._stop import LoadStop

__all__ = ["OPEN_LOOP_POOL", "START_BATCH", "Issue", "closed_loop", "open_loop", "paced_loop"]

Send = trio.MemorySendChannel[InvocationResponse]
# issue(payload, intended, client, send): send one request and hand its record to the writer
# (with sessions: run one whole session that starts with the payload)
Issue = Callable[[dict[str, Any], float, "int | None", Send], Awaitable[object]]

OPEN_LOOP_POOL = 4096  # connections an uncapped open-loop run may open
# Tasks started between two checkpoints: a run with many clients still lets
# trio handle Ctrl-C, its deadline and other tasks while it starts them.
START_BATCH = 1000


async def closed_loop(
    issue: Issue,
    payloads: list[dict[str, Any]],
    *,
    clients: int,
    n_requests: int | None,
    seed: int,
    stop_at: float,
    send: Send,
    once: bool = False,
    stop: LoadStop | None = None,
    first_client: int = 0,
) -> None:
    """`clients` tasks, each sending its next request when its last one ended.

    Clients are numbered from `first_client` (a worker's share of a run's clients
    keeps their run-wide numbers, so each draws the payloads it would in one process).

    With `once`, the clients share one pass over `payloads` in list order
    (each takes the next payload not yet sent), so each is sent exactly once.
    Once `stop` is requested, no client sends another request.
    """
    shared = iter(payloads) if once else None

    async def client(number: int) -> None:
        stream = shared if shared is not None else client_payloads(payloads, seed, number)
        sent = 0
        while (n_requests is None or sent < n_requests) and trio.current_time() < stop_at:
            if stop is not None and stop.requested:
                return
            payload = next(stream, None)
            if payload is None:
                return
            await issue(payload, trio.current_time(), number, send)
            sent += 1

    async with trio.open_nursery() as nursery:
        for number in range(first_client, first_client + clients):
            nursery.start_soon(client, number)
            if (number - first_client) % START_BATCH == START_BATCH - 1:
                await trio.lowlevel.checkpoint()


def _payload_for(
    arrival: Arrival, payloads: list[dict[str, Any]], stream: Iterator[dict[str, Any]]
) -> dict[str, Any]:
    if arrival.payload is None:
        return next(stream)
    if isinstance(arrival.payload, dict):
        return arrival.payload
    if not 0 <= arrival.payload < len(payloads):
        raise ValueError(
            f"the schedule asks for payload #{arrival.payload}; there are {len(payloads)}"
        )
    return payloads[arrival.payload]


async def open_loop(
    issue: Issue,
    payloads: list[dict[str, Any]],
    arrivals: Iterable[Arrival],
    *,
    n_requests: int | None,
    max_concurrency: int | None,
    seed: int,
    run_start: float,
    stop_at: float,
    send: Send,
    stop: LoadStop | None = None,
) -> None:
    """Send each request when its arrival is due, whatever earlier ones do.

    With `max_concurrency`, a due request first waits for a free slot (in
    order); its intended time stays its due time, so the wait shows as lag.
    Every arrival passes a checkpoint (waiting until it is due), so however
    many are due at once, Ctrl-C and the deadline are handled between them.
    Once `stop` is requested, no further arrival is sent (those in flight finish).
    """
    stream = client_payloads(payloads, seed, 0)
    slots = trio.Semaphore(max_concurrency) if max_concurrency else None
    run_one = _releasing(issue, send, slots)

    sending = stop.sending if stop is not None else trio.CancelScope()
    async with trio.open_nursery() as nursery:
        with sending:  # a stop ends the sending; the requests in flight go on
            for index, arrival in enumerate(arrivals):
                due = run_start + arrival.time
                if (n_requests is not None and index >= n_requests) or due >= stop_at:
                    break
                await trio.sleep_until(due)
                payload = _payload_for(arrival, payloads, stream)
                if slots is not None:
                    await slots.acquire()
                nursery.start_soon(run_one, payload, due)


async def paced_loop(
    issue: Issue,
    payloads: list[dict[str, Any]],
    pacer: QuotaPacer,
    *,
    n_requests: int | None,
    max_concurrency: int | None,
    seed: int,
    stop_at: float,
    send: Send,
    stop: LoadStop | None = None,
) -> None:
    """Send each request as soon as the quota allows (`pacer`), whatever earlier ones do.

    A request's intended time is the instant its budget allowed it; with
    `max_concurrency`, a wait for a slot after that shows as lag, as in `open_loop`.
    Once `stop` is requested or `stop_at` passes, no further request is sent.
    """
    stream = client_payloads(payloads, seed, 0)
    slots = trio.Semaphore(max_concurrency) if max_concurrency else None
    run_one = _releasing(issue, send, slots)

    sending = stop.sending if stop is not None else trio.CancelScope()
    async with trio.open_nursery() as nursery:
        with sending, trio.move_on_at(stop_at):
            while n_requests is None or pacer.sent < n_requests:
                payload = next(stream)
                await pacer.take(payload)
                due = trio.current_time()
                if slots is not None:
                    await slots.acquire()
                nursery.start_soon(run_one, payload, due)


def _releasing(
    issue: Issue, send: Send, slots: trio.Semaphore | None
) -> Callable[[dict[str, Any], float], Awaitable[None]]:
    """Issue one open-loop request (intended at `due`), then free its concurrency slot."""

    async def run_one(payload: dict[str, Any], due: float) -> None:
        try:
            await issue(payload, due, None, send)
        finally:
            if slots is not None:
                slots.release()

    return run_one
