"""One shard in a Ray actor: `run_shard` in one of the actor's threads, its controls from others.

The Ray executor (`_ray.py`) makes one actor per shard, with room for concurrent calls, so that
``start``, ``stop``, ``interrupt`` and ``progress`` reach the shard while ``run`` blocks.
Imported by the actors (the package is installed on every node); it imports no Ray itself.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from ._shard import ShardControl, ShardProgress, ShardReport, ShardSpec, run_shard

__all__ = ["ShardActor"]


class ShardActor:
    """The worker side of one shard; every method is called by the coordinator through Ray."""

    def __init__(self) -> None:
        self.control = ShardControl()
        self.ended = threading.Event()

    def where(self) -> tuple[str, int, str]:
        """The actor's host name, process id and Ray node id."""
        import ray  # in an actor, Ray is there

        return socket.gethostname(), os.getpid(), ray.get_runtime_context().get_node_id()

    def clock(self) -> float:
        """This host's ``time.time()`` now (the coordinator measures the offset from it)."""
        return time.time()

    def run(self, spec: ShardSpec) -> ShardReport:
        """Run the shard; return its report once its folder is saved."""
        try:
            return run_shard(spec, self.control)
        finally:
            self.ended.set()

    def wait_ready(self, seconds: float) -> bool:
        """Whether the shard opened its connections within `seconds` (False once it ended)."""
        deadline = time.monotonic() + seconds
        while not self.control.ready.wait(0.05):
            if self.ended.is_set() or time.monotonic() > deadline:
                return False
        return True

    def start(self, at: float) -> None:
        """Start the shard's clock at `at`, an instant on this host's ``time.time()``."""
        self.control.start(at)

    def stop(self, reason: str) -> None:
        self.control.stop(reason)

    def interrupt(self, signal_name: str) -> None:
        self.control.interrupt(signal_name)

    def progress(self) -> ShardProgress:
        return self.control.progress()
