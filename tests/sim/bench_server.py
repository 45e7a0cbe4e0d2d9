"""Throughput of the simulated server (not a test): ``python -m tests.sim.bench_server``.

Starts ``python -m llmeter_trio.sim`` (TTFT 0, ITL 0, 10 output tokens; ``--engine``
h11 or hypercorn, ``--workers N``) in a subprocess and drives it from this process
with N concurrent streams, either through httpx (``--client httpx``) or through raw
trio sockets with a prebuilt request (``--client raw``, one connection per stream)
to find the server's own ceiling. Reports requests/s and the server's CPU time per request (Linux).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import httpx
import orjson
import trio

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its children (Linux /proc)."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    total = 0.0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def httpx_client(url: str, streams: int, seconds: float) -> int:
    done = 0
    limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def one(deadline: float) -> None:
            nonlocal done
            while trio.current_time() < deadline:
                async with client.stream("POST", "/chat/completions", json=BODY) as response:
                    async for line in response.aiter_lines():
                        if line == "data: [DONE]":
                            done += 1

        async with trio.open_nursery() as nursery:
            for _ in range(streams):
                nursery.start_soon(one, trio.current_time() + seconds)
    return done


async def raw_client(url: str, streams: int, seconds: float) -> int:
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    body = orjson.dumps(BODY)
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (host.encode(), len(body), body)
    )
    done = 0

    async def one(deadline: float) -> None:
        nonlocal done
        stream = await trio.open_tcp_stream(host, int(port))
        async with stream:
            while trio.current_time() < deadline:
                await stream.send_all(request)
                received = b""
                while not received.endswith(b"\r\n0\r\n\r\n"):
                    piece = await stream.receive_some(65536)
                    if not piece:
                        raise RuntimeError("the server closed the connection")
                    received += piece
                done += received.count(b"data: [DONE]")

    async with trio.open_nursery() as nursery:
        for _ in range(streams):
            nursery.start_soon(one, trio.current_time() + seconds)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", choices=("httpx", "raw"), default="httpx")
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--engine", choices=("h11", "hypercorn"), default="h11")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    command = [sys.executable, "-m", "llmeter_trio.sim", "--port", "0", "--ttft", "0"]
    command += ["--itl", "0", "--output-tokens", "10", "--workers", str(args.workers)]
    command += ["--engine", args.engine]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split(" on ", 1)[1].split()[0]
        run = httpx_client if args.client == "httpx" else raw_client
        trio.run(run, url, args.streams, 0.5)  # warm up
        cpu, start = server_cpu_seconds(server.pid), time.perf_counter()
        done = trio.run(run, url, args.streams, args.seconds)
        elapsed = time.perf_counter() - start
        cpu = server_cpu_seconds(server.pid) - cpu
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"client={args.client} streams={args.streams} engine={args.engine} "
        f"workers={args.workers}: "
        f"{done / elapsed:,.0f} requests/s, server CPU {1e3 * cpu / max(done, 1):.3f} ms/request "
        f"({cpu / elapsed:.2f} cores)"
    )


if __name__ == "__main__":
    main()
