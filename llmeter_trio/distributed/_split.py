"""Splitting one planned run into worker shards, and a shard's plan back from its spec.

- Closed loop: the clients are split into contiguous ranges keeping their
  run-wide numbers (each draws the payload order it would draw in one
  process); ``n_requests`` stays per client. With ``payload_order="once"``
  shard i sends payloads i, i + count, ... (each payload still exactly once).
- Open loop with arrivals (constant, Poisson, Gamma, ramp, trace): every
  shard draws the whole run's arrival stream from the run's seed, with the
  payload each arrival would get in one process, and keeps its share:
  arrival k goes to shard k % count (`round_robin`: constant rates
  interleaved by phase, traces dealt in order), or, for Poisson, to a shard
  drawn from the run's seed (`thinning`: each shard's arrivals are a Poisson
  process of rate/count, independent of the others). The union of the
  shards' arrivals is exactly the one-process run's.
- `TokenRate`: each shard gets budget/count and its own seed.
- Multi-turn sessions: every shard runs the run's sessions configuration, and
  numbers its sessions as the run's arrivals are dealt (`session_numbers`):
  in an open loop a session is numbered by its arrival's place in the run's
  stream, as one process numbers it (so it draws the same think times and
  follow-ups); a closed loop's shard i of n numbers its i, i + n, ...
- ``max_concurrency``, ``n_requests`` (open loop: a total; with sessions, a
  count of sessions) and the warm-up/cool-down request counts are divided so
  the shares add up.
"""

from __future__ import annotations

import copy
import functools
import os
import pickle
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import attrs

from ..engine._plan import RunPlan
from ..plugins import schedule_from_config
from ..run_config import RunConfig
from ..schedules import Arrival, OpenLoopSchedule, Poisson, TokenRate, TraceReplay
from ..workloads import sessions_from_config
from ._shard import Deal, ShardSpec, shard_folder

__all__ = [
    "available_cores",
    "session_numbers",
    "shard_plan",
    "split_run",
    "worker_callbacks",
    "worker_count",
]

Workers = int | Literal["auto"]


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def worker_count(workers: object) -> int:
    """How many worker processes `workers` asks for: a whole number >= 1, or "auto" (one per
    core available to this process)."""
    if workers == "auto":
        return available_cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(
            f"workers must be a whole number of processes (>= 1) or 'auto', not {workers!r}"
        )
    return workers


def worker_callbacks(callbacks: Sequence[Any]) -> list[Any]:
    """The run's callbacks as each worker gets them: configurations (each worker builds its
    own through the plugins) or the objects themselves, which must pickle."""
    sent: list[Any] = []
    for callback in callbacks:
        if isinstance(callback, Mapping):
            sent.append(dict(callback))
            continue
        try:
            pickle.dumps(callback)
        except Exception as exc:
            raise ValueError(
                f"with workers, each worker gets a copy of every callback, and "
                f"{type(callback).__name__} cannot be copied to another process ({exc}); "
                "give it as a configuration ({'callback_type': NAME, ...})"
            ) from None
        sent.append(callback)
    return sent


def _callback_share(callback: Any, count: int) -> Any:
    """A worker's copy of a callback: a spending cap (`max_cost`) is divided between them."""
    cap = getattr(callback, "max_cost", None)
    if isinstance(cap, (int, float)) and not isinstance(callback, Mapping):
        callback = copy.copy(callback)
        callback.max_cost = cap / count
    elif isinstance(callback, Mapping) and isinstance(callback.get("max_cost"), (int, float)):
        callback = {**callback, "max_cost": callback["max_cost"] / count}
    return callback


def share(total: int, count: int, index: int) -> int:
    """Shard `index`'s part of `total` split as evenly as possible (the parts add up)."""
    return total // count + (1 if index < total % count else 0)


def _shares(total: int | None, count: int, index: int) -> int | None:
    return None if total is None else share(total, count, index)


def _deal_of(schedule: OpenLoopSchedule | None) -> Deal | None:
    if schedule is None or isinstance(schedule, TokenRate):
        return None
    return "thinning" if isinstance(schedule, Poisson) else "round_robin"


def split_run(
    plan: RunPlan, count: int, result_url: str, callbacks: Sequence[Any] = ()
) -> list[ShardSpec]:
    """One `ShardSpec` per worker for `plan`, fewer when there is not enough to share:
    at most one shard per closed-loop client, per request of concurrency cap, per request."""
    config, schedule = plan.config, plan.schedule
    if schedule is None:
        count = min(count, max(config.clients, 1))
    elif schedule.max_concurrency:
        count = min(count, schedule.max_concurrency)
    total = plan.total_sent
    if total is not None and schedule is not None:
        count = min(count, max(total, 1))
    if config.payload_order == "once":
        count = min(count, max(len(plan.payloads), 1))
    deal = _deal_of(schedule)
    specs = []
    first_client = 0
    for index in range(count):
        shard_config = _shard_config(plan, count, index, result_url, deal)
        specs.append(
            ShardSpec(
                index=index,
                count=count,
                run_config=shard_config,
                result_url=result_url,
                deal=deal,
                first_client=first_client,
                callbacks=[_callback_share(c, count) for c in callbacks],
                payload_offset=index if config.payload_order == "once" else 0,
                payload_stride=count if config.payload_order == "once" else 1,
                trace=plan.trace,
            )
        )
        first_client += shard_config.clients
    return specs


def _shard_config(
    plan: RunPlan, count: int, index: int, result_url: str, deal: Deal | None
) -> RunConfig:
    config, schedule = plan.config, plan.schedule
    changes: dict[str, Any] = {
        "output_path": shard_folder(result_url, index),
        "run_name": f"{config.run_name}-worker-{index:03d}",
        "on_interrupt": "return",
        "warmup_requests": _shares(config.warmup_requests, count, index),
        "cooldown_requests": _shares(config.cooldown_requests, count, index),
        "server_metrics": config.server_metrics if index == 0 else None,  # scraped once
    }
    if schedule is None:
        changes["clients"] = share(config.clients, count, index)
        if config.payload_order == "once":
            changes["payload"] = plan.payloads[index::count]
            changes["sessions"] = _sessions_share(config.sessions, count, index)
        return attrs.evolve(config, **changes)
    cap = _shares(schedule.max_concurrency, count, index)
    changes["clients"] = cap or 0
    total = plan.total_sent
    if isinstance(schedule, TokenRate):
        divided = attrs.evolve(
            schedule,
            max_concurrency=cap,
            requests_per_minute=_divide(schedule.requests_per_minute, count),
            tokens_per_minute=_divide(schedule.tokens_per_minute, count),
        )
        changes["schedule"] = divided.to_config()
        changes["seed"] = shard_seed(config.seed, index)
        changes["n_requests"] = _shares(total, count, index)
        return attrs.evolve(config, **changes)
    changes["schedule"] = attrs.evolve(schedule, max_concurrency=cap).to_config()
    if total is not None:
        assert deal is not None
        changes["n_requests"] = _dealt_count(deal, config.seed, count, index, total)
    return attrs.evolve(config, **changes)


def _sessions_share(
    sessions: dict[str, Any] | None, count: int, index: int
) -> dict[str, Any] | None:
    """The sessions of a shard sending payloads index, index + count, ... once: follow-ups
    given per payload are dealt alongside their payloads."""
    parsed = sessions_from_config(sessions)
    if sessions is None or parsed is None or not parsed.per_payload:
        return sessions
    return {**sessions, "follow_ups": sessions["follow_ups"][index::count]}


def _divide(value: float | None, count: int) -> float | None:
    return None if value is None else value / count


def shard_seed(seed: int, index: int) -> int:
    """A shard's own seed, from the run's (reproducible, distinct per shard)."""
    return random.Random(f"llmeter-trio shard {seed} {index}").randrange(2**32)


def _assigner(deal: Deal, seed: int, count: int) -> Iterator[int]:
    """The shard of each arrival of the run's stream, in order (the same in every shard)."""
    if deal == "round_robin":
        while True:
            yield from range(count)
    rng = random.Random(f"llmeter-trio deal {seed}")
    while True:
        yield rng.randrange(count)


def _dealt_count(deal: Deal, seed: int, count: int, index: int, total: int) -> int:
    """How many of the run's first `total` arrivals go to shard `index`."""
    if deal == "round_robin":
        return share(total, count, index)
    assigner = _assigner(deal, seed, count)
    return sum(1 for _ in range(total) if next(assigner) == index)


def session_numbers(deal: Deal | None, seed: int, count: int, index: int) -> Iterator[int]:
    """The run-wide numbers of shard `index`'s sessions, in the order it starts them: the
    places in the run's arrival stream of the arrivals dealt to it (one process numbers its
    sessions 0, 1, ... in arrival order); closed loop (`deal` None): index, index + count, ..."""
    assigner = _assigner(deal or "round_robin", seed, count)
    return (number for number, shard in enumerate(assigner) if shard == index)


def dealt_arrivals(
    arrivals: Iterator[Arrival],
    payloads: list[dict[str, Any]],
    *,
    deal: Deal,
    seed: int,
    count: int,
    index: int,
) -> Iterator[Arrival]:
    """Shard `index`'s share of the run's arrival stream, each with the payload it would get
    in one process (drawn from the run's payload stream, as the engine's open loop does)."""
    from ..engine._payloads import client_payloads

    stream = client_payloads(payloads, seed, 0) if payloads else None
    assigner = _assigner(deal, seed, count)
    for arrival in arrivals:
        if arrival.payload is None and stream is not None:
            arrival = Arrival(arrival.time, next(stream))
        if next(assigner) == index:
            yield arrival


def shard_plan(spec: ShardSpec) -> RunPlan:
    """The plan a worker runs for `spec`: its settings, schedule and share of the arrivals."""
    config = spec.run_config
    schedule = schedule_from_config(config.schedule) if config.schedule is not None else None
    if schedule is not None and not isinstance(schedule, OpenLoopSchedule):
        raise ValueError(f"a shard's schedule must be an open-loop one, not {schedule!r}")
    payloads = list(config.payload)
    trace = spec.trace
    if isinstance(schedule, TraceReplay) and trace is None:
        trace = schedule.load()
    deal, seed, count, index = spec.deal, config.seed, spec.count, spec.index
    plan = RunPlan(
        config,
        schedule,
        payloads,
        trace,
        server_metrics_url=config.server_metrics,
        first_client=spec.first_client,
        sessions=sessions_from_config(config.sessions),
        session_numbers=functools.partial(session_numbers, deal, seed, count, index),
    )
    if deal is None:
        return plan

    def keep(arrivals: Iterator[Arrival]) -> Iterator[Arrival]:
        return dealt_arrivals(arrivals, payloads, deal=deal, seed=seed, count=count, index=index)

    return attrs.evolve(plan, share=keep)
