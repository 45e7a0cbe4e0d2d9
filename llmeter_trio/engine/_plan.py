"""The plan of one run: its settings checked once, and the numbers every part reads.

`plan_run` turns a `Runner`'s settings into a `RunPlan`: the `RunConfig` saved
with the run, the open-loop schedule (if any), the payloads, and how many
requests the run sends when that is known before it starts. The run, the
measurement window, the progress line (so the command line too) and `LoadTest`
read those numbers here; none of them computes its own.
"""

from __future__ import annotations

import itertools
import os
import posixpath
import random
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from .._checks import check_number
from ..metrics._scraper import check_server_metrics
from ..run_config import RunConfig
from ..schedules import Arrival, ClosedLoop, OpenLoopSchedule, TraceReplay
from ..slo import parse_slos
from ..tokenizers import DummyTokenizer, tokenizer_to_config
from ..workloads import Sessions
from ._payloads import normalize_payloads
from ._retry import retry_policy
from ._sessions import check_sessions
from ._window import check_window

if TYPE_CHECKING:
    from ._runner import Runner

__all__ = ["MAX_CLIENTS", "RunPlan", "check_clients", "plan_run"]

MAX_CLIENTS = 100_000  # concurrent clients (or open-loop requests in flight) one process runs
_SCALE_OUT = (
    f": one process runs at most {MAX_CLIENTS:,} concurrently; to offer more load, "
    "scale out over several processes or hosts, each with a share of the clients"
)


def check_clients(name: str, value: object) -> None:
    """Refuse a number of clients (or a concurrency cap) one process cannot run."""
    check_number(name, value, whole=True, at_most=MAX_CLIENTS, hint=_SCALE_OUT)


@attrs.frozen
class RunPlan:
    """One run's checked settings: what is saved, what is sent, and how much.

    `trace` holds a replayed trace's arrivals, read (and checked) once. A worker's
    share of a split run (`llmeter_trio.distributed`) numbers its clients from
    `first_client`, keeps its `share` of the run's arrivals, and numbers its
    sessions by `session_numbers`.
    """

    config: RunConfig
    schedule: OpenLoopSchedule | None
    payloads: list[dict[str, Any]]
    trace: list[Arrival] | None = None
    # the metrics page to scrape, as given (the configuration saves it masked)
    server_metrics_url: str | None = attrs.field(default=None, repr=False)
    first_client: int = 0
    share: Callable[[Iterator[Arrival]], Iterator[Arrival]] | None = None
    sessions: Sessions | None = None  # multi-turn sessions: `n_requests` counts sessions
    # the numbers of the sessions this run starts, in order (a worker's: unique in the run)
    session_numbers: Callable[[], Iterator[int]] = itertools.count

    @property
    def total_requests(self) -> int | None:
        """How many requests the run sends in all; None when only time bounds it (or when
        sessions of different lengths make it unknown)."""
        bound = self.total_sent
        if bound is None or self.sessions is None:
            return bound
        return None if self.sessions.per_payload else bound * self.sessions.turns

    @property
    def total_sent(self) -> int | None:
        """How many requests (or sessions) the run sends; None when only time bounds it."""
        config = self.config
        if config.run_duration is not None:
            return None
        if self.trace is not None:
            if config.n_requests is None:
                return len(self.trace)
            return min(len(self.trace), config.n_requests)
        if config.n_requests is None:  # payload_order="once": each payload once
            return len(self.payloads)
        if self.schedule is not None:
            return config.n_requests
        return config.n_requests * config.clients

    def n_requests_sent(self, total_sent: int) -> int:
        """`n_requests` as a result reports it: per client in a closed loop, all in an open one."""
        return total_sent if self.schedule is not None else total_sent // self.config.clients

    def arrivals(self) -> Iterator[Arrival]:
        """The open-loop schedule's arrivals, seeded by the run's seed (a worker's: its share)."""
        if self.trace is not None:
            arrivals = iter(self.trace)
        else:
            assert self.schedule is not None
            arrivals = self.schedule.arrivals(random.Random(self.config.seed))
        return arrivals if self.share is None else self.share(arrivals)


ON_INTERRUPT = ("raise", "return")


def plan_run(settings: Runner, run_folder: str | os.PathLike[str] | None = None) -> RunPlan:
    """Check a run's settings, all of them before anything runs, and plan it.

    The run folder is `run_folder` when given (`run(output_path=...)`), else
    ``{settings.output_path}/{run_name}`` (or none, without an output path).
    """
    endpoint = settings.endpoint
    if endpoint is None or isinstance(endpoint, Mapping):  # (a dict was loaded by `run`)
        raise ValueError("no endpoint: give Runner(endpoint) or run(endpoint=...)")
    n_requests, run_duration = settings.n_requests, settings.run_duration
    if isinstance(run_duration, timedelta):
        run_duration = run_duration.total_seconds()
    if run_duration is not None and n_requests == 0:  # LLMeter saves a timed run's as 0
        n_requests = None
    if n_requests is not None and run_duration is not None:
        raise ValueError(
            "Cannot set both n_requests and run_duration: bound the run by its number of "
            "requests or in time, not both"
        )
    if settings.on_interrupt not in ON_INTERRUPT:
        raise ValueError(f"on_interrupt must be 'raise' or 'return', not {settings.on_interrupt!r}")
    clients, schedule = settings.clients, settings.schedule
    if isinstance(schedule, ClosedLoop):
        clients, schedule = schedule.clients, None
    if schedule is not None and not isinstance(schedule, OpenLoopSchedule):
        raise TypeError(f"schedule must be a Schedule (ClosedLoop, Poisson, ...), not {schedule!r}")
    if schedule is None:
        check_clients("clients", clients)
    else:
        check_clients("max_concurrency", schedule.max_concurrency)
        clients = schedule.max_concurrency or 0
    check_number("n_requests", n_requests, whole=True)
    check_number("run_duration", run_duration)
    check_number("timeout", settings.timeout)
    check_number("drain_timeout", settings.drain_timeout, at_least=0)
    check_number("lag_tolerance", settings.lag_tolerance, at_least=0)
    check_number("rate_tolerance", settings.rate_tolerance, at_least=0, at_most=1)
    check_number("seed", settings.seed, whole=True, above=None)
    if settings.server_metrics is not None:
        check_server_metrics(settings.server_metrics, settings.server_metrics_interval)

    once = settings.payload_order == "once"
    if settings.payload_order not in ("shuffle", "once"):
        raise ValueError(
            f"payload_order must be 'shuffle' or 'once', not {settings.payload_order!r}"
        )
    if once and (n_requests is not None or schedule is not None):
        raise ValueError(
            "payload_order='once' sends each payload exactly once with closed-loop clients: "
            "leave n_requests and schedule unset (run_duration may still bound it)"
        )
    payloads = normalize_payloads(settings.payload)
    trace = _read_trace(schedule, len(payloads)) if isinstance(schedule, TraceReplay) else None
    if n_requests is None and run_duration is None and trace is None and not once:
        n_requests = len(payloads)
    sessions = check_sessions(settings, schedule, payloads)
    run_name = settings.run_name or datetime.now().strftime("%Y%m%d-%H%M%S")
    folder: str | None = None
    if run_folder is not None:
        folder = os.fspath(run_folder)
    elif settings.output_path is not None:
        folder = posixpath.join(os.fspath(settings.output_path), run_name)
    if settings.low_memory and folder is None:
        raise ValueError("low_memory=True keeps no records in memory: it needs an output_path")
    seed = settings.seed if settings.seed is not None else random.randrange(2**32)
    config = RunConfig(
        endpoint_config=endpoint.to_dict(),
        tokenizer_config=tokenizer_to_config(settings.tokenizer or DummyTokenizer()),
        clients=clients,
        n_requests=n_requests,
        run_duration=run_duration,
        timeout=settings.timeout,
        drain_timeout=settings.drain_timeout,
        seed=seed,
        run_name=run_name,
        run_description=settings.run_description,
        low_memory=settings.low_memory,
        output_path=folder,
        payload=payloads,
        payload_order=settings.payload_order,
        schedule=schedule.to_config() if schedule is not None else None,
        warmup_requests=settings.warmup_requests,
        warmup_seconds=settings.warmup_seconds,
        cooldown_requests=settings.cooldown_requests,
        cooldown_seconds=settings.cooldown_seconds,
        lag_tolerance=settings.lag_tolerance,
        rate_tolerance=settings.rate_tolerance,
        slos=[slo.text for slo in parse_slos(list(settings.slos or ()))],
        preconnect=settings.preconnect,
        percentile_method=settings.percentile_method,
        on_interrupt=settings.on_interrupt,
        server_metrics=settings.server_metrics,
        server_metrics_interval=settings.server_metrics_interval,
        workers=settings.workers if isinstance(settings.workers, int) else None,
        **_retry_settings(settings),
        sessions=sessions.to_config() if sessions is not None else None,
    )
    plan = RunPlan(
        config, schedule, payloads, trace, server_metrics_url=settings.server_metrics,
        sessions=sessions,
    )  # fmt: skip
    check_window(config, plan.total_requests)
    return plan


def _retry_settings(settings: Runner) -> dict[str, Any]:
    """The retry options a run saves (see `engine._retry`), checked."""
    policy = retry_policy(settings.retry)
    if not isinstance(settings.respect_retry_after, bool):
        raise TypeError(
            f"respect_retry_after must be True or False, not {settings.respect_retry_after!r}"
        )
    return {
        "retry": policy.to_config() if policy is not None else None,
        "respect_retry_after": settings.respect_retry_after,
    }


def _read_trace(schedule: TraceReplay, payload_count: int) -> list[Arrival]:
    """A trace's arrivals, read once; indices into the payloads are checked now, not mid-run."""
    arrivals = schedule.load()
    for number, arrival in enumerate(arrivals, start=1):
        index = arrival.payload
        if isinstance(index, int) and not 0 <= index < payload_count:
            raise ValueError(
                f"{schedule.path}: arrival #{number} asks for payload #{index}; "
                f"there are {payload_count} payloads"
            )
    return arrivals
