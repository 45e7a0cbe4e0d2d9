"""The Ray executor: each shard of a run in a Ray actor, on an existing Ray cluster.

`RayExecutor` implements the coordinator's `Executor` (`_shard.py`) with one
`ShardActor` (`_ray_actor.py`) per shard, placed by a placement group that
spreads them across the cluster's nodes, each reserving `resources`:

- start: before a shard runs, its host's clock is read a few times and its
  offset from the coordinator's clock taken from the reading with the shortest
  round trip (error at most half of it); the coordinator's start instant is
  given to each actor on its own clock, so the start does not depend on the
  hosts' clocks agreeing. The offsets are in each shard's report
  (``Result.generator["workers"][i]["clock_offset"]``); the largest is logged
  and saved (``Result.generator["largest_clock_offset"]``).
- stop: `stop` and `interrupt` are actor calls that run beside the shard
  (the actors take concurrent calls); Ctrl-C or SIGTERM of the coordinator
  reaches every actor at once.
- results: each shard writes its own folder under the run's `result_url`,
  which every node must reach (``s3://...``, a shared file system); the
  coordinator merges them. An actor that dies is reported as `ShardLost`; what
  it wrote before is kept.

Ray is imported only here, when a run uses this executor (the `ray` extra).
"""

from __future__ import annotations

import functools
import logging
import math
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from ._ray_actor import ShardActor
from ._shard import Executor, ShardLost, ShardOutcome, ShardProgress, ShardReport, ShardSpec

__all__ = [
    "RayExecutor",
    "check_ray_settings",
    "clock_offset",
    "check_reachable",
    "ray_executor",
    "ray_options",
]

log = logging.getLogger("llmeter_trio.distributed")

PLACEMENT_TIMEOUT = 60.0  # seconds for the cluster to find room for every worker
CALL_TIMEOUT = 60.0  # seconds for one short actor call (its first one starts the actor)
CLOCK_READINGS = 5
POLL_INTERVAL = 0.05  # seconds between looks at which shards ended
PROGRESS_INTERVAL = 0.25
ACTOR_THREADS = 8  # concurrent calls per actor: the run, and controls beside it


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RuntimeError("the Ray executor needs Ray: pip install 'llmeter-trio[ray]'") from None
    return ray


def ray_options(resources: Mapping[str, float] | None) -> dict[str, Any]:
    """Ray's actor options for one worker's `resources` ({"CPU": 1} when not given); "CPU",
    "GPU" and "memory" (bytes) are Ray's own, any other name a custom resource."""
    wanted = dict(resources) if resources else {"CPU": 1.0}
    for name, amount in wanted.items():
        if not isinstance(amount, (int, float)) or not math.isfinite(amount) or amount < 0:
            raise ValueError(f"ray resources: {name} must be a number >= 0, not {amount!r}")
    options: dict[str, Any] = {"num_cpus": wanted.pop("CPU", 0)}
    if "GPU" in wanted:
        options["num_gpus"] = wanted.pop("GPU")
    if "memory" in wanted:
        options["memory"] = wanted.pop("memory")
    if wanted:
        options["resources"] = wanted
    return options


def _bundle(options: Mapping[str, Any]) -> dict[str, float]:
    """The placement group bundle reserving what one actor with `options` asks for."""
    bundle = {"CPU": options["num_cpus"], **options.get("resources", {})}
    if "num_gpus" in options:
        bundle["GPU"] = options["num_gpus"]
    if "memory" in options:
        bundle["memory"] = options["memory"]
    return {name: float(amount) for name, amount in bundle.items() if amount}


def clock_offset(read: Callable[[], float], readings: int = CLOCK_READINGS) -> tuple[float, float]:
    """(offset, error) of a remote clock read by `read`: its time minus ours at the reading's
    midpoint, from the reading with the shortest round trip; error is half that round trip."""
    best: tuple[float, float] | None = None
    for _ in range(readings):
        before = time.time()
        remote = read()
        after = time.time()
        measured = (remote - (before + after) / 2, (after - before) / 2)
        if best is None or measured[1] < best[1]:
            best = measured
    assert best is not None
    return best


@attrs.define(eq=False)
class _Actor:
    spec: ShardSpec
    handle: Any
    host: str = ""
    pid: int = 0
    node: str = ""  # the Ray node id
    offset: float = 0.0
    run: Any = None  # the ObjectRef of its `run` call
    progress: ShardProgress | None = None
    outcome: ShardOutcome | None = None
    ended: trio.Event = attrs.field(factory=trio.Event)


@attrs.define(eq=False)
class RayExecutor:
    """Runs each shard in a Ray actor on the cluster at `address` (None: Ray's default, the
    ``RAY_ADDRESS`` environment variable or a cluster started on this host; a connection
    already made with ``ray.init`` is used as it is). Background tasks run in `nursery`."""

    nursery: trio.Nursery
    address: str | None = None
    resources: Mapping[str, float] | None = None
    actors: list[_Actor] = attrs.field(factory=list)
    _placement: Any = None
    _on_end: Callable[[ShardOutcome], None] | None = None
    _changed: trio.Event = attrs.field(factory=trio.Event)

    async def launch(self, specs: Sequence[ShardSpec]) -> None:
        options = ray_options(self.resources)
        await trio.to_thread.run_sync(self._connect)
        self._placement = await trio.to_thread.run_sync(self._place, options, len(specs))
        ray = _ray()
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        actor_class = ray.remote(ShardActor)
        for bundle, spec in enumerate(specs):
            strategy = PlacementGroupSchedulingStrategy(
                placement_group=self._placement, placement_group_bundle_index=bundle
            )
            handle = actor_class.options(
                **options,
                scheduling_strategy=strategy,
                max_concurrency=ACTOR_THREADS,
                max_restarts=0,
            ).remote()
            self.actors.append(_Actor(spec, handle))
        await trio.to_thread.run_sync(self._meet)
        offsets = [(abs(a.offset), a) for a in self.actors]
        largest, actor = max(offsets, key=lambda pair: pair[0])
        log.info(
            "Ray workers' clocks: largest offset %.1f ms (worker %d on %s)",
            largest * 1000,
            actor.spec.index,
            actor.host,
        )
        for actor in self.actors:
            actor.run = actor.handle.run.remote(attrs.evolve(actor.spec, clock_offset=actor.offset))
        self.nursery.start_soon(self._watch)
        self.nursery.start_soon(self._poll_progress)

    async def wait_ready(self, seconds: float) -> list[int]:
        running = [a for a in self.actors if not a.ended.is_set()]

        def ready() -> list[int]:
            ray = _ray()
            calls = [(a, a.handle.wait_ready.remote(seconds)) for a in running]
            indices = []
            for actor, call in calls:
                try:
                    if ray.get(call, timeout=seconds + CALL_TIMEOUT):
                        indices.append(actor.spec.index)
                except Exception:  # an actor that died: `collect` reports it
                    continue
            return indices

        return await trio.to_thread.run_sync(ready, abandon_on_cancel=True)

    async def start(self, at: float) -> None:
        for actor in self._running():
            actor.handle.start.remote(at + actor.offset)

    def stop(self, reason: str) -> None:
        for actor in self._running():
            actor.handle.stop.remote(reason)

    def interrupt(self, signal_name: str) -> None:
        for actor in self._running():
            actor.handle.interrupt.remote(signal_name)

    def progress(self) -> list[ShardProgress]:
        return [a.progress or ShardProgress(index=a.spec.index) for a in self.actors]

    async def collect(self, on_end: Callable[[ShardOutcome], None]) -> list[ShardOutcome]:
        self._on_end = on_end
        for actor in self.actors:
            if actor.outcome is not None:
                on_end(actor.outcome)
        for actor in self.actors:
            await actor.ended.wait()
        return [a.outcome for a in self.actors if a.outcome is not None]

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(self._release)

    # -- Ray calls (blocking: run in a thread) --------------------------------------

    def _connect(self) -> None:
        ray = _ray()
        if ray.is_initialized():
            return
        if self.address is not None:
            check_reachable(self.address)
        options: dict[str, Any] = {"address": self.address, "log_to_driver": False}
        if self.address is not None and _on_loopback(self.address):
            options["_node_ip_address"] = "127.0.0.1"  # a cluster on this host: stay on it
        ray.init(**options)  # kept for the process's later runs; Ray ends it at exit

    def _place(self, options: Mapping[str, Any], count: int) -> Any:
        ray = _ray()
        from ray.util.placement_group import placement_group, remove_placement_group

        bundle = _bundle(options)
        group = placement_group([bundle] * count, strategy="SPREAD")
        try:
            ray.get(group.ready(), timeout=PLACEMENT_TIMEOUT)
        except Exception:
            remove_placement_group(group)
            raise RuntimeError(
                f"the Ray cluster has no room for {count} workers of {bundle} each "
                f"(waited {PLACEMENT_TIMEOUT:.0f} s); give fewer workers or smaller ray resources"
            ) from None
        return group

    def _meet(self) -> None:
        """Each actor's host, pid and clock offset (its first call waits for it to start)."""
        ray = _ray()
        for actor in self.actors:
            where = ray.get(actor.handle.where.remote(), timeout=CALL_TIMEOUT)
            actor.host, actor.pid, actor.node = where
            read = functools.partial(_read_clock, ray, actor.handle)
            actor.offset, _ = clock_offset(read)

    def _release(self) -> None:
        ray = _ray()
        for actor in self.actors:
            if actor.outcome is None:
                ray.kill(actor.handle, no_restart=True)
        if self._placement is not None:
            from ray.util.placement_group import remove_placement_group

            remove_placement_group(self._placement)

    # -- watching ---------------------------------------------------------------------

    def _running(self) -> list[_Actor]:
        return [a for a in self.actors if not a.ended.is_set()]

    async def _watch(self) -> None:
        """Ends each actor's shard as its `run` call returns (a report) or fails (lost)."""
        ray = _ray()
        while running := self._running():
            done, _ = ray.wait([a.run for a in running], num_returns=len(running), timeout=0)
            for actor in running:
                if any(actor.run == ref for ref in done):
                    self._end(actor, self._outcome(ray, actor))
            await trio.sleep(POLL_INTERVAL)

    def _outcome(self, ray: Any, actor: _Actor) -> ShardOutcome:
        try:
            report = ray.get(actor.run, timeout=0)
        except Exception as exc:
            where = f"Ray actor on {self._host(actor)}, pid {actor.pid}"
            reason = f"worker {actor.spec.index} ({where}) died: {_first_line(exc)}"
            return ShardLost(index=actor.spec.index, folder=actor.spec.folder, reason=reason)
        assert isinstance(report, ShardReport)
        return attrs.evolve(report, host=self._host(actor))

    @staticmethod
    def _host(actor: _Actor) -> str:
        """The actor's host and Ray node, as the result names them (nodes can share a host)."""
        return f"{actor.host} (Ray node {actor.node[:12]})"

    def _end(self, actor: _Actor, outcome: ShardOutcome) -> None:
        actor.outcome = outcome
        actor.ended.set()
        if self._on_end is not None:
            self._on_end(outcome)

    async def _poll_progress(self) -> None:
        """Each running actor's counters, asked for again as each answer arrives (Ray's calls
        are waited for without blocking the run, nor a thread that could outlive it)."""
        ray = _ray()
        asked: dict[int, Any] = {}
        while running := self._running():
            for actor in running:
                if actor.spec.index not in asked:
                    asked[actor.spec.index] = actor.handle.progress.remote()
            calls = list(asked.values())
            done, _ = ray.wait(calls, num_returns=len(calls), timeout=0)
            for actor in running:
                call = asked.get(actor.spec.index)
                if any(call == ref for ref in done):
                    del asked[actor.spec.index]
                    try:
                        actor.progress = ray.get(call, timeout=0)
                    except Exception:  # an actor that died: `_watch` reports it
                        continue
            await trio.sleep(PROGRESS_INTERVAL)


def _read_clock(ray: Any, handle: Any) -> float:
    reading: float = ray.get(handle.clock.remote(), timeout=CALL_TIMEOUT)
    return reading


def check_reachable(address: str, seconds: float = 5.0) -> None:
    """Refuse, in one line, a cluster address (``HOST:PORT``) where nothing answers: Ray itself
    would keep retrying for minutes. Other forms (``auto``, ``ray://...``) go to Ray as given."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), seconds).close()
    except OSError as exc:
        raise ValueError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}); "
            "give the head's address, HOST:PORT (ray start --head --port PORT)"
        ) from None


def _on_loopback(address: str) -> bool:
    host = address.removeprefix("ray://").rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def check_ray_settings(
    executor: object, workers: object, resources: Mapping[str, float] | None
) -> None:
    """Refuse, in one line, settings the Ray executor cannot run (before anything starts)."""
    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be 'local' or 'ray', not {executor!r}")
    if workers is None:
        raise ValueError("a run on Ray needs a number of workers (workers=N, --workers N)")
    ray_options(resources)


def ray_executor(
    address: str | None = None, resources: Mapping[str, float] | None = None
) -> Callable[[trio.Nursery], Executor]:
    """The coordinator's executor factory for a run on the Ray cluster at `address`."""
    ray_options(resources)  # checked before the run starts
    return functools.partial(RayExecutor, address=address, resources=resources)
