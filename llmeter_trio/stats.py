"""The one stats engine: the same code for a live run, a low-memory run and a reloaded one.

`RunStats` is fed every record once (`add`), in any order, and keeps only the
numbers statistics need:

- per-request metrics (time to first token, time to last token, ...) as exact
  columns of floats, 8 bytes per request and metric;
- inter-token latencies, which grow with every token, in a log-bucketed
  histogram (`LogHistogram`) whose percentiles are within 0.5% (relative) of
  the exact order statistic; their count, sum, mean, min and max are exact.

Percentiles of exact columns follow one of two rules (`PercentileMethod`):
``"linear"`` (the default) interpolates between order statistics (type 7,
numpy's default); ``"llmeter"`` is LLMeter's rule, ``statistics.quantiles``
with the exclusive method (type 6), which ranks at ``q * (n + 1)`` and
extrapolates past the largest value for high percentiles of small samples.
Inter-token latencies come from the histogram under either rule. Latency
statistics use successful requests only; failures are counted by error class.

When the server reports cached input tokens (a prefix cache: OpenAI's
``cached_tokens``, Anthropic's cache reads, ...), time to first token is also
reported apart for the requests that hit the cache (some input cached) and those
that missed it (none); requests whose server says nothing of caching are neither.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from fractions import Fraction
from typing import Any, Literal, get_args

from .endpoints import Attempt, ErrorClass, InvocationResponse
from .slo import SLO, SLOTracker

__all__ = [
    "AskedServed",
    "CACHE_HIT_METRIC",
    "CACHE_MISS_METRIC",
    "LogHistogram",
    "PERCENTILES",
    "PERCENTILE_METHODS",
    "PercentileMethod",
    "REQUEST_METRICS",
    "RunStats",
    "percentile",
    "summarize",
]

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 0.50),
    ("p90", 0.90),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p99.9", 0.999),
)
REQUEST_METRICS = (
    "num_tokens_input",
    "num_tokens_input_cached",
    "num_tokens_output",
    "time_per_output_token",
    "time_to_last_token",
    "time_to_first_token",
    "time_to_first_content_token",
    "connect_time",  # only requests that opened a connection have one
)
# Latency counted from when the request was due, not when it was sent: the
# difference is the schedule lag, time the request spent waiting on the
# load generator (or on a concurrency cap).
INTENDED_METRICS = ("time_to_first_token_from_intended", "time_to_last_token_from_intended")
ITL_METRIC = "inter_token_latency"
# time to last token of a retried request's last attempt, from its own send (runs with retries)
FINAL_ATTEMPT_METRIC = "time_to_last_token_final_attempt"
# time to first token of the requests with some input cached (hits), and with none (misses)
CACHE_HIT_METRIC = "time_to_first_token_cache_hit"
CACHE_MISS_METRIC = "time_to_first_token_cache_miss"


PercentileMethod = Literal["linear", "llmeter"]
PERCENTILE_METHODS: tuple[PercentileMethod, ...] = get_args(PercentileMethod)


def check_percentile_method(method: str) -> PercentileMethod:
    """`method` if it names a percentile rule, else a ValueError saying which ones do."""
    if method not in PERCENTILE_METHODS:
        raise ValueError(
            f"unknown percentile method {method!r}; choose one of {', '.join(PERCENTILE_METHODS)}"
        )
    return method


def percentile(ordered: Sequence[float], q: float, method: PercentileMethod = "linear") -> float:
    """The `q` quantile (0..1) of sorted data.

    ``"linear"`` interpolates between the ranks ``q * (n - 1)`` (0-based);
    ``"llmeter"`` gives what LLMeter reports: for ``q = i / n``,
    ``statistics.quantiles(ordered, n=n, method="exclusive")[i - 1]``, exactly
    (one value: that value).
    """
    if not ordered:
        raise ValueError("percentile of no data")
    if method == "llmeter":
        return _exclusive_quantile(ordered, q)
    position = q * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


# how many cut points LLMeter asks `statistics.quantiles` for: the first of these that
# makes the percentile a whole cut point (p75: n=4, p90: n=10, p95: n=100)
_LLMETER_CUTS = (4, 10, 100)


def _exclusive_quantile(ordered: Sequence[float], q: float) -> float:
    """`statistics.quantiles`' exclusive rule for one cut point, with its arithmetic.

    The quantile is the ``i``-th of ``n`` cut points (``q = i / n``, with
    LLMeter's ``n``: 4, 10 or 100 when one fits, else the smallest), at
    1-based rank ``i * (len + 1) / n``, clamped to the first and last pair of
    values.
    """
    size = len(ordered)
    if size == 1:
        return ordered[0]
    fraction = Fraction(q).limit_denominator(10_000)
    n = next((k for k in _LLMETER_CUTS if k % fraction.denominator == 0), fraction.denominator)
    i = fraction.numerator * n // fraction.denominator
    m = size + 1
    j = min(max(i * m // n, 1), size - 1)
    delta = i * m - j * n
    return (ordered[j - 1] * (n - delta) + ordered[j] * delta) / n


def summarize(
    values: Iterable[float],
    *,
    presorted: bool = False,
    method: PercentileMethod = "linear",
    percentiles: Sequence[tuple[str, float]] = PERCENTILES,
    extremes: bool = True,
) -> dict[str, float]:
    """Percentiles (by `method`), mean ("average", LLMeter's name), min and max of exact values.

    `percentiles` names the quantiles to report (``("p90", 0.9)``, ...);
    `extremes` adds ``"min"`` and ``"max"``. No values: an empty dict.
    """
    ordered = list(values) if presorted else sorted(values)
    if not ordered:
        return {}
    result = {name: percentile(ordered, q, method) for name, q in percentiles}
    result["average"] = math.fsum(ordered) / len(ordered)
    if extremes:
        result["min"] = ordered[0]
        result["max"] = ordered[-1]
    return result


class LogHistogram:
    """A histogram with buckets growing by 1% (the DDSketch layout).

    Any positive value maps to bucket ``ceil(log(v) / log(1.01))`` and is
    reported back as that bucket's midpoint, within 0.5% of the true value.
    Zeros (and negatives, which clocks should not produce) get a bucket of
    their own. Adding is order-independent, so any feeding order gives the
    same histogram.
    """

    GAMMA = 1.01
    RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
    _LOG_GAMMA = math.log(GAMMA)

    __slots__ = ("buckets", "count", "max", "min", "total", "zeros")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.zeros = 0
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, value: float, times: int = 1) -> None:
        """Count `value` `times` times."""
        self.add_all(((value, times),))

    def add_all(self, weighted: Iterable[tuple[float, int]]) -> None:
        """Count each ``(value, times)`` pair: `add` for many values at once (the hot path)."""
        buckets, log, ceil, log_gamma = self.buckets, math.log, math.ceil, self._LOG_GAMMA
        low, high, count, total, zeros = self.min, self.max, self.count, self.total, self.zeros
        for value, times in weighted:
            if value > 0:
                bucket = ceil(log(value) / log_gamma)
                buckets[bucket] = buckets.get(bucket, 0) + times
            else:
                zeros += times
            count += times
            total += value * times
            if value < low:
                low = value
            if value > high:
                high = value
        self.min, self.max, self.count, self.total, self.zeros = low, high, count, total, zeros

    def merge(self, other: LogHistogram) -> None:
        """Count every value `other` counted (bucket counts are exact; `total` is the sum of
        the two totals, so an average may differ from one fed value by value in the last bits)."""
        for bucket, times in other.buckets.items():
            self.buckets[bucket] = self.buckets.get(bucket, 0) + times
        self.zeros += other.zeros
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def quantile(self, q: float) -> float:
        """The value at rank ``floor(q * (count - 1))`` (0-based), within `RELATIVE_ERROR`."""
        if not self.count:
            raise ValueError("quantile of an empty histogram")
        rank = math.floor(q * (self.count - 1))
        if rank < self.zeros:
            return max(self.min, 0.0) if self.min >= 0 else self.min
        seen = self.zeros
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen > rank:
                midpoint = 2 * self.GAMMA**index / (self.GAMMA + 1)
                return min(max(midpoint, self.min), self.max)
        return self.max  # pragma: no cover - ranks never pass the count

    def summary(self) -> dict[str, float]:
        """Same keys as `summarize`."""
        if not self.count:
            return {}
        result = {name: self.quantile(q) for name, q in PERCENTILES}
        result["average"] = self.total / self.count
        result["min"] = self.min
        result["max"] = self.max
        return result


class RunStats:
    """Accumulates a run's records into the statistics LLMeter users know.

    Records marked `excluded` (warm-up, cool-down) are counted as such and
    otherwise left out: every other statistic covers the measurement window.
    `percentile_method` picks the rule for percentiles of exact columns.
    """

    def __init__(
        self, slos: Sequence[SLO] = (), *, percentile_method: PercentileMethod = "linear"
    ) -> None:
        self.percentile_method = check_percentile_method(percentile_method)
        self.slos = SLOTracker(list(slos)) if slos else None
        self.columns: dict[str, array[float]] = {m: array("d") for m in REQUEST_METRICS}
        self.from_intended: dict[str, array[float]] = {m: array("d") for m in INTENDED_METRICS}
        self.schedule_lag: array[float] = array("d")
        self.inter_token_latency = LogHistogram()
        self.total_requests = 0
        self.excluded_requests = 0
        self.failed_requests = 0
        self.errors_by_class: Counter[str] = Counter()
        self.total_input_tokens = 0
        self.total_output_tokens = 0
        self.total_cached_input_tokens = 0
        self.total_reasoning_output_tokens = 0
        self.intended_span = _Span()
        self.send_span = _Span()
        self.window = _Span()  # first send to last end of the measured requests
        self.throttling = _Throttling()
        self.asked_served = AskedServed()
        self.cache = _CacheHits()

        self.sessions = _Sessions()

    @classmethod
    def of(
        cls,
        responses: Iterable[InvocationResponse],
        slos: Sequence[SLO] = (),
        *,
        percentile_method: PercentileMethod = "linear",
    ) -> RunStats:
        """Stats of a finished collection of records, with goodput when `slos` are given."""
        stats = cls(slos, percentile_method=percentile_method)
        for response in responses:
            stats.add(response)
        return stats

    def add(self, response: InvocationResponse) -> None:
        """Count one record."""
        self.total_requests += 1
        if response.session is not None:
            self.sessions.add(response)
        if response.excluded is not None:
            self.excluded_requests += 1
            return
        self._add_timing(response)
        self.throttling.add(response)
        if self.slos is not None:
            self.slos.add(response)
        if response.num_tokens_input is not None:
            self.total_input_tokens += response.num_tokens_input
        if response.num_tokens_output is not None:
            self.total_output_tokens += response.num_tokens_output
        if response.num_tokens_input_cached is not None:
            self.total_cached_input_tokens += response.num_tokens_input_cached
        if response.num_tokens_output_reasoning is not None:
            self.total_reasoning_output_tokens += response.num_tokens_output_reasoning
        if response.failed:
            self.failed_requests += 1
            error_class = response.error_class.value if response.error_class else "other"
            self.errors_by_class[error_class] += 1
            return
        self.asked_served.add(response)
        for metric, column in self.columns.items():
            value = getattr(response, metric)
            if value is not None:
                column.append(value)
        if response.attempts:
            self.throttling.add_final_attempt(response.attempts[-1])
        self.cache.add(response)
        lag = _lag(response)
        if lag is not None:
            for metric, column in self.from_intended.items():
                value = getattr(response, metric.removesuffix("_from_intended"))
                if value is not None:
                    column.append(value + lag)
        self.inter_token_latency.add_all(response.token_gaps())

    def merge(self, other: RunStats) -> None:
        """Count the records `other` counted, as if they were added here after this one's
        (a run split across workers: `llmeter_trio.distributed`). Every column keeps its
        values in that order, so the statistics are those of `of` over the records in that
        order, but for the mean inter-token latency (a float sum, within 1e-12 relative)."""
        for name, column in self.columns.items():
            column.extend(other.columns[name])
        for name, column in self.from_intended.items():
            column.extend(other.from_intended[name])
        self.schedule_lag.extend(other.schedule_lag)
        self.inter_token_latency.merge(other.inter_token_latency)
        self.total_requests += other.total_requests
        self.excluded_requests += other.excluded_requests
        self.failed_requests += other.failed_requests
        self.errors_by_class.update(other.errors_by_class)
        self.total_input_tokens += other.total_input_tokens
        self.total_output_tokens += other.total_output_tokens
        self.total_cached_input_tokens += other.total_cached_input_tokens
        self.total_reasoning_output_tokens += other.total_reasoning_output_tokens
        for mine, theirs in (
            (self.intended_span, other.intended_span),
            (self.send_span, other.send_span),
            (self.window, other.window),
        ):
            mine.merge(theirs)
        self.throttling.merge(other.throttling)
        self.asked_served.merge(other.asked_served)
        self.cache.merge(other.cache)

        self.sessions.merge(other.sessions)
        if self.slos is not None and other.slos is not None:
            self.slos.merge(other.slos)

    def _add_timing(self, response: InvocationResponse) -> None:
        send = response.send_time
        if send is None:
            return
        self.send_span.add(send)
        self.window.add(send)
        self.window.add(send + (response.time_to_last_token or 0.0))
        if response.intended_send_time is not None:
            self.intended_span.add(response.intended_send_time)
            self.schedule_lag.append(send - response.intended_send_time)

    @property
    def measured_requests(self) -> int:
        """Requests inside the measurement window."""
        return self.total_requests - self.excluded_requests

    def to_dict(
        self, total_test_time: float | None, metrics: Collection[str] | None = None
    ) -> dict[str, Any]:
        """The flat stats dictionary: ``"{metric}-{aggregation}"`` keys and run totals.

        Rates are over `total_test_time`, or over the measurement window when
        warm-up or cool-down requests were excluded. With `metrics`, only
        those metrics are summarized (and no SLOs): a cheap snapshot for a
        live display while the run goes on.
        """
        duration = self.window.length if self.excluded_requests else total_test_time
        minutes = duration / 60 if duration else None
        measured = self.measured_requests
        stats: dict[str, Any] = {
            "total_requests": self.total_requests,
            "measured_requests": measured,
            "excluded_requests": self.excluded_requests,
            "failed_requests": self.failed_requests,
            "failed_requests_rate": self.failed_requests / measured if measured else 0.0,
            "requests_per_minute": measured / minutes if minutes else 0.0,
            "total_input_tokens": self.total_input_tokens,
            "total_output_tokens": self.total_output_tokens,
            "total_cached_input_tokens": self.total_cached_input_tokens,
            "total_reasoning_output_tokens": self.total_reasoning_output_tokens,
            "average_input_tokens_per_minute": (
                self.total_input_tokens / minutes if minutes else None
            ),
            "average_output_tokens_per_minute": (
                self.total_output_tokens / minutes if minutes else None
            ),
            "intended_request_rate": self.intended_span.rate,
            "achieved_request_rate": self.send_span.rate,
            "errors_by_class": dict(sorted(self.errors_by_class.items())),
            **self.throttling.to_dict(),
            **self.asked_served.to_dict(),
            **self.cache.to_dict(),
        }
        if self.sessions.started or self.sessions.turns:
            stats.update(self.sessions.to_dict(minutes, self.percentile_method, metrics))
        columns = {**self.columns, **self.from_intended, "schedule_lag": self.schedule_lag}
        if self.throttling.retries:  # latency of the attempt that succeeded, beside the user's
            columns[FINAL_ATTEMPT_METRIC] = self.throttling.final_attempt
        if self.cache.requests:  # the server reported cached tokens: TTFT of hits and misses
            columns[CACHE_HIT_METRIC] = self.cache.hit
            columns[CACHE_MISS_METRIC] = self.cache.miss
        if metrics is not None:
            columns = {m: column for m, column in columns.items() if m in metrics}
        ordered = {metric: sorted(column) for metric, column in columns.items()}
        for metric, values in ordered.items():
            summary = summarize(values, presorted=True, method=self.percentile_method)
            for aggregation, value in summary.items():
                stats[f"{metric}-{aggregation}"] = value
        if metrics is None or ITL_METRIC in metrics:
            for aggregation, value in self.inter_token_latency.summary().items():
                stats[f"{ITL_METRIC}-{aggregation}"] = value
        if self.slos is not None and metrics is None:

            def quantile(metric: str, q: float) -> float | None:
                values = ordered.get(metric)
                return percentile(values, q, self.percentile_method) if values else None

            stats.update(self.slos.to_dict(quantile, duration))
        return stats


class _CacheHits:
    """Successful requests whose server reported cached input tokens: their time to first
    token, apart for hits (some input cached) and misses (none), and their token totals."""

    __slots__ = ("cached_tokens", "hit", "hits", "input_tokens", "miss", "misses")

    def __init__(self) -> None:
        self.hit: array[float] = array("d")
        self.miss: array[float] = array("d")
        self.hits = 0
        self.misses = 0
        self.input_tokens = 0  # of the requests with a cached count and an input count
        self.cached_tokens = 0

    @property
    def requests(self) -> int:
        return self.hits + self.misses

    def add(self, response: InvocationResponse) -> None:
        cached = response.num_tokens_input_cached
        if cached is None:
            return
        column = self.hit if cached > 0 else self.miss
        if cached > 0:
            self.hits += 1
        else:
            self.misses += 1
        if response.time_to_first_token is not None:
            column.append(response.time_to_first_token)
        if response.num_tokens_input is not None:
            self.input_tokens += response.num_tokens_input
            self.cached_tokens += cached

    def merge(self, other: _CacheHits) -> None:
        self.hit.extend(other.hit)
        self.miss.extend(other.miss)
        self.hits += other.hits
        self.misses += other.misses
        self.input_tokens += other.input_tokens
        self.cached_tokens += other.cached_tokens

    def to_dict(self) -> dict[str, Any]:
        """Nothing when no request had a cached count."""
        if not self.requests:
            return {}
        return {
            "cache_hit_requests": self.hits,
            "cache_miss_requests": self.misses,
            "cache_hit_rate": self.hits / self.requests,
            "input_tokens_cached_share": (
                self.cached_tokens / self.input_tokens if self.input_tokens else None
            ),
        }


# what a multi-turn run reports per turn index (successful, measured requests)
TURN_METRICS = ("time_to_first_token", "time_to_last_token", "num_tokens_input")
TURN_PERCENTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99))


class _Sessions:
    """Multi-turn sessions (records with a ``session``): how many started, completed, failed
    and were cut, and per turn index (1, 2, ...) the metrics of `TURN_METRICS`.

    A session is counted started by its first turn's record, completed or failed by its
    last record's ``session_end``; the others were cut (by the deadline or a stop, the
    last record says ``"cut"`` unless the stop came during a think time).
    """

    __slots__ = ("completed", "failed", "started", "turns")

    def __init__(self) -> None:
        self.started = 0
        self.completed = 0
        self.failed = 0
        # turn index -> requests, then one column per metric
        self.turns: dict[int, tuple[list[int], dict[str, array[float]]]] = {}

    def add(self, response: InvocationResponse) -> None:
        if response.turn == 1:
            self.started += 1
        if response.session_end == "completed":
            self.completed += 1
        elif response.session_end == "failed":
            self.failed += 1
        if response.excluded is not None or response.failed or response.turn is None:
            return
        count, columns = self._turn(response.turn)
        count[0] += 1
        for metric, column in columns.items():
            value = getattr(response, metric)
            if value is not None:
                column.append(value)

    def _turn(self, turn: int) -> tuple[list[int], dict[str, array[float]]]:
        entry = self.turns.get(turn)
        if entry is None:
            entry = self.turns[turn] = ([0], {m: array("d") for m in TURN_METRICS})
        return entry

    def merge(self, other: _Sessions) -> None:
        self.started += other.started
        self.completed += other.completed
        self.failed += other.failed
        for turn, (count, columns) in other.turns.items():
            mine, my_columns = self._turn(turn)
            mine[0] += count[0]
            for metric, column in columns.items():
                my_columns[metric].extend(column)

    def to_dict(
        self, minutes: float | None, method: PercentileMethod, metrics: Collection[str] | None
    ) -> dict[str, Any]:
        """The session counts, and ``by_turn``: ``{"1": {"requests": n,
        "time_to_first_token-p50": ..., ...}, "2": ...}`` (keys are text, as JSON saves them)."""
        stats: dict[str, Any] = {
            "sessions_started": self.started,
            "sessions_completed": self.completed,
            "sessions_failed": self.failed,
            "sessions_cut": self.started - self.completed - self.failed,
            "sessions_per_minute": self.completed / minutes if minutes else 0.0,
        }
        if metrics is not None:  # (a live snapshot: the counts only)
            return stats
        by_turn: dict[str, dict[str, float]] = {}
        for turn in sorted(self.turns):
            count, columns = self.turns[turn]
            row: dict[str, float] = {"requests": count[0]}
            for metric, column in columns.items():
                summary = summarize(column, method=method, percentiles=TURN_PERCENTILES)
                for aggregation in ("average", *(name for name, _ in TURN_PERCENTILES)):
                    if aggregation in summary:
                        row[f"{metric}-{aggregation}"] = summary[aggregation]
            by_turn[str(turn)] = row
        stats["by_turn"] = by_turn
        return stats


class _Throttling:
    """How the server throttled the run and what the clients did about it.

    Attempts (under a retry policy, each of a request's attempts; else each
    request) answered 429, retries, seconds waited, and the rate-limit
    headers of the latest answer that had them (by send time: records come in
    any order).
    """

    __slots__ = ("attempts", "final_attempt", "rate_limit", "rate_limit_at", "retries",
                 "retry_wait", "throttle_wait", "throttled")  # fmt: skip

    def __init__(self) -> None:
        self.attempts = 0
        self.throttled = 0
        self.retries = 0
        self.retry_wait = 0.0
        self.throttle_wait = 0.0
        self.final_attempt: array[float] = array("d")
        self.rate_limit: dict[str, str] | None = None
        self.rate_limit_at: tuple[float, list[tuple[str, str]]] | None = None

    def add(self, response: InvocationResponse) -> None:
        attempts = response.attempts
        if attempts:
            self.attempts += len(attempts)
            self.throttled += sum(map(_throttled, attempts))
            self.retries += len(attempts) - 1
        else:
            self.attempts += 1
            self.throttled += _throttled(response)
        if response.retry_wait:
            self.retry_wait += response.retry_wait
        if response.throttle_wait:
            self.throttle_wait += response.throttle_wait
        if response.rate_limit is not None:  # ties broken by the values: any order, one answer
            sent = response.send_time if response.send_time is not None else -math.inf
            key = (sent, sorted(response.rate_limit.items()))
            if self.rate_limit_at is None or key > self.rate_limit_at:
                self.rate_limit, self.rate_limit_at = response.rate_limit, key

    def merge(self, other: _Throttling) -> None:
        self.attempts += other.attempts
        self.throttled += other.throttled
        self.retries += other.retries
        self.retry_wait += other.retry_wait
        self.throttle_wait += other.throttle_wait
        self.final_attempt.extend(other.final_attempt)
        if other.rate_limit_at is not None and (
            self.rate_limit_at is None or other.rate_limit_at > self.rate_limit_at
        ):
            self.rate_limit, self.rate_limit_at = other.rate_limit, other.rate_limit_at

    def add_final_attempt(self, attempt: Attempt) -> None:
        """Note the time to last token of a successful request's last attempt."""
        if attempt.time_to_last_token is not None:
            self.final_attempt.append(attempt.time_to_last_token)

    def to_dict(self) -> dict[str, Any]:
        return {
            "throttled_requests": self.throttled,
            "throttled_share": self.throttled / self.attempts if self.attempts else 0.0,
            "total_retries": self.retries,
            "total_retry_wait": self.retry_wait,
            "total_throttle_wait": self.throttle_wait,
            "rate_limit": self.rate_limit,
        }


class AskedServed:
    """The token lengths a workload asked of each successful request beside those served.

    Only records that asked a length (`requested_input_tokens`,
    `requested_output_tokens`) and report the served one count; the keys are
    in `to_dict` only when some did. Sums of whole numbers: any order, and a
    merge across workers, give the same numbers.
    """

    __slots__ = ("input", "output")

    def __init__(self) -> None:
        self.input = _LengthGap()
        self.output = _LengthGap()

    def add(self, response: InvocationResponse) -> None:
        self.input.add(response.requested_input_tokens, response.num_tokens_input)
        self.output.add(response.requested_output_tokens, response.num_tokens_output)

    def merge(self, other: AskedServed) -> None:
        self.input.merge(other.input)
        self.output.merge(other.output)

    def to_dict(self) -> dict[str, Any]:
        stats = {**self.input.to_dict("input_tokens"), **self.output.to_dict("output_tokens")}
        if self.output.compared:  # requests served another output length than asked
            stats["output_length_mismatches"] = self.output.mismatches
        return stats


class _LengthGap:
    """Asked and served lengths of one kind (input or output) and how far apart they were."""

    __slots__ = ("asked", "compared", "largest_gap", "mismatches", "served")

    def __init__(self) -> None:
        self.compared = 0
        self.asked = 0
        self.served = 0
        self.mismatches = 0
        self.largest_gap = 0

    def add(self, asked: int | None, served: int | None) -> None:
        if asked is None or served is None:
            return
        self.compared += 1
        self.asked += asked
        self.served += served
        self.mismatches += served != asked
        self.largest_gap = max(self.largest_gap, abs(served - asked))

    def merge(self, other: _LengthGap) -> None:
        self.compared += other.compared
        self.asked += other.asked
        self.served += other.served
        self.mismatches += other.mismatches
        self.largest_gap = max(self.largest_gap, other.largest_gap)

    def to_dict(self, name: str) -> dict[str, Any]:
        if not self.compared:
            return {}
        return {
            f"{name}_compared_requests": self.compared,
            f"{name}_asked_mean": self.asked / self.compared,
            f"{name}_served_mean": self.served / self.compared,
            f"{name}_served_minus_asked_mean": (self.served - self.asked) / self.compared,
            f"{name}_served_minus_asked_max_abs": self.largest_gap,
        }


def _throttled(outcome: InvocationResponse | Attempt) -> bool:
    """Whether an answer (or one attempt) was throttled: HTTP 429 or a throttling error."""
    return outcome.status_code == 429 or outcome.error_class is ErrorClass.THROTTLED


def _lag(response: InvocationResponse) -> float | None:
    if response.send_time is None or response.intended_send_time is None:
        return None
    return response.send_time - response.intended_send_time


class _Span:
    """The smallest and largest of some times, and how many there were."""

    __slots__ = ("count", "first", "last")

    def __init__(self) -> None:
        self.count = 0
        self.first = math.inf
        self.last = -math.inf

    def add(self, time: float) -> None:
        self.count += 1
        self.first = min(self.first, time)
        self.last = max(self.last, time)

    def merge(self, other: _Span) -> None:
        self.count += other.count
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)

    @property
    def length(self) -> float | None:
        return self.last - self.first if self.count else None

    @property
    def rate(self) -> float | None:
        """Events per second between the first and the last (None for fewer than two)."""
        if self.count < 2 or self.last <= self.first:
            return None
        return (self.count - 1) / (self.last - self.first)
