"""A local Ray cluster on 127.0.0.1 only, for the Ray executor's tests.

A head and a second node, each started with `ray start --block` in a session of its own (so
its raylet, GCS and workers can be found, and ended, by their process ids), every process bound
to loopback, one CPU each, no dashboard, no usage statistics. Ray's token authentication is on
for the cluster: a fresh random token, given to every process through the environment only
(never written by the test), so nothing else on the machine can use the cluster.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs

from .children import die_with_parent

__all__ = ["RayCluster", "listening_addresses", "local_ray_cluster", "non_loopback_listeners"]

START_TIMEOUT = 90.0  # seconds for a node to start on a busy machine
STOP_TIMEOUT = 5.0


@attrs.frozen
class RayCluster:
    """A running local cluster: its address and the environment its clients need."""

    address: str  # "127.0.0.1:PORT", the head's GCS
    # the token and the settings every Ray process here shares (the token: never in a repr)
    environment: dict[str, str] = attrs.field(repr=False)
    sessions: tuple[int, ...]  # the session ids (leader pids) of each node's processes

    def pids(self) -> list[int]:
        """Every live process of the cluster's nodes."""
        return [pid for pid, sid in _sessions().items() if sid in self.sessions]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _node_ports() -> list[str]:
    """Every port a node opens, chosen free, so that no two nodes (or test runs) collide."""
    return [
        *("--node-manager-port", str(_free_port())),
        *("--object-manager-port", str(_free_port())),
        *("--dashboard-agent-listen-port", str(_free_port())),
        *("--dashboard-agent-grpc-port", str(_free_port())),
        *("--runtime-env-agent-port", str(_free_port())),
        *("--metrics-export-port", str(_free_port())),
    ]


def _sessions() -> dict[int, int]:
    """pid -> session id of every process on the machine (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[int(entry.name)] = int(fields[3])  # state ppid pgrp session
    return found


def listening_addresses() -> set[tuple[str, int]]:
    """Every (address, port) that a TCP socket on this machine listens on (/proc/net/tcp{,6})."""
    listening = set()
    for name, width in (("tcp", 8), ("tcp6", 32)):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state != "0A":  # LISTEN
                continue
            address, port = local.split(":")
            raw = bytes.fromhex(address)
            if width == 8:
                text = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                text = socket.inet_ntop(socket.AF_INET6, words)
            listening.add((text, int(port, 16)))
    return listening


def _loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")


def non_loopback_listeners() -> set[tuple[str, int]]:
    """Listening sockets bound to anything but loopback (0.0.0.0 and :: included)."""
    return {(a, p) for a, p in listening_addresses() if not _loopback(a)}


# `ray start`, except that "127.0.0.1" stays 127.0.0.1: Ray replaces a loopback node or cluster
# address with the machine's network address (services.resolve_ip_for_localhost), for clusters
# of many machines; these nodes are all on this one, and must not listen beyond it.
_RAY_START_ON_LOOPBACK = """
import sys
import ray._private.services as services
services.resolve_ip_for_localhost = lambda host: host
from ray.scripts.scripts import main
sys.argv[0] = "ray"
main()
"""


def _start_node(arguments: list[str], environment: dict[str, str], log: Path) -> int:
    """`ray start --block ...` in a session of its own; its pid (the session id)."""
    command = [
        sys.executable,
        "-c",
        _RAY_START_ON_LOOPBACK,
        "start",
        "--block",
        "--node-ip-address",
        "127.0.0.1",
        "--num-cpus",
        "1",
        "--disable-usage-stats",
        *_node_ports(),
        *arguments,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,  # a crashed test worker leaves no cluster behind
        )
    return process.pid


def _wait_for(check: object, what: str, timeout: float, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.2)
    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}" for log in logs)
    raise TimeoutError(f"{what} not within {timeout:.0f} s\n{tails}")


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def _end(sessions: tuple[int, ...]) -> None:
    """SIGTERM each node's `ray start` (it stops its node), then SIGKILL whatever is left of
    those sessions; only processes of the cluster's own sessions are signalled."""
    for leader in sessions:
        with contextlib.suppress(ProcessLookupError):
            os.kill(leader, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        left = [pid for pid, sid in _sessions().items() if sid in sessions]
        if not left:
            break
        time.sleep(0.2)
    for pid, sid in _sessions().items():
        if sid in sessions:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for leader in sessions:  # reap the leaders (children of this process)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(leader, 0)


def cluster_environment() -> dict[str, str]:
    """What every process of the test cluster (nodes and drivers) shares: a fresh token."""
    return {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_urlsafe(32),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_DEDUP_LOGS": "0",
        # Ray reads "127.0.0.1" in an address as "this machine's network address" unless told
        # that the cluster is one machine's: this keeps every address given here on loopback
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    }


@contextlib.contextmanager
def local_ray_cluster(
    folder: Path, *, nodes: int = 2, extra: dict[str, str] | None = None
) -> Iterator[RayCluster]:
    """Start a head and `nodes - 1` more nodes on 127.0.0.1 (their processes' environment:
    this one's, the cluster's token and settings, and `extra`); yield once all are up."""
    shared = cluster_environment()
    environment = {**os.environ, **shared, **(extra or {})}
    temp = Path(f"/tmp/rt{os.getpid()}_{secrets.token_hex(3)}")  # short: Ray's socket paths
    port = _free_port()
    logs = [folder / f"ray-node-{n}.log" for n in range(nodes)]
    sessions: list[int] = []
    try:
        head = [
            *("--head", "--port", str(port), "--include-dashboard", "false"),
            *("--ray-client-server-port", str(_free_port()), "--temp-dir", str(temp)),
        ]
        sessions.append(_start_node(head, environment, logs[0]))
        _wait_for(lambda: _accepts(port), "the Ray head", START_TIMEOUT, logs[:1])
        for n in range(1, nodes):
            more = ["--address", f"127.0.0.1:{port}"]
            joining = {**environment, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"}
            sessions.append(_start_node(more, joining, logs[n]))
        for n, log in enumerate(logs):
            started = lambda log=log: "Ray runtime started" in log.read_text(errors="replace")  # noqa: E731
            _wait_for(started, f"Ray node {n}", START_TIMEOUT, logs)
        cluster = RayCluster(f"127.0.0.1:{port}", shared, tuple(sessions))
        yield cluster
    finally:
        _end(tuple(sessions))
        shutil.rmtree(temp, ignore_errors=True)
