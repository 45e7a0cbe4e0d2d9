"""Requests/s and client CPU per request with 1, 2, ... worker processes, beside one process.

The simulated server runs in a process of its own, pinned to its own core(s)
(the last `SERVER_CORES` of the machine), answering at once (no latency, 16
tokens in 16 chunks), so the client is what is measured. The client side (this
process, and with workers its worker processes) is pinned to the other cores.
Each configuration runs closed-loop clients for a fixed time.

Reported per configuration: requests/s; client CPU per request (this process
plus its workers, from `getrusage`); the coordinator's own CPU per request
(this process while workers send: splitting, starting, the progress line, and
merging the records into the run folder) and its share of a request's client CPU
(the coordination cost, which must stay under 10%).
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx
import trio

from llmeter_trio import Runner
from llmeter_trio.endpoints import OpenAIChatEndpoint

SERVER_CORES = 1
CLIENTS = 64
PAYLOAD = {"messages": [{"role": "user", "content": "a short prompt of some words"}]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cores() -> tuple[set[int], set[int]]:
    """(the server's cores, the client's cores)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) <= SERVER_CORES:
        return set(cores), set(cores)
    return set(cores[-SERVER_CORES:]), set(cores[:-SERVER_CORES])


def start_server(cores: set[int]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [
        sys.executable, "-m", "llmeter_trio.sim", "--port", str(port), "--ttft", "0",
        "--itl", "0", "--output-tokens", "16", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(
        command, preexec_fn=lambda: os.sched_setaffinity(0, cores), stderr=subprocess.DEVNULL
    )
    origin = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{origin}/v1/models", timeout=1)
            return server, origin
        except httpx.HTTPError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the simulated server did not start")


def measure(origin: str, workers: int | None, seconds: float, folder: str) -> dict[str, Any]:
    endpoint = OpenAIChatEndpoint(base_url=f"{origin}/v1", model_id="sim-model", api_key="bench")
    runner = Runner(endpoint, output_path=folder, seed=0, low_memory=True)
    name = f"workers-{workers or 0}-{time.time_ns()}"
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    result = trio.run(
        lambda: runner.run(
            payload=PAYLOAD, clients=CLIENTS, run_duration=seconds, run_name=name, workers=workers
        )
    )
    wall = time.perf_counter() - wall
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_cpu = _cpu(own_after) - _cpu(own)
    workers_cpu = _cpu(children_after) - _cpu(children)
    total = result.total_requests
    return {
        "workers": workers,
        "requests": total,
        "failed": result.stats["failed_requests"],
        "rate": total / (result.total_test_time or wall),
        "cpu_per_request": (own_cpu + workers_cpu) / total,
        "coordinator_per_request": own_cpu / total if workers else None,
    }


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def main(quick: bool = False) -> None:
    seconds = 2.0 if quick else 8.0
    server_cores, client_cores = _cores()
    print(
        f"Workers: {CLIENTS} closed-loop clients for {seconds:g} s against the simulated server "
        f"(no latency, 16 chunks); server on cores {sorted(server_cores)}, client on "
        f"{sorted(client_cores)}"
    )
    header = ("workers", "req/s", "client CPU/req", "coordinator/req", "coordination")
    widths = (12, 9, 15, 16, 13)
    print(" ".join(f"{name:>{width}}" for name, width in zip(header, widths, strict=True)))
    saved = os.sched_getaffinity(0)
    server, origin = start_server(server_cores)
    try:
        os.sched_setaffinity(0, client_cores)  # the workers inherit it
        with tempfile.TemporaryDirectory() as folder:
            counts: list[int | None] = [None, 1, 2, *([4] if len(client_cores) >= 4 else [])]
            for workers in counts:
                row = measure(origin, workers, seconds, folder)
                label = "one process" if workers is None else str(workers)
                coordinator = row["coordinator_per_request"]
                share = "" if coordinator is None else f"{coordinator / row['cpu_per_request']:.1%}"
                coordinated = "" if coordinator is None else f"{coordinator * 1e6:.1f}us"
                print(
                    f"{label:>12} {row['rate']:>9,.0f} {row['cpu_per_request'] * 1e6:>13.1f}us"
                    f" {coordinated:>16} {share:>13}"
                )
    finally:
        os.sched_setaffinity(0, saved)
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
