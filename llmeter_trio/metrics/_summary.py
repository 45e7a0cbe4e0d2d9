"""What a run's server metrics add up to: the gauges that explain a knee, summarised.

Per scrape, each role's value is the sum over the metric's label sets (several
models or engines behind one endpoint), except the KV-cache share, which is the
largest. Gauges are summarised by their mean and maximum over the scrapes;
counters become a rate (tokens per second): the mean over the run and the
largest between two scrapes (a counter that went down, a restart, is skipped).
The prefix-cache counters become the server's hit rate over the run: tokens
found in its cache per token looked up, between the first and last scrape.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from ._known import CACHE_ROLES, COUNTER_ROLES, GAUGE_ROLES, KNOWN_METRICS, Role
from ._prometheus import MetricSample

__all__ = [
    "RoleSeries",
    "describe_server_metrics",
    "role_series",
    "role_values",
    "server_stats",
    "summarise_roles",
]

RoleSeries = dict[Role, list[tuple[float, float]]]  # role -> [(time, value)], one per scrape


def role_values(samples: Iterable[MetricSample]) -> dict[Role, float]:
    """Each known role's value in one scrape's samples."""
    values: dict[Role, float] = {}
    for sample in samples:
        known = KNOWN_METRICS.get(sample.metric)
        if known is None:
            continue
        role = known[1]
        if role == "kv_cache_usage":
            values[role] = max(values.get(role, 0.0), sample.value)
        else:
            values[role] = values.get(role, 0.0) + sample.value
    return values


def summarise_roles(series: RoleSeries) -> dict[str, float]:
    """``requests_running-mean``, ``requests_running-max``, ...,
    ``generation_tokens_per_second-mean`` and ``-max``: those the series has."""
    summary: dict[str, float] = {}
    for role in GAUGE_ROLES:
        values = [value for _, value in series.get(role, ())]
        if values:
            summary[f"{role}-mean"] = sum(values) / len(values)
            summary[f"{role}-max"] = max(values)
    for role in COUNTER_ROLES:
        points = series.get(role, [])
        rates = [
            (v1 - v0) / (t1 - t0)
            for (t0, v0), (t1, v1) in itertools.pairwise(points)
            if t1 > t0 and v1 >= v0
        ]
        if rates:
            name = f"{role}_per_second"
            (first_time, first), (last_time, last) = points[0], points[-1]
            whole = last >= first  # no restart between: the rate over the whole run
            mean = (last - first) / (last_time - first_time) if whole else None
            summary[f"{name}-mean"] = mean if mean is not None else sum(rates) / len(rates)
            summary[f"{name}-max"] = max(rates)
    hit_rate = _prefix_cache_hit_rate(series)
    if hit_rate is not None:
        summary["prefix_cache_hit_rate"] = hit_rate
    return summary


def _prefix_cache_hit_rate(series: RoleSeries) -> float | None:
    """Cached tokens per token looked up during the run (None: no lookups, or a restart)."""
    queries, hits = (series.get(role, []) for role in CACHE_ROLES)
    if len(queries) < 2 or len(hits) < 2:
        return None
    looked_up = queries[-1][1] - queries[0][1]
    found = hits[-1][1] - hits[0][1]
    if looked_up <= 0 or found < 0 or found > looked_up:
        return None
    return found / looked_up


def server_stats(summary: Mapping[str, Any]) -> dict[str, float]:
    """A run's server-metrics summary as flat statistics: ``server_requests_running-max``, ..."""
    gauges = summary.get("gauges") or {}
    return {f"server_{name}": value for name, value in gauges.items()}


def describe_server_metrics(summary: Mapping[str, Any]) -> list[str]:
    """The summary as lines a person reads (none when no page was scraped)."""
    if not summary:
        return []
    gauges = summary.get("gauges") or {}
    server = summary.get("server") or "unknown server"
    parts = []
    for role, label in (("requests_running", "running"), ("requests_waiting", "waiting")):
        if f"{role}-max" in gauges:
            parts.append(
                f"{label} mean {gauges[f'{role}-mean']:,.1f} max {gauges[f'{role}-max']:,.0f}"
            )
    if "kv_cache_usage-max" in gauges:
        parts.append(f"KV cache max {gauges['kv_cache_usage-max']:.0%}")
    if "generation_tokens_per_second-mean" in gauges:
        parts.append(f"{gauges['generation_tokens_per_second-mean']:,.0f} output tok/s")
    if "prefix_cache_hit_rate" in gauges:
        parts.append(f"prefix cache hit rate {gauges['prefix_cache_hit_rate']:.0%}")
    lines = [f"server ({server}): " + (", ".join(parts) or "no known gauges on its page")]
    failed, scrapes = summary.get("failed_scrapes", 0), summary.get("scrapes", 0)
    if failed:
        errors = "; ".join(summary.get("errors") or [])
        lines.append(f"server metrics: {failed} of {scrapes} scrapes failed ({errors})")
    return lines


def role_series(rows: Iterable[Mapping[str, Any]]) -> RoleSeries:
    """Saved ``server_metrics.jsonl`` rows as each known role's values, scrape by scrape."""
    scrapes: dict[float, list[MetricSample]] = {}
    for row in rows:
        if "metric" in row:
            sample = MetricSample(row["metric"], row.get("labels") or {}, row["value"])
            scrapes.setdefault(row["time"], []).append(sample)
    series: RoleSeries = {}
    for at in sorted(scrapes):
        for role, value in role_values(scrapes[at]).items():
            series.setdefault(role, []).append((at, value))
    return series
