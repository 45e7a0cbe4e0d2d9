"""The metrics a comparison covers, which way is better for each, and their values."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import attrs

from ..endpoints import InvocationResponse
from ..stats import PERCENTILES, PercentileMethod, percentile

__all__ = ["DEFAULT_METRICS", "LATENCIES", "Draw", "Metric", "Sample", "metric_named"]

# latency metrics compared, each at these aggregations (names as in `Result.stats`)
LATENCIES = ("time_to_first_token", "time_to_last_token", "time_per_output_token")
AGGREGATIONS = ("p50", "p90", "p99", "average")
RATES = ("requests_per_minute", "average_output_tokens_per_minute", "failed_requests_rate")
_QUANTILES = dict(PERCENTILES)
# records are grouped in this many slices of the run's time for the rates' resampling
_TIME_SLICES = 20


@attrs.frozen
class Sample:
    """What a run's comparison needs from its measured records (warm-up and cool-down left out)."""

    values: dict[str, list[float]]  # successful requests' latencies, by metric
    failed: list[bool]  # one flag per measured request
    slices: list[tuple[int, int]]  # (requests, output tokens) per slice of the run's time
    requests_per_minute: float
    output_tokens_per_minute: float
    method: PercentileMethod

    @classmethod
    def of(
        cls,
        records: Sequence[InvocationResponse],
        stats: dict[str, object],
        method: PercentileMethod,
    ) -> Sample:
        """The sample of a run's records, its rates taken from its `stats`."""
        measured = [r for r in records if r.excluded is None]
        values = {
            metric: [v for r in measured if not r.failed and (v := getattr(r, metric)) is not None]
            for metric in LATENCIES
        }
        return cls(
            values=values,
            failed=[r.failed for r in measured],
            slices=_slices(measured),
            requests_per_minute=_number(stats.get("requests_per_minute")),
            output_tokens_per_minute=_number(stats.get("average_output_tokens_per_minute")),
            method=method,
        )


class Draw:
    """One bootstrap resample of a sample, drawn lazily: each column at most once, so every
    aggregation of a metric (p50, p99, average) comes from the same resample."""

    def __init__(self, sample: Sample, rng: random.Random) -> None:
        self.sample = sample
        self._rng = rng
        self._sorted: dict[str, list[float]] = {}
        self._failed: list[bool] | None = None
        self._slices: list[tuple[int, int]] | None = None

    def sorted_values(self, metric: str) -> list[float]:
        """The metric's values, resampled with replacement, in order."""
        if metric not in self._sorted:
            values = self.sample.values[metric]
            self._sorted[metric] = sorted(self._rng.choices(values, k=len(values)))
        return self._sorted[metric]

    def failed(self) -> list[bool]:
        """The requests' failure flags, resampled with replacement."""
        if self._failed is None:
            flags = self.sample.failed
            self._failed = self._rng.choices(flags, k=len(flags))
        return self._failed

    def slices(self) -> list[tuple[int, int]]:
        """The slices of the run's time, resampled with replacement."""
        if self._slices is None:
            slices = self.sample.slices
            self._slices = self._rng.choices(slices, k=len(slices))
        return self._slices


@attrs.frozen
class Metric:
    """A compared statistic: its name in `Result.stats` and whether higher is better."""

    name: str
    higher_is_better: bool
    # the statistic of a sample, and of one bootstrap resample of it
    value: Callable[[Sample], float | None]
    resample: Callable[[Draw], float | None]


def _latency(metric: str, aggregation: str) -> Metric:
    def of(ordered: list[float], method: PercentileMethod) -> float | None:
        if not ordered:
            return None
        if aggregation == "average":
            return math.fsum(ordered) / len(ordered)
        return percentile(ordered, _QUANTILES[aggregation], method)

    def value(sample: Sample) -> float | None:
        return of(sorted(sample.values[metric]), sample.method)

    def resample(draw: Draw) -> float | None:
        return of(draw.sorted_values(metric), draw.sample.method)

    return Metric(f"{metric}-{aggregation}", False, value, resample)


def _slices(measured: Sequence[InvocationResponse]) -> list[tuple[int, int]]:
    """Requests and output tokens in equal slices of the run's time, by send time (or, for
    LLMeter's records, the wall-clock `request_time`); none when a record has neither."""
    sent = [_sent(r) for r in measured]
    if not sent or any(t is None for t in sent):
        return []
    times = [t for t in sent if t is not None]
    first, span = min(times), (max(times) - min(times)) or 1.0
    counts = [[0, 0] for _ in range(_TIME_SLICES)]
    for time, record in zip(times, measured, strict=True):
        slot = counts[min(int((time - first) / span * _TIME_SLICES), _TIME_SLICES - 1)]
        slot[0] += 1
        slot[1] += record.num_tokens_output or 0
    return [(requests, tokens) for requests, tokens in counts]


def _sent(record: InvocationResponse) -> float | None:
    if record.send_time is not None:
        return record.send_time
    return record.request_time.timestamp() if record.request_time is not None else None


def _rate(name: str, position: int, point: Callable[[Sample], float]) -> Metric:
    """A rate over the run's time: slices of the run are resampled (a block bootstrap), and
    the run's rate scaled by the resampled slices' share of its total."""

    def value(sample: Sample) -> float | None:
        return point(sample) if sample.failed else None

    def resample(draw: Draw) -> float | None:
        sample = draw.sample
        total = sum(s[position] for s in sample.slices)
        if not sample.slices:
            return None  # no times to slice the run by: no interval
        if not total:
            return value(sample)
        return point(sample) * sum(s[position] for s in draw.slices()) / total

    return Metric(name, True, value, resample)


def _failure_rate_value(sample: Sample) -> float | None:
    return sum(sample.failed) / len(sample.failed) if sample.failed else None


def _failure_rate_resample(draw: Draw) -> float | None:
    flags = draw.failed()
    return sum(flags) / len(flags) if flags else None


DEFAULT_METRICS: tuple[Metric, ...] = (
    *(_latency(m, a) for m in LATENCIES for a in AGGREGATIONS),
    _rate("requests_per_minute", 0, lambda s: s.requests_per_minute),
    _rate("average_output_tokens_per_minute", 1, lambda s: s.output_tokens_per_minute),
    Metric("failed_requests_rate", False, _failure_rate_value, _failure_rate_resample),
)
_BY_NAME = {metric.name: metric for metric in DEFAULT_METRICS}


def metric_named(name: str) -> Metric:
    """The compared metric called `name`: a `Result.stats` key (``time_to_first_token-p99``)
    or the SLO short form (``ttft_p99``, ``e2e_p50``, ``tpot_average``)."""
    from ..slo import METRIC_ALIASES

    full = name
    short, _, aggregation = name.rpartition("_")
    if short in METRIC_ALIASES and aggregation in AGGREGATIONS:
        full = f"{METRIC_ALIASES[short]}-{aggregation}"
    elif name in ("rpm", "failure_rate", "output_tpm"):
        full = {
            "rpm": "requests_per_minute",
            "failure_rate": "failed_requests_rate",
            "output_tpm": "average_output_tokens_per_minute",
        }[name]
    if full not in _BY_NAME:
        raise ValueError(
            f"unknown metric {name!r}; compared: {', '.join(_BY_NAME)} "
            "(or short forms such as ttft_p99, e2e_p50, tpot_average, rpm, failure_rate)"
        )
    return _BY_NAME[full]


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
