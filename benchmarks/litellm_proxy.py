"""LiteLLM two ways: the ``litellm`` endpoint (its SDK) or ``openai-chat`` through a LiteLLM proxy.

``python -m benchmarks.litellm_proxy [--clients 4] [--requests 400] [--proxy-python PY]``

The simulated server (TTFT 0, ITL 0, 10 output tokens per streamed chat
completion) runs in a process of its own, as in `http_clients`. Each route is
driven by a client process of its own (`Runner`, closed loop, one warm-up pass
first, then the measured run):

- ``litellm endpoint``: `LiteLLMEndpoint` (plugins/llmeter-trio-litellm),
  ``litellm.completion`` in a worker thread per request, ``openai/`` provider;
- ``openai-chat -> proxy``: the built-in ``openai-chat`` endpoint against a
  LiteLLM proxy (``litellm --config ...``: uvicorn and LiteLLM's router in a
  process of their own) that forwards to the same server;
- ``openai-chat direct``: the built-in endpoint against the server, for reference.

Measured per route: the client process's CPU time per request (user + system,
`time.process_time` over the measured run), requests/s, and the CPU per
request of the proxy and of the server (read from /proc). The proxy runs
with the Python given by ``--proxy-python`` (LiteLLM's ``proxy`` extra, e.g.
in a virtualenv of its own); every connection it tries beyond 127.0.0.1 is
refused and reported (the tests' `litellm_loopback` guard, as a sitecustomize).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from .http_clients import ROOT, Server, _process_cpu, _run_child, stop_process

PLUGIN = ROOT / "plugins" / "llmeter-trio-litellm"
GUARD = PLUGIN / "tests"  # litellm_loopback.py
MASTER_KEY = "sk-benchmark-proxy-0123456789"  # the proxy's own key: loopback only
UPSTREAM_KEY = "sk-benchmark-upstream"
PROXY_START_LIMIT = 120.0  # seconds: the proxy imports all of LiteLLM's server side


# -- the client process -------------------------------------------------------------


def drive(route: str, url: str, clients: int, requests: int) -> dict[str, Any]:
    """In the child: one warm-up pass, then `requests` requests by `clients` clients."""
    import trio

    from llmeter_trio import Runner
    from llmeter_trio.endpoints import Endpoint, OpenAIChatEndpoint

    endpoint: Endpoint
    if route == "litellm":
        sys.path.insert(0, str(PLUGIN))
        from llmeter_trio_litellm import LiteLLMEndpoint

        endpoint = LiteLLMEndpoint(model="openai/sim-model", api_base=url, api_key=UPSTREAM_KEY)
    else:
        key = MASTER_KEY if route == "proxy" else UPSTREAM_KEY
        endpoint = OpenAIChatEndpoint(base_url=url, model_id="sim-model", api_key=key)
    payload = [endpoint.create_payload("one two three four", 10)]
    runner = Runner(endpoint)

    async def main() -> dict[str, Any]:
        await runner.run(payload=payload, clients=clients, n_requests=2)  # warm-up
        cpu, wall = time.process_time(), time.perf_counter()
        result = await runner.run(
            payload=payload, clients=clients, n_requests=max(1, requests // clients)
        )
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        stats = result.stats
        return {
            "requests": stats["total_requests"],
            "failed": stats["failed_requests"],
            "errors": stats.get("errors_by_class"),
            "cpu": cpu,
            "wall": wall,
            "ttft_p50": stats.get("time_to_first_token-p50"),
            "ttlt_p50": stats.get("time_to_last_token-p50"),
        }

    return trio.run(main)


# -- the proxy ----------------------------------------------------------------------


class Proxy:
    """``litellm --config`` forwarding ``sim-model`` to the simulated server."""

    def __init__(self, python: str, upstream: str, port: int) -> None:
        self.python = python
        self.upstream = upstream
        self.url = f"http://127.0.0.1:{port}/v1"
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="litellm-proxy-"))
        self.process: subprocess.Popen[str] | None = None
        self.log = self.folder / "proxy.log"

    def __enter__(self) -> Proxy:
        config = self.folder / "config.yaml"
        config.write_text(
            "model_list:\n"
            "  - model_name: sim-model\n"
            "    litellm_params:\n"
            "      model: openai/sim-model\n"
            f"      api_base: {self.upstream}\n"
            f"      api_key: {UPSTREAM_KEY}\n"
            "general_settings:\n"
            f"  master_key: {MASTER_KEY}\n"
        )
        (self.folder / "sitecustomize.py").write_text(
            "import atexit, sys\n"
            f"sys.path.insert(0, {str(GUARD)!r})\n"
            "import litellm_loopback\n"
            "litellm_loopback.install()\n"
            "atexit.register(lambda: sys.stderr.write("
            "f'loopback guard: {litellm_loopback.ATTEMPTS!r}\\n'))\n"
        )
        env = {**os.environ, "PYTHONPATH": str(self.folder), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        command = [
            self.python, "-m", "litellm.proxy.proxy_cli", "--config", str(config),
            "--host", "127.0.0.1", "--port", str(self.port),
        ]  # fmt: skip
        with self.log.open("w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, text=True, env=env)
        deadline = time.monotonic() + PROXY_START_LIMIT
        while True:
            try:
                health = self.url.removesuffix("/v1") + "/health/liveliness"
                if httpx.get(health, timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = "\n".join(self.log.read_text().splitlines()[-5:])
                raise RuntimeError(f"the LiteLLM proxy did not start:\n{tail}")
            time.sleep(0.5)

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def cpu(self) -> float:
        assert self.process is not None
        return _process_cpu(self.process.pid)

    def stop(self) -> None:
        # SIGINT: uvicorn shuts down; atexit reports the guard
        stop_process(self.process, signal.SIGINT, grace=20)

    def attempts(self) -> str:
        lines = [line for line in self.log.read_text().splitlines() if "loopback guard" in line]
        return lines[-1] if lines else "loopback guard: (no report: the proxy did not exit cleanly)"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- the report ---------------------------------------------------------------------


def _measure(
    route: str, url: str, clients: int, requests: int, meters: dict[str, Any]
) -> dict[str, Any]:
    before = {name: meter() for name, meter in meters.items()}
    command = [
        sys.executable, "-m", "benchmarks.litellm_proxy", "--drive", route, "--url", url,
        "--clients", str(clients), "--requests", str(requests),
    ]  # fmt: skip
    result = _run_child(command)
    for name, meter in meters.items():
        result[f"{name}_cpu"] = meter() - before[name]
    return result


def _row(name: str, result: dict[str, Any], proxy: bool) -> str:
    done = result["requests"] - result["failed"]
    per = 1e3 / max(1, result["requests"])
    proxy_cpu = f"{result['proxy_cpu'] * per:6.2f}" if proxy else "     -"
    return (
        f"{name:<22} {result['cpu'] * per:8.2f} {proxy_cpu:>10} {result['server_cpu'] * per:9.2f}"
        f" {done / result['wall']:9.0f} {(result['ttlt_p50'] or 0) * 1e3:9.1f}"
        f"   {result['failed']} failed"
    )


def main(clients: int, requests: int, proxy_python: str) -> None:
    print(
        f"LiteLLM two ways: {clients} clients, {requests} streamed requests of 10 tokens "
        "(TTFT 0, ITL 0)",
        flush=True,
    )
    header = (
        f"{'route':<22} {'client ms':>8} {'proxy ms':>10} {'server ms':>9} "
        f"{'req/s':>9} {'TTLT p50':>9}   (CPU per request)"
    )
    rows = []
    with Server(ttft=0.0, workers=1) as server:
        meters = {"server": server.cpu}
        direct = _measure("openai", server.url, clients, requests, meters)
        rows.append(_row("openai-chat direct", direct, proxy=False))
        sdk = _measure("litellm", server.url, clients, requests, meters)
        rows.append(_row("litellm endpoint", sdk, proxy=False))
        note = ""
        try:
            with Proxy(proxy_python, server.url, _free_port()) as proxy:
                meters = {"server": server.cpu, "proxy": proxy.cpu}
                proxied = _measure("proxy", proxy.url, clients, requests, meters)
                rows.append(_row("openai-chat -> proxy", proxied, proxy=True))
            note = proxy.attempts()
        except RuntimeError as exc:
            note = f"(no proxy row: {exc})"
    print(header)
    for row in rows:
        print(row)
    print(note)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--proxy-python", default=sys.executable)
    parser.add_argument("--drive", choices=("litellm", "proxy", "openai"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        print(json.dumps(drive(args.drive, args.url, args.clients, args.requests)))
    else:
        main(args.clients, args.requests, args.proxy_python)
