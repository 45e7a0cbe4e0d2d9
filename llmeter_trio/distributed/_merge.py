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

The generator's one-second series (``generator.jsonl``, each worker's in its
folder, on the run's one time base) are merged into the run folder's, each row
with a ``worker`` column. The server's metrics are scraped by worker 0 alone
(the server's gauges are global: one scraper is right); its series is copied
to the run folder's ``server_metrics.jsonl`` and its summary is the run's.
"""

from __future__ import annotations

import math
import posixpath
from typing import Any

import attrs

from ..endpoints import InvocationResponse
from ..metrics._scraper import SERVER_METRICS_FILE
from ..metrics._series import read_series, write_series
from ..results import GENERATOR_FILE
from ..run_config import RunConfig
from ..stats import RunStats
from ..storage import exists, iter_responses, resolve
from ._shard import ShardLost, ShardOutcome, ShardReport, ShardSpec

__all__ = [
    "Merged",
    "copy_server_metrics",
    "generator_series",
    "merge_shards",
    "workers_health",
]


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
    clock offset, host and pid); ``warnings`` says which worker was the
    bottleneck, which started late, and which died; ``bottleneck`` is true
    when any worker was; ``largest_clock_offset`` is the largest offset (in
    seconds, either way) measured at start between a worker's clock and the
    coordinator's (0 on one host).
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
    offsets = [abs(o.clock_offset) for o in outcomes if isinstance(o, ShardReport)]
    largest = max((x for x in offsets if math.isfinite(x)), default=0.0)
    return {
        "workers": workers,
        "bottleneck": bottleneck,
        "warnings": warnings,
        "largest_clock_offset": largest,
    }


def generator_series(specs: list[ShardSpec]) -> list[dict[str, Any]]:
    """The run's generator series: every worker's samples, each with its ``worker``, in
    time order (the workers' clocks started at one instant: one time base)."""
    rows = []
    for spec in specs:
        fs, folder = resolve(spec.folder)
        for row in read_series(fs, posixpath.join(folder, GENERATOR_FILE)):
            rows.append({**row, "worker": spec.index})
    rows.sort(key=lambda row: (_time(row), row["worker"]))
    return rows


def _time(row: dict[str, Any]) -> float:
    value = row.get("time")
    return float(value) if isinstance(value, (int, float)) else math.inf


def copy_server_metrics(specs: list[ShardSpec], run_folder: str) -> None:
    """Copy the scraping worker's ``server_metrics.jsonl`` into the run folder."""
    for spec in specs:
        if spec.run_config.server_metrics is None:
            continue
        fs, folder = resolve(spec.folder)
        source = posixpath.join(folder, SERVER_METRICS_FILE)
        if exists(fs, source):
            target_fs, target = resolve(run_folder)
            write_series(
                target_fs, posixpath.join(target, SERVER_METRICS_FILE), read_series(fs, source)
            )


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
