"""The local executor: one worker process per shard on this host (`_worker.py`)."""

from __future__ import annotations

import base64
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence

import attrs
import trio

from ..storage import converter, dumps, loads
from ._shard import ShardLost, ShardOutcome, ShardProgress, ShardReport, ShardSpec

__all__ = ["LocalExecutor"]

CLOSE_GRACE = 10.0  # seconds an interrupted worker has to save its folder before it is killed
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@attrs.define(eq=False)
class _Worker:
    spec: ShardSpec
    process: trio.Process
    commands: trio.MemorySendChannel[bytes]
    progress: ShardProgress
    ready: bool = False
    outcome: ShardOutcome | None = None
    ended: trio.Event = attrs.field(factory=trio.Event)


@attrs.define(eq=False)
class LocalExecutor:
    """Runs each shard in a worker process of its own on this host, driven over its pipes.

    Its background tasks run in `nursery` (the coordinator's), which must
    outlive `collect` and `aclose`.
    """

    nursery: trio.Nursery
    workers: list[_Worker] = attrs.field(factory=list)
    _on_end: Callable[[ShardOutcome], None] | None = None
    _changed: trio.Event = attrs.field(factory=trio.Event)

    async def launch(self, specs: Sequence[ShardSpec]) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        for spec in specs:
            process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "llmeter_trio.distributed._worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,  # Ctrl-C at the terminal reaches the coordinator only
                env=env,
            )
            send, receive = trio.open_memory_channel[bytes](64)
            worker = _Worker(spec, process, send, ShardProgress(index=spec.index))
            self.workers.append(worker)
            send.send_nowait(base64.b64encode(pickle.dumps(spec)) + b"\n")
            self.nursery.start_soon(self._write, worker, receive)
            self.nursery.start_soon(self._read, worker)

    async def wait_ready(self, seconds: float) -> list[int]:
        with trio.move_on_after(seconds):
            while not all(w.ready or w.ended.is_set() for w in self.workers):
                await self._wait_change()
        return [w.spec.index for w in self.workers if w.ready and not w.ended.is_set()]

    async def start(self, at: float) -> None:
        self._broadcast({"start": at})

    def stop(self, reason: str) -> None:
        self._broadcast({"stop": reason})

    def interrupt(self, signal_name: str) -> None:
        self._broadcast({"interrupt": signal_name})

    def progress(self) -> list[ShardProgress]:
        return [w.progress for w in self.workers]

    async def collect(self, on_end: Callable[[ShardOutcome], None]) -> list[ShardOutcome]:
        self._on_end = on_end
        for worker in self.workers:  # those that ended already
            if worker.outcome is not None:
                on_end(worker.outcome)
        for worker in self.workers:
            await worker.ended.wait()
        return [w.outcome for w in self.workers if w.outcome is not None]

    async def aclose(self) -> None:
        """Workers still running (the coordinator was cancelled) are interrupted, so they
        save their folders, and killed if they have not ended within `CLOSE_GRACE` s."""
        with trio.CancelScope(shield=True):
            if any(not w.ended.is_set() for w in self.workers):
                for worker in self.workers:  # (the pipes' tasks may be cancelled: a signal)
                    if worker.process.returncode is None:
                        worker.process.send_signal(signal.SIGTERM)
                with trio.move_on_after(CLOSE_GRACE):
                    for worker in self.workers:
                        await worker.ended.wait()
            for worker in self.workers:
                if worker.process.returncode is None:
                    worker.process.kill()
            for worker in self.workers:
                await worker.process.wait()
                await worker.ended.wait()

    # -- the pipes ------------------------------------------------------------------

    def _broadcast(self, command: dict[str, object]) -> None:
        line = dumps(command) + b"\n"
        for worker in self.workers:
            if not worker.ended.is_set():
                try:
                    worker.commands.send_nowait(line)
                except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                    continue

    async def _wait_change(self) -> None:
        await self._changed.wait()
        self._changed = trio.Event()

    def _notify(self) -> None:
        self._changed.set()

    async def _write(self, worker: _Worker, receive: trio.MemoryReceiveChannel[bytes]) -> None:
        stdin = worker.process.stdin
        assert stdin is not None
        async with receive:
            async for line in receive:
                try:
                    await stdin.send_all(line)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return

    async def _read(self, worker: _Worker) -> None:
        stdout = worker.process.stdout
        assert stdout is not None
        buffer = b""
        report: ShardReport | None = None
        try:
            while True:
                data = await stdout.receive_some(65536)
                if not data:
                    break
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        report = self._handle(worker, loads(line)) or report
        finally:
            with trio.CancelScope(shield=True):
                code = await worker.process.wait()
            worker.commands.close()
            worker.outcome = report or ShardLost(
                index=worker.spec.index, folder=worker.spec.folder, reason=_death(worker, code)
            )
            worker.ended.set()
            self._notify()
            if self._on_end is not None:
                self._on_end(worker.outcome)

    def _handle(self, worker: _Worker, message: dict[str, object]) -> ShardReport | None:
        if "ready" in message:
            worker.ready = True
            self._notify()
        elif "progress" in message:
            worker.progress = converter.structure(message["progress"], ShardProgress)
        elif "report" in message:
            report = pickle.loads(base64.b64decode(str(message["report"])))
            assert isinstance(report, ShardReport)
            return report
        return None


def _death(worker: _Worker, code: int) -> str:
    pid = worker.process.pid
    if code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    else:
        how = f"exited with status {code} without a report"
    return f"worker {worker.spec.index} (pid {pid}) {how}"
