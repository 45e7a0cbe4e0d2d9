"""Running one shard in this process: its own trio run, started and stopped by its control."""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

import attrs
import trio

from ..endpoints import InvocationResponse
from ..engine._hooks import RunHooks
from ..engine._run import execute_run
from ..engine._runner import _start_run_folder
from ..engine._stop import LoadStop
from ..engine._writer import LiveProgress
from ..plugins import callback_from_config, tokenizer_from_config
from ..results import Result
from ..storage import ResponseSink
from ..tokenizers import DummyTokenizer
from ._shard import ShardControl, ShardProgress, ShardReport, ShardSpec
from ._split import shard_plan

__all__ = ["run_shard_sync"]


@attrs.define
class _Control:
    """The engine's `RunControl` for one shard, over its thread-safe `ShardControl`."""

    spec: ShardSpec
    shard: ShardControl
    progress: LiveProgress
    start_lag: float = 0.0
    load_stop: LoadStop | None = None

    def attach(self, stop: LoadStop, interrupt: Callable[[str], None]) -> None:
        token = trio.lowlevel.current_trio_token()
        actions = {"stop": stop.stop, "interrupt": interrupt}
        self.load_stop = stop

        def deliver(kind: str, text: str) -> None:
            try:
                token.run_sync_soon(actions[kind], text)
            except trio.RunFinishedError:  # the shard already ended
                return

        self.shard.bind(self.spec.index, deliver, self._snapshot)

    def _snapshot(self) -> ShardProgress:
        p = self.progress
        sessions = p.sessions
        return ShardProgress(
            index=self.spec.index,
            started=p.started,
            finished=p.finished,
            failed=p.failed,
            output_tokens=p.output_tokens,
            stop_reason=self.load_stop.reason if self.load_stop is not None else None,
            sessions_started=sessions.started if sessions is not None else 0,
            sessions_active=sessions.active if sessions is not None else 0,
        )

    async def clock_start(self) -> tuple[float, datetime]:
        self.shard.ready.set()
        at = await trio.to_thread.run_sync(self.shard.wait_start, abandon_on_cancel=True)
        now_trio, now_wall = trio.current_time(), time.time()
        if at is None:  # interrupted before the start: the load scope is being cancelled
            at = now_wall
        start = now_trio + (at - now_wall)
        self.start_lag = max(0.0, now_wall - at)
        await trio.sleep_until(start)
        return start, datetime.fromtimestamp(at, timezone.utc)


def run_shard_sync(spec: ShardSpec, control: ShardControl | None) -> ShardReport:
    """`run_shard`: one trio run for the shard, in this thread."""
    if control is None:
        if spec.start_at is None:
            raise ValueError("a shard run without a control needs spec.start_at")
        control = ShardControl()
    if spec.start_at is not None:
        control.start(spec.start_at)
    return trio.run(_run_shard, spec, control)


async def _run_shard(spec: ShardSpec, shard: ShardControl) -> ShardReport:
    plan = shard_plan(spec)
    config = plan.config
    assert config.output_path is not None
    progress = LiveProgress(total_requests=plan.total_requests, run_duration=config.run_duration)
    control = _Control(spec, shard, progress)
    base = {"index": spec.index, "folder": spec.folder, "clock_offset": spec.clock_offset}
    base.update(host=socket.gethostname(), pid=os.getpid())
    try:
        endpoint = config.endpoint()
        tokenizer = tokenizer_from_config(config.tokenizer_config) or DummyTokenizer()
        hooks = RunHooks(
            [callback_from_config(c) if isinstance(c, Mapping) else c for c in spec.callbacks]
        )
        sink = _start_run_folder(config.output_path, config)
        assert sink is not None
        if spec.payload_stride != 1 or spec.payload_offset:
            sink = _RunWidePayloads(sink, spec.payload_offset, spec.payload_stride)
    except Exception as exc:  # nothing was sent
        shard.ready.set()
        return ShardReport(**base, interrupted=True, error=_one_line(exc))  # type: ignore[arg-type]
    error: str | None = None
    result: Result | None = None
    try:
        result = await execute_run(plan, endpoint, tokenizer, hooks, sink, progress, control)
    except Exception as exc:  # storage or a callback failed: the folder is saved all the same
        error = _one_line(exc)
        result = getattr(exc, "result", None)
    finally:
        shard.ready.set()  # also when it failed before being ready
    if result is None:
        return ShardReport(
            **base,  # type: ignore[arg-type]
            total_requests=progress.finished,
            failed=progress.failed,
            interrupted=True,
            error=error,
            start_lag=control.start_lag,
            stats=progress.stats,
        )
    return ShardReport(
        **base,  # type: ignore[arg-type]
        total_requests=result.total_requests,
        failed=progress.failed,
        interrupted=result.interrupted or error is not None,
        stop_reason=result.stop_reason,
        error=error,
        start_lag=control.start_lag if math.isfinite(control.start_lag) else 0.0,
        generator=dict(result.generator),
        server_metrics=dict(result.server_metrics),
        stats=progress.stats,  # the writer's: every record counted once
    )


@attrs.define
class _RunWidePayloads:
    """A sink saving each record with its payload's index in the run's list, not the shard's."""

    sink: ResponseSink
    offset: int
    stride: int

    async def write(self, response: InvocationResponse) -> None:
        if response.payload_index is not None:
            response.payload_index = self.offset + self.stride * response.payload_index
        await self.sink.write(response)

    async def close(self) -> None:
        await self.sink.close()


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())
