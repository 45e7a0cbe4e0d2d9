"""The summary table the command line prints after a run."""

from __future__ import annotations

from typing import Any

from ..results import Result

__all__ = ["format_summary"]

LATENCY_ROWS = (
    ("time to first token", "time_to_first_token"),
    ("time to first content", "time_to_first_content_token"),
    ("time to last token", "time_to_last_token"),
    ("time per output token", "time_per_output_token"),
    ("inter-token latency", "inter_token_latency"),
)
COLUMNS = ("p50", "p90", "p99", "average", "max")


def _seconds(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.3f} s"


def format_summary(result: Result) -> str:
    """A few lines a person reads: who, how much, how fast, what failed."""
    stats = result.stats
    status = " (interrupted)" if result.interrupted else ""
    lines = [
        f"Run {result.run_name}{status}: {result.total_requests} requests from "
        f"{result.clients} clients in {result.total_test_time or 0:,.2f} s "
        f"({result.endpoint_name}, model {result.model_id})",
        "",
        f"{'':<24}" + "".join(f"{c:>12}" for c in COLUMNS),
    ]
    for label, metric in LATENCY_ROWS:
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
    return "\n".join(lines)
