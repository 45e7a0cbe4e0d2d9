"""``--fail-if`` gates: ``ttft_p99>+10%`` fails a CI job on a significant regression.

Grammar: ``METRIC OP [+|-]NUMBER[UNIT]``. METRIC is a compared metric
(``time_to_first_token-p99`` or ``ttft_p99``, see `metric_named`); OP is
``>`` (fail when the candidate's value grew by more than the threshold) or
``<`` (fail when it fell by more than it, a threshold usually negative:
``rpm<-5%``); UNIT is ``%`` (of the baseline), ``us``, ``ms`` or ``s`` for
latencies, or none (the metric's own unit). A gate trips only when the
difference is also significant: its confidence interval leaves out zero.
"""

from __future__ import annotations

import re

import attrs

from ._core import Comparison
from ._metrics import metric_named

__all__ = ["Gate", "parse_gate"]

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "": 1.0}
_PATTERN = re.compile(
    r"^\s*(?P<metric>[A-Za-z0-9_.\-]+?)\s*(?P<op>[<>])\s*"
    r"(?P<number>[+-]?\d+(?:\.\d+)?)\s*(?P<unit>%|us|ms|s)?\s*$"
)


@attrs.frozen
class Gate:
    """One ``--fail-if`` expression, parsed."""

    text: str
    metric: str  # the `Result.stats` name
    above: bool  # True for ``>``
    threshold: float
    relative: bool

    def tripped(self, comparison: Comparison) -> bool:
        """Whether the candidate crossed the threshold, significantly."""
        m = comparison.metrics.get(self.metric)
        if m is None or m.difference is None or not m.significant:
            return False
        if self.relative:
            if m.relative is None:
                return False
            change = m.relative * 100
        else:
            change = m.difference
        return change > self.threshold if self.above else change < self.threshold


def parse_gate(text: str) -> Gate:
    """Parse ``METRIC(>|<)[+|-]NUMBER[%|us|ms|s]``; a ValueError says what is wrong."""
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(
            f"--fail-if {text!r}: expected METRIC>THRESHOLD or METRIC<THRESHOLD, "
            "e.g. 'ttft_p99>+10%', 'e2e_p50>+200ms', 'rpm<-5%'"
        )
    metric = metric_named(match["metric"])
    unit = match["unit"] or ""
    if unit not in ("%", "") and not metric.name.startswith("time_"):
        raise ValueError(f"--fail-if {text!r}: {metric.name} is not a time; use % or no unit")
    number = float(match["number"])
    relative = unit == "%"
    return Gate(
        text=text.strip(),
        metric=metric.name,
        above=match["op"] == ">",
        threshold=number if relative else number * _UNITS[unit],
        relative=relative,
    )
