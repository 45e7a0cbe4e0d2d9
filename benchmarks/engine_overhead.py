"""What the engine costs per request, against calling the endpoint bare.

Both sides drive the same in-process `FakeEndpoint` (no sleeps: pure overhead)
from the same number of concurrent trio tasks. The bare baseline only calls
`invoke`; the engine adds payload choice, records, the writer, stats and
storage. Reported: requests/s of each, the ratio, and engine CPU per request.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Awaitable, Callable

import trio

from llmeter_trio import FakeEndpoint, Runner

ENDPOINT = FakeEndpoint(time_to_first_token=0, inter_token_latency=0, output_tokens=10)
PAYLOAD = {"prompt": "a short prompt of some words"}


async def bare(clients: int, per_client: int) -> None:
    async def client() -> None:
        for _ in range(per_client):
            await ENDPOINT.invoke(PAYLOAD)

    async with trio.open_nursery() as nursery:
        for _ in range(clients):
            nursery.start_soon(client)


def engine(output: str | None) -> Callable[[int, int], Awaitable[object]]:
    async def run(clients: int, per_client: int) -> None:
        runner = Runner(ENDPOINT, output_path=output, seed=0)
        await runner.run(payload=PAYLOAD, clients=clients, n_requests=per_client)

    return run


def measure(
    fn: Callable[[int, int], Awaitable[object]], clients: int, per_client: int
) -> tuple[float, float]:
    """(requests per second, CPU seconds per request)."""
    wall, cpu = time.perf_counter(), time.process_time()
    trio.run(fn, clients, per_client)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    total = clients * per_client
    return total / wall, cpu / total


def main(quick: bool = False) -> None:
    per_client_total = 2_000 if quick else 20_000
    print("Engine overhead vs calling the endpoint bare (FakeEndpoint, 10 chunks, no sleeps)")
    header = ("clients", "bare req/s", "engine req/s", "ratio", "+CPU/req", "+CPU/req saved")
    widths = (8, 12, 13, 7, 10, 15)
    print(" ".join(f"{name:>{width}}" for name, width in zip(header, widths, strict=True)))
    with tempfile.TemporaryDirectory() as folder:
        for clients in (1, 10, 50, 200):
            per_client = max(1, per_client_total // clients)
            base_rate, base_cpu = measure(bare, clients, per_client)
            rate, cpu = measure(engine(None), clients, per_client)
            _, saved_cpu = measure(engine(f"{folder}/c{clients}"), clients, per_client)
            print(
                f"{clients:>8} {base_rate:>12,.0f} {rate:>13,.0f} {rate / base_rate:>7.2f}"
                f" {(cpu - base_cpu) * 1e6:>8.1f}us {(saved_cpu - base_cpu) * 1e6:>13.1f}us"
            )
