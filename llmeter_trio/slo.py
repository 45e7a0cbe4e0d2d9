"""Service-level objectives, SLO attainment and goodput.

An SLO is written as ``METRIC[_pNN]<=VALUE[UNIT]``::

    ttft_p99<=500ms     99th percentile time to first token at most 500 ms
    tpot_p50<=50ms      median time per output token at most 50 ms
    e2e<=10s            every request done within 10 s of being sent

Metrics: ``ttft`` (time to first token), ``ttfct`` (first content token),
``tpot`` (time per output token), ``e2e`` / ``ttlt`` (time to last token),
``lag`` (schedule lag), and ``ttft_intended`` / ``e2e_intended`` (counted
from when the request was due, not when it was sent). Units: ``us``, ``ms``,
``s`` (the default).

Each request **meets** the SLOs when it succeeded and each of its metrics is
within its threshold. **Goodput** is the requests (and output tokens) per
second that met every SLO; **attainment** is their share of all measured
requests. The run **meets** an SLO with a percentile when that percentile is
within the threshold, and one without a percentile when every request meets it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from .endpoints import InvocationResponse

__all__ = ["SLO", "SLOTracker", "parse_slo", "parse_slos"]

METRIC_ALIASES = {
    "ttft": "time_to_first_token",
    "ttfct": "time_to_first_content_token",
    "tpot": "time_per_output_token",
    "e2e": "time_to_last_token",
    "ttlt": "time_to_last_token",
    "lag": "schedule_lag",
    "ttft_intended": "time_to_first_token_from_intended",
    "e2e_intended": "time_to_last_token_from_intended",
}
UNITS = {"us": Decimal("1e-6"), "ms": Decimal("1e-3"), "s": Decimal(1), "": Decimal(1)}
_SLO_PATTERN = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+?)(?:_p(?P<percentile>\d+(?:\.\d+)?))?\s*<=\s*"
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>us|ms|s)?\s*$"
)


@attrs.frozen
class SLO:
    """One objective: `metric` (a record field) at most `threshold` seconds.

    `percentile` (0..1) makes it a run-level objective on that percentile;
    None means every request.
    """

    text: str
    metric: str
    threshold: float
    percentile: float | None = None

    def value(self, response: InvocationResponse) -> float | None:
        """This request's value of the metric (None when it has none)."""
        lag = None
        if response.send_time is not None and response.intended_send_time is not None:
            lag = response.send_time - response.intended_send_time
        if self.metric == "schedule_lag":
            return lag
        if self.metric.endswith("_from_intended"):
            base = getattr(response, self.metric.removesuffix("_from_intended"))
            return None if base is None or lag is None else base + lag
        value: float | None = getattr(response, self.metric)
        return value

    def met_by(self, response: InvocationResponse) -> bool:
        """Whether this request meets the objective (a failed one never does)."""
        if response.failed:
            return False
        value = self.value(response)
        return value is not None and value <= self.threshold


def parse_slo(text: str) -> SLO:
    """An `SLO` from its written form, or a ValueError showing the expected form."""
    match = _SLO_PATTERN.match(text.lower())
    if not match:
        raise ValueError(
            f"SLO {text!r}: expected METRIC[_pNN]<=VALUE[us|ms|s], e.g. 'ttft_p99<=500ms'"
        )
    name = match["metric"]
    metric = METRIC_ALIASES.get(name)
    if metric is None:
        raise ValueError(f"SLO {text!r}: unknown metric {name!r}; known: {sorted(METRIC_ALIASES)}")
    percentile = float(Decimal(match["percentile"]) / 100) if match["percentile"] else None
    if percentile is not None and not 0 < percentile <= 1:
        raise ValueError(f"SLO {text!r}: the percentile must be between 0 and 100")
    threshold = float(Decimal(match["value"]) * UNITS[match["unit"] or ""])
    return SLO(text=text.strip(), metric=metric, threshold=threshold, percentile=percentile)


def parse_slos(texts: list[str] | tuple[str, ...]) -> list[SLO]:
    """Several SLOs; commas may also separate them within one text."""
    return [parse_slo(part) for text in texts for part in text.split(",") if part.strip()]


class SLOTracker:
    """Counts, record by record, which requests met every SLO."""

    def __init__(self, slos: list[SLO]) -> None:
        self.slos = slos
        self.measured = 0
        self.good_requests = 0
        self.good_output_tokens = 0
        self.met_counts = [0] * len(slos)

    def add(self, response: InvocationResponse) -> None:
        """Count one measured record."""
        self.measured += 1
        met = [slo.met_by(response) for slo in self.slos]
        for index, ok in enumerate(met):
            self.met_counts[index] += ok
        if all(met):
            self.good_requests += 1
            self.good_output_tokens += response.num_tokens_output or 0

    def merge(self, other: SLOTracker) -> None:
        """Count the records `other` counted (the same SLOs)."""
        self.measured += other.measured
        self.good_requests += other.good_requests
        self.good_output_tokens += other.good_output_tokens
        self.met_counts = [a + b for a, b in zip(self.met_counts, other.met_counts, strict=True)]

    def to_dict(
        self, quantile: Callable[[str, float], float | None], duration: float | None
    ) -> dict[str, Any]:
        """Attainment, goodput and a verdict per SLO.

        `quantile(metric, q)` gives the run's q-quantile of a metric (None
        when it has no values).
        """
        verdicts = []
        for slo, met_count in zip(self.slos, self.met_counts, strict=True):
            attainment = met_count / self.measured if self.measured else None
            if slo.percentile is None:
                observed, met = attainment, attainment == 1.0
            else:
                observed = quantile(slo.metric, slo.percentile)
                met = observed is not None and observed <= slo.threshold
            verdicts.append(
                {
                    "slo": slo.text,
                    "percentile": slo.percentile,  # None: `observed` is the share meeting it
                    "met": met,
                    "observed": observed,
                    "attainment": attainment,
                }
            )
        return {
            "slo_attainment": self.good_requests / self.measured if self.measured else None,
            "goodput_requests_per_second": self.good_requests / duration if duration else None,
            "goodput_output_tokens_per_second": (
                self.good_output_tokens / duration if duration else None
            ),
            "slos_met": all(v["met"] for v in verdicts),
            "slos": verdicts,
        }
