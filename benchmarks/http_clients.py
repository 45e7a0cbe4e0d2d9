"""llmeter-trio against LLMeter, both streaming from the same simulated server.

The server is ``python -m llmeter_trio.sim`` in a process of its own (TTFT 0,
ITL 0, 10 output tokens per streamed chat completion), served by its
`SERVER_ENGINE` engine in `SERVER_WORKERS` worker processes. Each client runs
in a process of its own too, doing nothing else, and drives the server with its
own runner in closed loop:

- llmeter-trio: `Runner` + the ``openai-chat`` endpoint, with its default lean
  HTTP/1.1 transport, and again with httpx's own transport (for reference);
- LLMeter (PyPI ``llmeter[openai]``, installed by this benchmark into a
  virtualenv of its own under ``.nox/``): its `Runner` + its
  `OpenAICompletionStreamEndpoint`.

Measured, per number of clients (1, 10, 50, 200):

- requests/s: streamed requests completed per second of the run, one process;
- client CPU per request: the client process's CPU time (`time.process_time`,
  user + system) over the run, divided by the requests it completed; and
  its inverse, the requests/s one fully busy core could sustain, a ceiling
  that does not depend on how fast the server is;
- the server's CPU per request and cores used, read from /proc (Linux), to show
  when the server, not the client, set the pace.

Then the latency each client itself adds, at 200 clients, against a second
server that answers every request in exactly `SERVICE_TIME` seconds (TTFT
0.5 s, ITL 0, so the whole answer comes at once after 0.5 s):

- added: the time to last token the client reports, minus those 0.5 s
  (p50, p90, p99), leaving out each run's first 200 requests (connections
  opening while all clients start at once). What is left is the client's own
  delay (its timestamps taken late because it was busy with other streams),
  plus loopback and the server's CPU, the same for both clients;
- lag: how late a sampler that sleeps 10 ms at a time wakes up during the
  run (a trio task for llmeter-trio, a thread for LLMeter's threads), the
  client's delay alone, without the server's: how long something the client
  waits for (a chunk arriving) waits for the client.

Ratios are ours / theirs: above 1 is better for requests/s, below 1 for CPU.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from ._stats import LAG_INTERVAL

ROOT = Path(__file__).resolve().parent.parent
LLMETER_VENV = ROOT / ".nox" / "llmeter-baseline"
LLMETER_REQUIREMENT = ["llmeter[openai]", "httpx"]  # llmeter imports httpx but does not declare it
CLIENT_LEVELS = (1, 10, 50, 200)
SERVER_ENGINE = "h11"  # the simulated server's lean built-in engine (the default)
SERVER_WORKERS = 1  # one h11 worker keeps up (~0.6 core at ~2,200 requests/s)
SERVICE_TIME = 0.5  # seconds: the latency server's TTFT
TIMEOUT = 600.0  # seconds: the most any one child process may take
_QUANTILES = ("p50", "p90", "p99")


# -- processes ---------------------------------------------------------------------


def stop_process(process: subprocess.Popen[Any] | None, sig: int, grace: float) -> None:
    """Send `sig` to a running `process`; kill it if it has not exited after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of `pid` and its children (0.0 where /proc is missing)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class Server:
    """The simulated server in a subprocess; `url` once it answers ``/health``."""

    def __init__(self, ttft: float, workers: int, engine: str = SERVER_ENGINE) -> None:
        self.command = [
            sys.executable, "-m", "llmeter_trio.sim", "--host", "127.0.0.1", "--port", "0",
            "--ttft", str(ttft), "--itl", "0", "--output-tokens", "10",
            "--workers", str(workers), "--engine", engine,
        ]  # fmt: skip
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> Server:
        # --port 0: the server binds a free port itself and announces its URL (no race).
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
        )
        try:
            self.url = self._announced_url()
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _announced_url(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 60.0)
        line = self.process.stdout.readline() if ready else "(nothing within 60 s)"
        if " on " not in line:
            raise RuntimeError(f"the simulated server did not start ({line.strip()!r})")
        return line.split(" on ", 1)[1].split()[0]

    def _wait_healthy(self, limit: float = 30.0) -> None:
        health = self.url.removesuffix("/v1") + "/health"
        deadline = time.monotonic() + limit
        while True:
            try:
                if httpx.get(health, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{health} did not answer within {limit:g} s")
            time.sleep(0.1)

    def cpu(self) -> float:
        assert self.process is not None
        return _process_cpu(self.process.pid)

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, grace=15)  # SIGTERM: the workers stop too


def _run_child(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, env=env, check=False
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{' '.join(command[:3])} ... failed:\n{tail}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the clients ---------------------------------------------------------------------


class Client:
    """One client under test: how to run it, given the server URL and the load."""

    def __init__(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.command = command
        self.env = env

    def run(self, server: Server, clients: int, bound: list[str]) -> dict[str, Any]:
        cpu = server.cpu()
        command = [*self.command, server.url, "--clients", str(clients), *bound]
        result = _run_child(command, self.env)
        result["server_cpu"] = server.cpu() - cpu
        return result


def trio_client(transport: str) -> Client:
    command = [sys.executable, "-m", "benchmarks._drive_trio", "--transport", transport]
    return Client(f"llmeter-trio ({transport})", command)


def llmeter_client(log: list[str]) -> Client | None:
    """LLMeter from PyPI in a virtualenv of its own, or None (and why, in `log`)."""
    python = LLMETER_VENV / "bin" / "python"
    check = [str(python), "-c", "import llmeter.runner, llmeter.endpoints.openai, httpx"]

    def importable() -> bool:
        return python.exists() and subprocess.run(check, capture_output=True).returncode == 0

    try:
        if not importable():
            print(f"installing {' '.join(LLMETER_REQUIREMENT)} into {LLMETER_VENV} ...", flush=True)
            subprocess.run(
                [sys.executable, "-m", "venv", "--clear", str(LLMETER_VENV)],
                check=True, capture_output=True, timeout=TIMEOUT,
            )  # fmt: skip
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", *LLMETER_REQUIREMENT],
                check=True, capture_output=True, text=True, timeout=TIMEOUT,
            )  # fmt: skip
            if not importable():
                raise RuntimeError("llmeter installed but cannot be imported")
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()[-3:] if isinstance(exc.stderr, str) else []
        log.append(f"LLMeter could not be installed: {exc}; {' '.join(detail)}")
        return None
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        log.append(f"LLMeter could not be installed: {exc}")
        return None
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('llmeter'))"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    script = str(ROOT / "benchmarks" / "_drive_llmeter.py")
    return Client(f"LLMeter {version}", [str(python), script])


# -- report --------------------------------------------------------------------------


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs == 0:
        return "-"
    return f"{ours / theirs:.2f}x"


def _rate(result: dict[str, Any] | None) -> float | None:
    return None if result is None else result["requests"] / result["wall"]


def _cpu_ms(result: dict[str, Any] | None) -> float | None:
    return None if result is None else 1e3 * result["cpu"] / max(result["requests"], 1)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _measure(
    client: Client, server: Server, clients: int, bound: list[str], log: list[str]
) -> dict[str, Any] | None:
    try:
        result = client.run(server, clients, bound)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        log.append(f"{client.name} at {clients} clients: {exc}")
        return None
    if result["failed"]:
        log.append(
            f"{client.name} at {clients} clients: {result['failed']} of {result['requests']} "
            f"requests failed, e.g. {result['first_error']}"
        )
    return result


def _throughput_table(
    rows: list[tuple[int, dict[str, dict[str, Any] | None]]], names: list[str]
) -> Iterator[str]:
    ours, httpx_name, theirs = names
    yield (
        f"{'':>7} | {'requests/s (one process)':^37} | {'client CPU per request (ms)':^37} |"
        f" {'server':^15}"
    )
    yield (
        f"{'clients':>7} | {'trio lean':>9} {'trio httpx':>10} {'LLMeter':>7} {'ratio':>7}"
        f" | {'trio lean':>9} {'trio httpx':>10} {'LLMeter':>7} {'ratio':>7}"
        f" | {'ms/req':>6} {'cores':>6}"
    )
    for clients, results in rows:
        lean, stock, baseline = results[ours], results[httpx_name], results.get(theirs)
        server_ms = server_cores = None
        if lean is not None:
            server_ms = 1e3 * lean["server_cpu"] / max(lean["requests"], 1)
            server_cores = lean["server_cpu"] / lean["wall"]
        yield (
            f"{clients:>7} | {_fmt(_rate(lean), '9,.0f')} {_fmt(_rate(stock), '10,.0f')}"
            f" {_fmt(_rate(baseline), '7,.0f')} {_ratio(_rate(lean), _rate(baseline)):>7}"
            f" | {_fmt(_cpu_ms(lean), '9.3f')} {_fmt(_cpu_ms(stock), '10.3f')}"
            f" {_fmt(_cpu_ms(baseline), '7.3f')} {_ratio(_cpu_ms(lean), _cpu_ms(baseline)):>7}"
            f" | {_fmt(server_ms, '6.3f')} {_fmt(server_cores, '6.2f')}"
        )


def _machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ""
    with contextlib.suppress(OSError):
        load = f", load average {os.getloadavg()[0]:.2f} at start"
    version = sys.version.split()[0]
    return f"{os.cpu_count()} CPUs ({model}), Python {version}{load}"


def main(quick: bool = False) -> None:
    duration = 1.0 if quick else 4.0
    latency_requests = 3 if quick else 6
    print(
        f"\nHTTP clients against the simulated server ({SERVER_ENGINE} engine, {SERVER_WORKERS}"
        f" worker process{'es' if SERVER_WORKERS > 1 else ''}; TTFT 0, ITL 0, 10 tokens per"
        f" stream), {duration:g} s per run\n{_machine()}",
        flush=True,
    )
    log: list[str] = []
    clients_under_test = [trio_client("lean"), trio_client("httpx")]
    baseline = llmeter_client(log)
    if baseline is not None:
        clients_under_test.append(baseline)
    names = [c.name for c in clients_under_test] + ["LLMeter"] * (3 - len(clients_under_test))

    rows: list[tuple[int, dict[str, dict[str, Any] | None]]] = []
    with Server(ttft=0.0, workers=SERVER_WORKERS) as server:
        for clients in CLIENT_LEVELS:
            results = {
                c.name: _measure(c, server, clients, ["--duration", str(duration)], log)
                for c in clients_under_test
            }
            rows.append((clients, results))
    print()
    for line in _throughput_table(rows, names):
        print(line)

    clients = CLIENT_LEVELS[-1]
    print(
        f"\nLatency the client adds at {clients} clients, {latency_requests} requests each,"
        f" against a server that answers in exactly {SERVICE_TIME:g} s (TTFT {SERVICE_TIME:g} s,"
        f" ITL 0):\n  added = time to last token reported minus {SERVICE_TIME:g} s, leaving out"
        f" the first {clients} requests (connections opening)\n  lag = how late a sampler"
        f" sleeping {LAG_INTERVAL * 1e3:g} ms wakes up: the delay before the client notices"
        " anything"
    )
    print(
        f"{'client':<22} | {'added p50':>9} {'p90':>8} {'p99':>8} | {'lag p50':>8} {'p99':>8}"
        f" | {'requests/s':>10}"
    )
    bound = ["--requests", str(latency_requests), "--skip", str(clients)]
    with Server(ttft=SERVICE_TIME, workers=SERVER_WORKERS) as server:
        for client in clients_under_test:
            if client.name == names[1]:
                continue  # httpx's transport: not the default, and its rows above say enough
            result = _measure(client, server, clients, bound, log)
            ttlt = lag = None
            if result is not None:
                ttlt, lag = result["ttlt"], result["lag"]
            added = [None if ttlt is None else (ttlt[q] - SERVICE_TIME) * 1e3 for q in _QUANTILES]
            lags = [None if lag is None else lag[q] * 1e3 for q in ("p50", "p99")]
            print(
                f"{client.name:<22} | {_fmt(added[0], '7.1f')}ms {_fmt(added[1], '6.1f')}ms"
                f" {_fmt(added[2], '6.1f')}ms | {_fmt(lags[0], '6.1f')}ms {_fmt(lags[1], '6.1f')}ms"
                f" | {_fmt(_rate(result), '10,.0f')}"
            )

    for message in log:
        print(f"note: {message}")
    _verdict(rows, names)


def _verdict(rows: list[tuple[int, dict[str, dict[str, Any] | None]]], names: list[str]) -> None:
    clients, results = rows[-1]
    lean, baseline = results[names[0]], results.get(names[2])
    rate_ratio = None
    if lean is not None and baseline is not None:
        rate_ratio = _rate(lean) / _rate(baseline)  # type: ignore[operator]
    cpu, baseline_cpu = _cpu_ms(lean), _cpu_ms(baseline)
    if cpu is not None:
        ceiling = f"one busy core sustains {1e3 / cpu:,.0f} requests/s with llmeter-trio"
        if baseline_cpu is not None:
            ceiling += f", {1e3 / baseline_cpu:,.0f} with LLMeter ({baseline_cpu / cpu:.1f}x)"
        print(f"\nAt {clients} clients {ceiling}.")
    print(
        f"Targets at {clients} clients: requests/s >= 8x LLMeter's:"
        f" {'-' if rate_ratio is None else f'{rate_ratio:.1f}x'};"
        f" client CPU <= 0.5 ms per request: {_fmt(cpu, '.3f')} ms"
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
