"""`compare`: differences between runs, with bootstrap confidence intervals and a verdict."""

from __future__ import annotations

import posixpath
import random
from collections.abc import Sequence
from typing import Literal

import attrs

from ..experiments import LoadTestResult
from ..results import Result, holds_run
from ..stats import percentile
from ..storage import Location, location, resolve
from ._metrics import DEFAULT_METRICS, Draw, Metric, Sample, metric_named

__all__ = ["Comparison", "MetricComparison", "Run", "compare", "load_compared"]

Verdict = Literal["better", "worse", "no difference", "not measured"]
Run = Result | LoadTestResult | Location


@attrs.frozen
class MetricComparison:
    """One metric of a candidate run beside the baseline's.

    `difference` is candidate minus baseline; `low` and `high` bound it at
    the comparison's confidence (percentile bootstrap). The verdict is
    "better" or "worse" when that interval leaves out zero, by which way is
    better for the metric, else "no difference"; "not measured" when a run
    has no value, or no interval could be drawn (a rate of records that carry
    no send time).
    """

    metric: str
    baseline: float | None
    candidate: float | None
    difference: float | None
    low: float | None
    high: float | None
    higher_is_better: bool
    verdict: Verdict

    @property
    def relative(self) -> float | None:
        """The difference as a share of the baseline (0.1: 10% more), None from a zero."""
        if self.difference is None or not self.baseline:
            return None
        return self.difference / abs(self.baseline)

    @property
    def significant(self) -> bool:
        """Whether the confidence interval of the difference leaves out zero."""
        return self.verdict in ("better", "worse")


@attrs.frozen
class Comparison:
    """A candidate run against the baseline: `metrics` by name (`Result.stats` names)."""

    baseline: str
    candidate: str
    metrics: dict[str, MetricComparison]
    confidence: float
    resamples: int
    clients: int | None = None  # the level, when load tests are compared level by level

    def __str__(self) -> str:
        return format_comparison(self)


def compare(
    baseline: Run,
    *candidates: Run,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    metrics: Sequence[str] | None = None,
) -> list[Comparison]:
    """Compare each candidate with the baseline: runs, load tests or their folders.

    Folders may be llmeter-trio's or LLMeter's (any fsspec URL). Load tests
    are compared level by level (the levels both have). Each difference gets
    a percentile-bootstrap interval at `confidence` from `resamples`
    resamples of each run's records (seeded: the same inputs give the same
    intervals); percentiles use the run's own rule (`llmeter_trio.stats`).
    `metrics` picks metrics by name (``ttft_p99`` or ``time_to_first_token-p99``).
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), not {confidence}")
    if not candidates:
        raise ValueError("compare needs a baseline and at least one run to compare with it")
    chosen = tuple(metric_named(m) for m in metrics) if metrics else DEFAULT_METRICS
    base_label, base = load_compared(baseline)
    comparisons = []
    for index, candidate in enumerate(candidates):
        label, other = load_compared(candidate)
        pairs = _pairs(base_label, base, label, other)
        for clients, first, second in pairs:
            rng = random.Random(f"{seed}/{index}/{clients}")
            comparisons.append(
                Comparison(
                    baseline=base_label,
                    candidate=label,
                    metrics=_compare_metrics(chosen, first, second, resamples, confidence, rng),
                    confidence=confidence,
                    resamples=resamples,
                    clients=clients,
                )
            )
    return comparisons


def load_compared(run: Run) -> tuple[str, Result | LoadTestResult]:
    """A label and the loaded run or load test (a folder: a run's, else a load test's)."""
    if isinstance(run, Result):
        where = location(run.output_path) if run.output_path is not None else ""
        return run.run_name or posixpath.basename(where.rstrip("/")) or "run", run
    if isinstance(run, LoadTestResult):
        return run.test_name, run
    url = location(run)
    fs, folder = resolve(url)
    label = posixpath.basename(folder.rstrip("/")) or url
    if holds_run(fs, folder):
        return label, Result.load(url)
    return label, LoadTestResult.load(url)


def _pairs(
    base_label: str,
    base: Result | LoadTestResult,
    label: str,
    other: Result | LoadTestResult,
) -> list[tuple[int | None, Sample, Sample]]:
    if isinstance(base, Result) and isinstance(other, Result):
        return [(None, _sample(base_label, base), _sample(label, other))]
    if isinstance(base, LoadTestResult) and isinstance(other, LoadTestResult):
        levels = sorted(set(base.results) & set(other.results))
        if not levels:
            raise ValueError(f"{base_label} and {label} have no number of clients in common")
        return [
            (n, _sample(base_label, base.results[n]), _sample(label, other.results[n]))
            for n in levels
        ]
    raise ValueError(
        f"{base_label} and {label}: compare a run with a run, or a load test with a load test"
    )


def _sample(label: str, result: Result) -> Sample:
    records = list(result.iter_records())
    if not records:
        raise ValueError(f"{label} holds no records: compare resamples them")
    return Sample.of(records, result.stats, result.percentile_method)


def _compare_metrics(
    metrics: Sequence[Metric],
    first: Sample,
    second: Sample,
    resamples: int,
    confidence: float,
    rng: random.Random,
) -> dict[str, MetricComparison]:
    differences: dict[str, list[float]] = {m.name: [] for m in metrics}
    for _ in range(resamples):
        a, b = Draw(first, rng), Draw(second, rng)
        for metric in metrics:
            x, y = metric.resample(a), metric.resample(b)
            if x is not None and y is not None:
                differences[metric.name].append(y - x)
    return {m.name: _verdict(m, first, second, differences[m.name], confidence) for m in metrics}


def _verdict(
    metric: Metric, first: Sample, second: Sample, differences: list[float], confidence: float
) -> MetricComparison:
    a, b = metric.value(first), metric.value(second)
    if a is None or b is None or not differences:
        return MetricComparison(metric.name, a, b, None, None, None, metric.higher_is_better,
                                "not measured")  # fmt: skip
    differences.sort()
    tail = (1 - confidence) / 2
    low = percentile(differences, tail)
    high = percentile(differences, 1 - tail)
    verdict: Verdict = "no difference"
    if low > 0 or high < 0:
        verdict = "better" if (low > 0) == metric.higher_is_better else "worse"
    return MetricComparison(metric.name, a, b, b - a, low, high, metric.higher_is_better, verdict)


def format_comparison(comparison: Comparison) -> str:
    """A comparison as a plain-text table, one metric a line."""
    level = f" at {comparison.clients} clients" if comparison.clients is not None else ""
    percent = f"{comparison.confidence:.0%}"
    lines = [
        f"{comparison.candidate} against {comparison.baseline}{level} "
        f"({percent} intervals, {comparison.resamples} resamples)",
        f"  {'metric':<40} {'baseline':>12} {'candidate':>12} {'change':>9}  "
        f"{percent + ' interval':<25} verdict",
    ]
    for m in comparison.metrics.values():
        change = f"{m.relative:+.1%}" if m.relative is not None else "-"
        interval = f"[{_num(m.low)}, {_num(m.high)}]" if m.low is not None else "-"
        lines.append(
            f"  {m.metric:<40} {_num(m.baseline):>12} {_num(m.candidate):>12} {change:>9}  "
            f"{interval:<25} {m.verdict}"
        )
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
