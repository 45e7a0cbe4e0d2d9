"""An executor that runs a split run's shards as tasks of the coordinator's own trio run.

The shards are what worker processes run (`_worker_run`: each one's plan, records in its own
folder, its report), driven through their `ShardControl`s as the local executor drives them
over pipes; only the processes are left out. So a split run goes through its split, start,
stop and merge in virtual time (a MockClock), against an in-process server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

import attrs
import pytest
import trio

from llmeter_trio.distributed import _coordinator
from llmeter_trio.distributed._shard import (
    ShardControl,
    ShardOutcome,
    ShardProgress,
    ShardReport,
    ShardSpec,
)
from llmeter_trio.distributed._worker_run import _run_shard

__all__ = ["InProcessExecutor", "shards_in_process"]


@attrs.define(eq=False)
class InProcessExecutor:
    """The `Executor` contract, each shard a task in `nursery` (the coordinator's)."""

    nursery: trio.Nursery
    controls: list[ShardControl] = attrs.field(factory=list)
    outcomes: dict[int, ShardOutcome] = attrs.field(factory=dict)
    ended: dict[int, trio.Event] = attrs.field(factory=dict)
    _on_end: Callable[[ShardOutcome], None] | None = None

    async def launch(self, specs: Sequence[ShardSpec]) -> None:
        for spec in specs:
            control = ShardControl()
            self.controls.append(control)
            self.ended[spec.index] = trio.Event()
            self.nursery.start_soon(self._run, spec, control)

    async def _run(self, spec: ShardSpec, control: ShardControl) -> None:
        report: ShardReport = await _run_shard(spec, control)
        self.outcomes[spec.index] = report
        self.ended[spec.index].set()
        if self._on_end is not None:
            self._on_end(report)

    async def wait_ready(self, seconds: float) -> list[int]:
        with trio.move_on_after(seconds):
            while not all(c.ready.is_set() for c in self.controls):  # noqa: ASYNC110 (threading.Events)
                await trio.sleep(0.01)
        return [i for i, c in enumerate(self.controls) if c.ready.is_set()]

    async def start(self, at: float) -> None:
        for control in self.controls:
            control.start(at)

    def stop(self, reason: str) -> None:
        for control in self.controls:
            control.stop(reason)

    def interrupt(self, signal_name: str) -> None:
        for control in self.controls:
            control.interrupt(signal_name)

    def progress(self) -> list[ShardProgress]:
        return [control.progress() for control in self.controls]

    async def collect(self, on_end: Callable[[ShardOutcome], None]) -> list[ShardOutcome]:
        self._on_end = on_end
        for outcome in self.outcomes.values():  # those that ended already
            on_end(outcome)
        for event in self.ended.values():
            await event.wait()
        return [self.outcomes[index] for index in sorted(self.outcomes)]

    async def aclose(self) -> None:
        return None


@contextmanager
def shards_in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[InProcessExecutor]]:
    """In the block, ``Runner.run(workers=N)`` runs its shards with an `InProcessExecutor`;
    the block gets the list of those made (one per split run, in order)."""
    made: list[InProcessExecutor] = []

    def executor(nursery: trio.Nursery) -> InProcessExecutor:
        made.append(InProcessExecutor(nursery))
        return made[-1]

    with monkeypatch.context() as patch:
        patch.setattr(
            _coordinator,
            "run_with_workers",
            partial(_coordinator.run_with_workers, executor=executor),
        )
        yield made
