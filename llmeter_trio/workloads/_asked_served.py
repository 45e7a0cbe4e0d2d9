"""The lines that tell a reader what a workload asked of the requests and what was served."""

from __future__ import annotations

from typing import Any

__all__ = ["describe_asked_served"]


def describe_asked_served(stats: dict[str, Any]) -> list[str]:
    """Token lengths asked (by a workload) beside those served, when the run asked any."""
    lines = []
    for kind in ("input", "output"):
        name = f"{kind}_tokens"
        if f"{name}_compared_requests" not in stats:
            continue
        line = (
            f"{kind} tokens asked {stats[f'{name}_asked_mean']:,.1f}, served "
            f"{stats[f'{name}_served_mean']:,.1f} on average (served - asked: "
            f"{stats[f'{name}_served_minus_asked_mean']:+,.1f} mean, "
            f"{stats[f'{name}_served_minus_asked_max_abs']:,} at most; "
            f"{stats[f'{name}_compared_requests']:,} requests)"
        )
        if kind == "output":
            line += f"; {stats.get('output_length_mismatches', 0):,} served another output length"
        lines.append(line)
    return lines
