"""Merging the shards' run folders into the run's: its records, statistics and generator health.

Each shard streams its records into its own folder (``workers/worker-NNN/``,
flushed per record locally). When the shards have ended, or died, the
coordinator copies every record they saved into the run folder's own records
(``responses.jsonl``, or segments on an object store), in shard order, with
run-wide payload indices, counting the run's statistics from exactly those
records (`RunStats`, as one process counts them). The shard folders are kept:
each loads on its own with `Result.load`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ..endpoints import InvocationResponse
from ..run_config import RunConfig
from ..stats import RunStats
from ..storage import ResponseSink, exists, iter_responses, resolve
from ._shard import ShardLost, ShardOutcome, ShardReport, ShardSpec

__all__ = ["Merged", "merge_records", "workers_health"]


@attrs.define
class Merged:
    """The run's records (unless not kept), their statistics and their first and last sends."""

    stats: RunStats
    responses: list[InvocationResponse]
    first_request: datetime | None = None
    last_request: datetime | None = None


async def merge_records(
    specs: list[ShardSpec], config: RunConfig, sink: ResponseSink | None, *, keep: bool
) -> Merged:
    """Every record the shards saved, written to `sink` (the run folder's) and counted."""
    stats = RunStats(config.parsed_slos(), percentile_method=config.percentile_method)
    merged = Merged(stats, [])
    for spec in specs:
        fs, folder = resolve(spec.folder)
        if not exists(fs, folder):
            continue
        for response in iter_responses(fs, folder):
            if response.payload_index is not None:
                response.payload_index = spec.payload_offset + spec.payload_stride * (
                    response.payload_index
                )
            stats.add(response)
            _note_time(merged, response.request_time)
            if sink is not None:
                await sink.write(response)
            if keep:
                merged.responses.append(response)
    return merged


def _note_time(merged: Merged, sent: datetime | None) -> None:
    if sent is None:
        return
    if merged.first_request is None or sent < merged.first_request:
        merged.first_request = sent
    if merged.last_request is None or sent > merged.last_request:
        merged.last_request = sent


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
