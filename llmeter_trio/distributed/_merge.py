"""One result from the shards: their records, their statistics, their generator health.

Each shard streams its records into its own folder (``workers/worker-NNN/``,
flushed per record locally), with run-wide client numbers and payload indices:
those files are the run's records (`llmeter_trio.storage.record_paths` reads
them in shard order, so `Result.load` of the run folder finds them). Each shard
also counts its records (`RunStats`, as one process does) and reports those
statistics; the coordinator merges them in shard order (`RunStats.merge`)
without reading a record. A shard that died without reporting is counted from
the records it saved. The records are read back only to be kept in memory
(unless ``low_memory``).
"""

from __future__ import annotations

from typing import Any

import attrs

from ..endpoints import InvocationResponse
from ..run_config import RunConfig
from ..stats import RunStats
from ..storage import exists, iter_responses, resolve
from ._shard import ShardLost, ShardOutcome, ShardReport, ShardSpec

__all__ = ["Merged", "merge_shards", "workers_health"]


@attrs.define
class Merged:
    """The run's statistics and (unless not kept) its records."""

    stats: RunStats
    responses: list[InvocationResponse]


def merge_shards(
    specs: list[ShardSpec], outcomes: list[ShardOutcome], config: RunConfig, *, keep: bool
) -> Merged:
    """The statistics of every record the shards saved, merged in shard order; the records
    too with `keep`."""
    slos, method = config.parsed_slos(), config.percentile_method
    merged = Merged(RunStats(slos, percentile_method=method), [])
    reports = {o.index: o for o in outcomes if isinstance(o, ShardReport)}
    for spec in specs:
        report = reports.get(spec.index)
        counted = report.stats if report is not None else None
        fs, folder = resolve(spec.folder)
        if (keep or counted is None) and exists(fs, folder):
            recount = RunStats(slos, percentile_method=method) if counted is None else None
            for response in iter_responses(fs, folder):
                if recount is not None:
                    recount.add(response)
                if keep:
                    merged.responses.append(response)
            counted = counted or recount
        if counted is not None:
            merged.stats.merge(counted)
    return merged


def workers_health(outcomes: list[ShardOutcome], count: int) -> dict[str, Any]:
    """The run's generator health: each worker's own, and which (if any) held the load back.

    ``workers`` lists each worker's health (its lag, CPU, warnings, start lag,
    host and pid); ``warnings`` says which worker was the bottleneck, which
    started late, and which died; ``bottleneck`` is true when any worker was.
    """
    workers: list[dict[str, Any]] = []
    warnings: list[str] = []
    seen = {o.index for o in outcomes}
    for outcome in sorted(outcomes, key=lambda o: o.index):
        if isinstance(outcome, ShardLost):
            workers.append({"worker": outcome.index, "lost": outcome.reason})
            warnings.append(f"{outcome.reason}; its records saved before are kept")
            continue
        workers.append(_worker_entry(outcome))
        for warning in outcome.generator.get("warnings", ()):
            warnings.append(f"worker {outcome.index}: {warning}")
        if outcome.error is not None:
            warnings.append(f"worker {outcome.index} failed: {outcome.error}")
    for index in range(count):
        if index not in seen:
            warnings.append(f"worker {index} never reported")
    bottleneck = any(bool(w.get("bottleneck")) for w in workers)
    return {"workers": workers, "bottleneck": bottleneck, "warnings": warnings}


def _worker_entry(report: ShardReport) -> dict[str, Any]:
    entry = {
        "worker": report.index,
        "host": report.host,
        "pid": report.pid,
        "requests": report.total_requests,
        "start_lag": report.start_lag,
        "clock_offset": report.clock_offset,
    }
    entry.update(report.generator)
    return entry
