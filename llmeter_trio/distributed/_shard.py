"""One shard of a run split across workers: what a worker is given, what it gives back.

This module is the contract between the coordinator (`llmeter_trio.distributed`)
and whatever runs the shards: the local process executor (`_local.py`) or the
Ray executor (`_ray*.py`). A shard is one trio run of its own, in one process
(or Ray actor), sending its share of the load:

1. The coordinator plans the whole run once, splits it (`_split.py`) into one
   picklable `ShardSpec` per worker, and hands them to an `Executor`.
2. The executor calls ``run_shard(spec, control)`` once per shard, each in
   its own process (the call blocks that process's thread for the whole run).
3. The shard rebuilds its endpoint from ``spec.run_config.endpoint_config``
   (secrets come from the worker's environment, never from the spec), opens
   and preconnects its connections, sets ``control.ready`` and waits for the
   start instant (``spec.start_at``, or one given later by
   ``control.start(at)``). Its run clock starts at that instant, so every
   shard's intended and actual send times are on one time base.
4. It streams its records into its own run folder,
   ``{spec.result_url}/workers/worker-NNN/`` (`shard_folder`): a complete
   llmeter-trio run folder that `Result.load` reads on its own.
5. It stops at its deadline or bound, or at ``control.stop(reason)`` (as
   `stop_run`: no new request, those in flight finish) or
   ``control.interrupt(name)`` (as Ctrl-C: the load is cancelled, each request
   in flight recorded as cancelled); its folder is saved either way and
   `run_shard` returns a `ShardReport` (it never raises for a failed or
   interrupted run: the report says so).
6. The coordinator merges the shards' folders into the run folder.

Clocks: ``spec.start_at`` and ``control.start(at)`` are instants on the
worker's own ``time.time()`` clock. On one host that is the coordinator's
clock; an executor whose workers run on other hosts translates the
coordinator's instant by the offset it measured for each worker (and puts that
offset in ``spec.clock_offset``, reported back in `ShardReport.clock_offset`).
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

import attrs

from ..run_config import RunConfig
from ..schedules import Arrival
from ..stats import RunStats
from ..storage import WORKERS_FOLDER

__all__ = [
    "Deal",
    "Executor",
    "ShardControl",
    "ShardLost",
    "ShardOutcome",
    "ShardProgress",
    "ShardReport",
    "ShardSpec",
    "WORKERS_FOLDER",
    "run_shard",
    "shard_folder",
]

# How an open-loop schedule's arrivals are shared out (see `_split.py`): every shard
# draws the whole run's arrival stream from the run's seed and keeps its own;
# "round_robin": arrival k goes to shard k % count (constant rates interleaved by
# phase, traces dealt in order); "thinning": each arrival goes to a shard drawn at
# random from the run's seed (a Poisson process splits into independent Poisson
# streams). None: the shard's schedule is its own (closed loop, a TokenRate share).
Deal = Literal["round_robin", "thinning"]


def shard_folder(result_url: str, index: int) -> str:
    """The run folder of shard `index` under the run's folder `result_url`."""
    return posixpath.join(result_url.rstrip("/"), WORKERS_FOLDER, f"worker-{index:03d}")


@attrs.frozen(kw_only=True)
class ShardSpec:
    """Everything one worker needs to run its share of a run; picklable, holds no secret.

    Attributes:
        index: this shard's number, 0 to ``count - 1``.
        count: how many shards the run has.
        run_config: the shard's own settings, saved in its folder: its clients
            (closed loop), its ``n_requests`` (open loop: its share of the
            total), its ``max_concurrency`` share, the payloads themselves
            (``run_config.payload``), the endpoint's and tokenizer's
            configurations (without secrets), and ``output_path`` =
            ``shard_folder(result_url, index)``. For a dealt schedule (`deal`)
            ``run_config.schedule`` is the whole run's arrival process.
        result_url: the run's folder (any fsspec URL every worker can write).
        deal: how the arrivals are shared out (see `Deal`); None: not dealt.
        first_client: the run-wide number of this shard's first closed-loop
            client (records carry run-wide client numbers and each client
            draws the payload order it would have in one process).
        start_at: the agreed start instant on the worker's ``time.time()``
            clock; None: wait for ``control.start(at)`` once ready.
        clock_offset: the worker's clock minus the coordinator's, in seconds,
            as the executor measured it (0 on one host); only reported.
        callbacks: the run's callbacks: configurations (``{"callback_type":
            NAME, ...}``, rebuilt in the worker through the plugins) or
            picklable callback objects (a `CostModel`, ...), each worker's
            spending cap (``max_cost``) already divided between the workers.
        progress_interval: seconds between the progress snapshots a worker
            sends (`ShardControl.progress` is always current).
        payload_offset, payload_stride: with ``payload_order="once"`` shard i
            sends payloads i, i + count, ... of the run's list; its records'
            ``payload_index`` (into its own list) maps back to the run's as
            ``payload_offset + payload_stride * index`` (the merge does it).
        trace: a replayed trace's arrivals (the whole run's, read once by the
            coordinator; the shard keeps its dealt share), else None.
    """

    index: int
    count: int
    run_config: RunConfig
    result_url: str
    deal: Deal | None = None
    first_client: int = 0
    start_at: float | None = None
    clock_offset: float = 0.0
    callbacks: list[Any] = attrs.field(factory=list)
    progress_interval: float = 0.5
    payload_offset: int = 0
    payload_stride: int = 1
    trace: list[Arrival] | None = None

    @property
    def folder(self) -> str:
        """This shard's run folder."""
        return shard_folder(self.result_url, self.index)


@attrs.frozen(kw_only=True)
class ShardProgress:
    """A shard's live counters (summed by the coordinator into the run's progress line), and
    the reason its load was stopped from inside (`stop_run`: a cost cap), which the
    coordinator passes on to the other shards at once."""

    index: int
    started: int = 0
    finished: int = 0
    failed: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None
    sessions_started: int = 0  # a multi-turn run's sessions (the live display shows them)
    sessions_active: int = 0


@attrs.frozen(kw_only=True)
class ShardReport:
    """How one shard ended; `run_shard` returns one whatever stopped it.

    Attributes:
        index: the shard's number.
        folder: the shard's run folder (its records, config and summary).
        total_requests: records the shard wrote (every request it issued).
        failed: of which failed (errors, timeouts, cancelled).
        interrupted: the shard was cut short (interrupt, signal, error).
        stop_reason: the reason it was stopped with (`control.stop`, `stop_run`
            from a callback or endpoint, e.g. a cost cap), else None.
        error: one line, when the shard ended with an error (storage, a
            callback, a bad endpoint configuration); the coordinator stops
            the other shards then.
        start_lag: seconds the shard's clock started after the agreed instant
            (it was not ready in time; its first arrivals then show as lag).
        clock_offset: ``spec.clock_offset``, reported back.
        generator: the shard's generator health (``Result.generator``: lag,
            CPU, ``bottleneck``, ``warnings``), saying whether this worker was
            the bottleneck.
        server_metrics: the summary of the server's metrics the shard scraped
            (``Result.server_metrics``; worker 0 alone scrapes), else empty.
        host: the worker's host name; pid: its process id.
        stats: the statistics of the shard's records (a picklable `RunStats`),
            merged by the coordinator in shard order (`RunStats.merge`) so it
            reads no record; None when the shard kept none.
    """

    index: int
    folder: str
    total_requests: int = 0
    failed: int = 0
    interrupted: bool = False
    stop_reason: str | None = None
    error: str | None = None
    start_lag: float = 0.0
    clock_offset: float = 0.0
    generator: dict[str, Any] = attrs.field(factory=dict)
    server_metrics: dict[str, Any] = attrs.field(factory=dict)
    host: str = ""
    pid: int = 0
    stats: RunStats | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ShardLost:
    """A shard that ended without a report: its process died or was killed.

    Its folder keeps every record written before (flushed per record); the
    coordinator merges them and marks the run interrupted.
    """

    index: int
    folder: str
    reason: str  # one line, e.g. "worker 1 (pid 1234) was killed by SIGKILL"


ShardOutcome = ShardReport | ShardLost


class ShardControl:
    """The thread-safe handle between a running shard and its executor.

    Create one per shard, pass it to ``run_shard(spec, control)`` (which runs
    in one thread) and call its methods from any other thread (a reader of the
    executor's pipe, a Ray actor's concurrent method). Calls made before the
    shard's trio run started take effect as soon as it starts.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ready = threading.Event()  # set once the shard's connections are open
        self._start = threading.Event()
        self._start_at: float | None = None
        self._actions: list[tuple[str, str]] = []  # ("stop" | "interrupt", text)
        self._deliver: Callable[[str, str], None] | None = None
        self._progress: Callable[[], ShardProgress] | None = None
        self._index = 0

    # -- for the executor (any thread) ------------------------------------------

    def start(self, at: float) -> None:
        """Start the shard's clock at `at` (the worker's ``time.time()``), once it is ready."""
        with self._lock:
            if self._start_at is None:
                self._start_at = at
        self._start.set()

    def stop(self, reason: str) -> None:
        """Stop sending, as `stop_run(reason)`: requests in flight finish (drain grace)."""
        self._act("stop", reason)

    def interrupt(self, signal_name: str = "SIGINT") -> None:
        """Cancel the load, as Ctrl-C: requests in flight are recorded cancelled, all saved."""
        self._act("interrupt", signal_name)
        self._start.set()  # also when still waiting for the start

    def progress(self) -> ShardProgress:
        """The shard's counters now (zeros before its run started)."""
        with self._lock:
            read = self._progress
        return read() if read is not None else ShardProgress(index=self._index)

    # -- for the shard (its own thread) -----------------------------------------

    def _act(self, kind: str, text: str) -> None:
        with self._lock:
            deliver = self._deliver
            if deliver is None:
                self._actions.append((kind, text))
                return
        deliver(kind, text)

    def bind(
        self, index: int, deliver: Callable[[str, str], None], progress: Callable[[], ShardProgress]
    ) -> None:
        """Called by the shard when its run starts: where actions go (thread-safe callable)."""
        with self._lock:
            self._index = index
            self._deliver, self._progress = deliver, progress
            pending, self._actions = self._actions, []
        for kind, text in pending:
            deliver(kind, text)

    def wait_start(self, timeout: float | None = None) -> float | None:
        """Block until `start` (or `interrupt`) was called; the instant, None if interrupted."""
        self._start.wait(timeout)
        with self._lock:
            return self._start_at


def run_shard(spec: ShardSpec, control: ShardControl | None = None) -> ShardReport:
    """Run one shard as its own trio run in this thread; save its folder; report how it ended.

    Blocks until the shard's load ended and its folder is saved. Without
    `control`, ``spec.start_at`` must be set (the shard then cannot be
    stopped from outside except by a signal, when run in the main thread).
    Raises only for a spec it cannot run at all (bad settings: ValueError).
    """
    from ._worker_run import run_shard_sync  # the engine is imported by the worker only

    return run_shard_sync(spec, control)


class Executor(Protocol):
    """Runs a run's shards somewhere (local processes, Ray actors); the coordinator drives it.

    The coordinator makes one with ``factory(nursery)``: background tasks (pipe
    readers, pollers) run in that nursery, which outlives `aclose`. See
    `_local.LocalExecutor` for a complete one. Methods are called in this
    order from the coordinator's trio run: `launch`,
    `wait_ready`, `start`, then `collect` (while it waits: `progress`, `stop`,
    `interrupt`, any number of times), then `aclose` (always, also after an
    error or a cancellation). `stop` and `interrupt` must reach every shard
    still running within a second.
    """

    async def launch(self, specs: Sequence[ShardSpec]) -> None:
        """Start one worker per spec, each calling `run_shard`; return once all are started."""

    async def wait_ready(self, seconds: float) -> list[int]:
        """Wait until every shard is ready (connections open) or ended, at most `seconds`;
        return the indices of the shards ready."""

    async def start(self, at: float) -> None:
        """Give every shard the start instant `at` (the coordinator's ``time.time()``)."""

    def stop(self, reason: str) -> None:
        """Ask every running shard to stop sending (`ShardControl.stop`)."""

    def interrupt(self, signal_name: str) -> None:
        """Ask every running shard to cancel its load (`ShardControl.interrupt`)."""

    def progress(self) -> list[ShardProgress]:
        """The latest counters of every shard (those last seen, for ended ones)."""

    async def collect(self, on_end: Callable[[ShardOutcome], None]) -> list[ShardOutcome]:
        """Wait for every shard to end; call `on_end` (in the coordinator's trio run) as each
        ends, with its `ShardReport`, or a `ShardLost` for a worker that died without one.
        Returns the outcomes in shard order."""
        ...

    async def aclose(self) -> None:
        """Release the workers; kill any still running (after `collect`, none is)."""
