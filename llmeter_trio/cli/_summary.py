"""The summary table the command line prints after a run."""

from __future__ import annotations

from typing import Any

from ..metrics import describe_server_metrics
from ..results import Result
from ..workloads import describe_asked_served

__all__ = ["format_summary"]

LATENCY_ROWS = (
    ("time to first token", "time_to_first_token"),
    ("  cache hits", "time_to_first_token_cache_hit"),  # the server reported cached tokens
    ("  cache misses", "time_to_first_token_cache_miss"),
    ("time to first content", "time_to_first_content_token"),
    ("time to last token", "time_to_last_token"),
    ("  its last attempt", "time_to_last_token_final_attempt"),  # runs with retries
    ("time per output token", "time_per_output_token"),
    ("inter-token latency", "inter_token_latency"),
)
OPEN_LOOP_ROWS = (
    ("  TTFT from intended", "time_to_first_token_from_intended"),
    ("  e2e from intended", "time_to_last_token_from_intended"),
    ("schedule lag", "schedule_lag"),
)
COLUMNS = ("p50", "p90", "p99", "average", "max")
TURN_COLUMNS = ("p50", "p90", "average")  # time to first token by turn
CLOCK_OFFSET_SHOWN = 0.005  # seconds: a larger offset between hosts' clocks is printed


def _seconds(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.3f} s"


def format_summary(result: Result) -> str:
    """A few lines a person reads: who, how much, how fast, what failed."""
    stats = result.stats
    status = " (interrupted)" if result.interrupted else ""
    if result.stop_reason is not None:
        status += f" (stopped: {result.stop_reason})"
    schedule = result.run_config.schedule if result.run_config else None
    model = f", model {result.model_id}" if result.model_id else ""  # SageMaker's may be unset
    lines = [
        f"Run {result.run_name}{status}: {result.total_requests} requests{_senders(result)} "
        f"in {result.total_test_time or 0:,.2f} s ({result.endpoint_name}{model})",
        "",
        f"{'':<24}" + "".join(f"{c:>12}" for c in COLUMNS),
    ]
    for label, metric in LATENCY_ROWS + (OPEN_LOOP_ROWS if schedule else ()):
        if f"{metric}-p50" in stats:
            cells = "".join(f"{_seconds(stats.get(f'{metric}-{c}')):>12}" for c in COLUMNS)
            lines.append(f"{label:<24}{cells}")
    rpm = stats.get("requests_per_minute")
    tpm = stats.get("average_output_tokens_per_minute")
    errors = ", ".join(f"{k} {v}" for k, v in stats["errors_by_class"].items()) or "none"
    lines += [
        "",
        f"requests/min {rpm or 0:,.1f}   output tokens/min {tpm or 0:,.0f}   "
        f"output tokens {stats['total_output_tokens']:,}",
        f"failed {stats['failed_requests']} ({stats['failed_requests_rate']:.1%}): {errors}",
    ]
    if "cost_total" in stats:  # a CostModel priced the run (docs/cost.md)
        lines.append(
            f"cost {stats['cost_total']:,.6g} in all, "
            f"{stats.get('cost_per_request-p50', 0):,.6g} per request (p50), "
            f"{stats.get('cost_per_million_output_tokens', 0):,.6g} per million output tokens"
        )
    lines += _cache_lines(stats)
    lines += _throttling_lines(stats)
    lines += describe_asked_served(stats)

    lines += _session_lines(stats)
    if stats.get("excluded_requests"):
        lines.append(
            f"measured {stats['measured_requests']} requests; "
            f"{stats['excluded_requests']} left out (warm-up / cool-down)"
        )
    if schedule:
        options = ", ".join(
            f"{k}={v}" for k, v in schedule.items() if k != "schedule" and v is not None
        )
        lines.append(
            f"schedule {schedule['schedule']} ({options}): intended "
            f"{_rate(stats.get('intended_request_rate'))}, achieved "
            f"{_rate(stats.get('achieved_request_rate'))}"
        )
    lines += _slo_lines(stats)
    lines += describe_server_metrics(result.server_metrics)
    lines += _clock_offset_lines(result.generator)
    for warning in result.generator.get("warnings", []):
        lines.append(f"WARNING: {warning}")
    return "\n".join(lines)


def _clock_offset_lines(generator: dict[str, Any]) -> list[str]:
    """The largest offset between a worker's clock and this host's, when above a few ms."""
    largest = generator.get("largest_clock_offset")
    if not isinstance(largest, (int, float)) or largest <= CLOCK_OFFSET_SHOWN:
        return []
    return [
        f"clock offset: up to {_seconds(largest)} between a worker's host and this one "
        "(measured at start and allowed for: the start and intended times do not depend on it)"
    ]


def _senders(result: Result) -> str:
    """Who sent the requests: N closed-loop clients, or an open loop (capped or not)."""
    if not (result.run_config and result.run_config.schedule):
        return f" from {result.clients} clients"
    if result.clients:  # an open loop's clients are its max_concurrency
        return f", max {result.clients} in flight,"
    return " (open loop)"


def _cache_lines(stats: dict[str, Any]) -> list[str]:
    """Prefix cache hits and the share of input tokens cached (when the server said)."""
    if "cache_hit_rate" not in stats:
        return []
    share = stats.get("input_tokens_cached_share")
    cached = "-" if share is None else f"{share:.1%}"
    hits, misses = stats["cache_hit_requests"], stats["cache_miss_requests"]
    return [
        f"prefix cache: {hits} hits, {misses} misses ({stats['cache_hit_rate']:.1%} hit rate); "
        f"{cached} of input tokens cached"
    ]


def _session_lines(stats: dict[str, Any]) -> list[str]:
    """A multi-turn run's sessions, and its time to first token by turn (docs/workloads.md)."""
    if "sessions_started" not in stats:
        return []
    lines = [
        "",
        f"sessions {stats['sessions_started']} started, {stats['sessions_completed']} "
        f"completed, {stats['sessions_failed']} failed, {stats['sessions_cut']} cut   "
        f"sessions/min {stats['sessions_per_minute']:,.1f}",
    ]
    by_turn = stats.get("by_turn") or {}
    if by_turn:
        lines.append(
            f"{'turn':<6}{'requests':>10}{'input tokens':>14}"
            + "".join(f"{'TTFT ' + c:>13}" for c in TURN_COLUMNS)
        )
        for turn, row in sorted(by_turn.items(), key=lambda item: int(item[0])):
            tokens = row.get("num_tokens_input-average")
            cells = "".join(
                f"{_seconds(row.get(f'time_to_first_token-{c}')):>13}" for c in TURN_COLUMNS
            )
            shown = "-" if tokens is None else f"{tokens:,.0f}"
            lines.append(f"{turn:<6}{row.get('requests', 0):>10}{shown:>14}{cells}")
    return lines


def _throttling_lines(stats: dict[str, Any]) -> list[str]:
    """Throttled share, retries and waits, and the rate limits last seen (when any)."""
    lines = []
    throttled, retries = stats.get("throttled_requests", 0), stats.get("total_retries", 0)
    retry_wait, told = stats.get("total_retry_wait", 0.0), stats.get("total_throttle_wait", 0.0)
    if throttled or retries or told:
        parts = [f"throttled {throttled} ({stats.get('throttled_share', 0.0):.1%} of attempts)"]
        if retries:
            parts.append(f"retries {retries}, {_seconds(retry_wait)} waited between them")
        if told:
            parts.append(f"{_seconds(told)} waited as told by Retry-After")
        lines.append("   ".join(parts))
    limits = stats.get("rate_limit")
    if limits:
        parts = [
            f"{budget} {limits.get(f'remaining_{budget}', '?')} left of "
            f"{limits.get(f'limit_{budget}', '?')}"
            for budget in ("requests", "tokens")
            if f"limit_{budget}" in limits or f"remaining_{budget}" in limits
        ]
        if parts:
            lines.append("rate limits last seen: " + ", ".join(parts))
    return lines


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} req/s"


def _slo_lines(stats: dict[str, Any]) -> list[str]:
    if "slos" not in stats:
        return []
    lines = ["", "SLO                          met   observed   requests meeting it"]
    for verdict in stats["slos"]:
        observed = verdict["observed"]
        shown = (
            "-"
            if observed is None
            else (f"{observed:.1%}" if verdict["slo"].find("_p") < 0 else _seconds(observed))
        )
        attainment = verdict["attainment"]
        share = "-" if attainment is None else f"{attainment:.1%}"
        lines.append(
            f"{verdict['slo']:<28} {'yes' if verdict['met'] else 'NO':>4} {shown:>10}   {share}"
        )
    attainment = stats.get("slo_attainment")
    goodput = stats.get("goodput_requests_per_second") or 0
    tokens = stats.get("goodput_output_tokens_per_second") or 0
    lines.append(
        f"goodput {goodput:,.2f} req/s, {tokens:,.0f} tok/s; "
        f"{attainment or 0:.1%} of requests met every SLO"
    )
    return lines
