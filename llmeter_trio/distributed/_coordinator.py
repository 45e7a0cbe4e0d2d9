"""The coordinator of a run split across workers: start them together, stop them together,
merge what they measured into one result.

1. The run is planned (and checked) once; its folder is made and its
   configuration saved, as for one process. It is split into shards (`_split`).
2. The executor starts one worker per shard; each opens its connections, then
   says it is ready. When all are ready (or `READY_TIMEOUT` passed) the
   coordinator gives them one start instant, `START_MARGIN` ahead: every
   worker's run clock starts there, so intended and sent times are on one
   time base.
3. Each worker stops at the run's deadline or bound. Ctrl-C or SIGTERM of the
   coordinator interrupts every worker; a worker stopped by `stop_run` (a cost
   cap) or failing stops the others with that reason; a worker that dies is
   reported and the others go on.
4. The shards' records are merged into the run folder and counted once
   (`_merge`), with the workers' generator series (a ``worker`` column) and
   worker 0's server metrics; the result is saved and returned (or raised with
   `RunInterrupted`, as one process does).
"""

from __future__ import annotations

import math
import posixpath
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import Any

import attrs
import trio

from ..endpoints import Endpoint
from ..engine._plan import RunPlan
from ..engine._result import run_result
from ..engine._run import DEFAULT_DRAIN_TIMEOUT, RunInterrupted
from ..engine._signals import watch_signals
from ..engine._writer import LiveProgress
from ..plugins import tokenizer_from_config
from ..results import SUMMARY_FILE, Result
from ..run_config import RunConfig
from ..storage import exists, read_json, resolve, run_io
from ._local import LocalExecutor
from ._merge import (
    Merged,
    copy_server_metrics,
    generator_series,
    merge_shards,
    workers_health,
)
from ._shard import Executor, ShardLost, ShardOutcome, ShardReport, ShardSpec
from ._split import split_run

__all__ = [
    "READY_TIMEOUT",
    "START_MARGIN",
    "WorkerFailed",
    "check_rebuilds",
    "run_with_workers",
]

READY_TIMEOUT = 60.0  # seconds for the workers to start (beyond their connections' timeout)
START_MARGIN = 0.1  # seconds between the start instant's broadcast and the instant
PROGRESS_INTERVAL = 0.25

ExecutorFactory = Callable[[trio.Nursery], Executor]


class WorkerFailed(RuntimeError):
    """A worker's run failed (storage, a callback, its endpoint); the others were stopped and
    the partial result, saved, is attached as `result`."""

    def __init__(self, message: str, result: Result) -> None:
        super().__init__(message)
        self.result = result


@attrs.define
class _State:
    signal: str | None = None
    stop_reason: str | None = None
    failure: str | None = None
    start_at: float | None = None
    sessions: _SessionCounts | None = None  # a multi-turn run's, summed over the workers


@attrs.define
class _SessionCounts:
    started: int = 0
    active: int = 0


async def run_with_workers(
    plan: RunPlan,
    count: int,
    endpoint: Endpoint,
    *,
    callbacks: list[Any],
    progress: LiveProgress,
    executor: ExecutorFactory = LocalExecutor,
) -> Result:
    """Run `plan` in `count` workers (fewer when there is not enough load to share)."""
    config = plan.config
    temporary = None if config.output_path is not None else tempfile.mkdtemp(prefix="llmeter-trio-")
    result_url = config.output_path or temporary
    assert result_url is not None
    specs = split_run(plan, count, result_url, callbacks)
    state = _State()
    if plan.sessions is not None:
        progress.sessions = state.sessions = _SessionCounts()
    try:
        outcomes = await _run_shards(specs, plan, state, progress, executor)
        merged = merge_shards(specs, outcomes, config, keep=not config.low_memory)
        result = await _result(plan, endpoint, specs, outcomes, merged, state)
        if config.output_path is not None:
            fs = resolve(config.output_path)[0]
            await run_io(fs, result.save)
            await run_io(fs, copy_server_metrics, specs, config.output_path)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    progress.finished, progress.failed = result.total_requests, merged.stats.failed_requests
    if state.sessions is not None:
        state.sessions.started, state.sessions.active = merged.stats.sessions.started, 0
    if state.failure is not None:
        raise WorkerFailed(state.failure, result)
    if state.signal is not None and config.on_interrupt != "return":
        raise RunInterrupted(result, state.signal)
    return result


def check_rebuilds(config: RunConfig, endpoint: Endpoint) -> None:
    """Each worker rebuilds the endpoint and tokenizer from their configurations: check,
    before the run starts, that they can be, and as the same class."""
    problem = None
    try:
        rebuilt = config.endpoint()
        tokenizer_from_config(config.tokenizer_config)
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"
    else:
        if type(rebuilt) is not type(endpoint):
            problem = (
                f"its configuration makes a {type(rebuilt).__name__}, "
                f"not a {type(endpoint).__name__}"
            )
    if problem is not None:
        raise ValueError(
            "with workers, each worker rebuilds the endpoint from its configuration, and this "
            f"one cannot be ({problem}): register the endpoint class through a plugin "
            "(docs/writing-plugins.md)"
        )


async def _run_shards(
    specs: list[ShardSpec],
    plan: RunPlan,
    state: _State,
    progress: LiveProgress,
    make_executor: ExecutorFactory,
) -> list[ShardOutcome]:
    config = plan.config
    connect = config.timeout if config.timeout is not None else DEFAULT_DRAIN_TIMEOUT

    def on_end(outcome: ShardOutcome) -> None:
        if not isinstance(outcome, ShardReport) or state.signal is not None:
            return  # a dead worker: the others go on
        reason = None
        if outcome.error is not None:
            reason = state.failure = state.failure or f"worker {outcome.index}: {outcome.error}"
        elif outcome.stop_reason is not None:
            reason = outcome.stop_reason
        if reason is not None and state.stop_reason is None:
            state.stop_reason = reason
            executor.stop(reason)

    def on_signal(name: str) -> None:
        state.signal = state.signal or name
        executor.interrupt(name)

    async with trio.open_nursery() as nursery:
        executor = make_executor(nursery)
        try:
            with ExitStack() as signals:
                if threading.current_thread() is threading.main_thread():
                    signals.enter_context(watch_signals(on_signal))
                await executor.launch(specs)
                await executor.wait_ready(READY_TIMEOUT + connect)
                state.start_at = time.time() + START_MARGIN
                await executor.start(state.start_at)
                nursery.start_soon(_sum_progress, executor, progress, state)
                outcomes = await executor.collect(on_end)
        finally:
            await executor.aclose()
            nursery.cancel_scope.cancel()
    return outcomes


async def _sum_progress(executor: Executor, progress: LiveProgress, state: _State) -> None:
    """The run's progress line: the sum of the workers' counters; a worker whose load was
    stopped from inside (a cost cap) stops the others."""
    while True:
        shards = executor.progress()
        reason = next((p.stop_reason for p in shards if p.stop_reason), None)
        if reason is not None and state.stop_reason is None and state.signal is None:
            state.stop_reason = reason
            executor.stop(reason)
        progress.started = sum(p.started for p in shards)
        progress.finished = sum(p.finished for p in shards)
        progress.failed = sum(p.failed for p in shards)
        progress.output_tokens = sum(p.output_tokens for p in shards)
        if state.sessions is not None:
            state.sessions.started = sum(p.sessions_started for p in shards)
            state.sessions.active = sum(p.sessions_active for p in shards)
        await trio.sleep(PROGRESS_INTERVAL)


async def _result(
    plan: RunPlan,
    endpoint: Endpoint,
    specs: list[ShardSpec],
    outcomes: list[ShardOutcome],
    merged: Merged,
    state: _State,
) -> Result:
    stats = merged.stats
    start = state.start_at if state.start_at is not None else time.time()
    wall_start = datetime.fromtimestamp(start, timezone.utc)
    total_test_time = _load_time(specs, outcomes, start)
    lost = any(isinstance(o, ShardLost) for o in outcomes)
    reports = [o for o in outcomes if isinstance(o, ShardReport)]
    interrupted = (
        state.signal is not None
        or lost
        or len(outcomes) < len(specs)
        or any(r.interrupted for r in reports)
    )
    stop_reason = state.stop_reason or next((r.stop_reason for r in reports if r.stop_reason), None)
    return run_result(
        plan, endpoint, stats, merged.responses,
        wall_start=wall_start, total_test_time=total_test_time,
        first_send=stats.send_span.first, last_send=stats.send_span.last,
        interrupted=interrupted, stop_reason=stop_reason,
        generator=workers_health(outcomes, len(specs)), generator_series=generator_series(specs),
        server_metrics=next((r.server_metrics for r in reports if r.server_metrics), {}),
    )  # fmt: skip


def _load_time(specs: list[ShardSpec], outcomes: list[ShardOutcome], start: float) -> float:
    """The run's length: the longest shard's (from its summary), else until now."""
    longest = -math.inf
    for spec in specs:
        fs, folder = resolve(spec.folder)
        path = posixpath.join(folder, SUMMARY_FILE)
        if exists(fs, path):
            seconds = read_json(fs, path).get("total_test_time")
            if isinstance(seconds, (int, float)):
                longest = max(longest, float(seconds))
    if not math.isfinite(longest) or any(isinstance(o, ShardLost) for o in outcomes):
        longest = max(longest, time.time() - start)
    return longest
