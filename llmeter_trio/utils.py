"""LLMeter's ``llmeter.utils`` names: running statistics, summaries of lists, deferred errors.

Every number here comes from the one stats engine, `llmeter_trio.stats`:
`summary_stats_from_list` and `RunningStats` only choose which values to
summarize and how to name the results.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, NoReturn

from .stats import PercentileMethod, check_percentile_method, summarize

__all__ = ["DeferredError", "RunningStats", "now_utc", "summary_stats_from_list"]


class DeferredError:
    """An exception kept for later: any attribute access on this object raises it.

    For optional imports, so the ImportError surfaces where the missing library
    is used, not where it was imported::

        try:
            import pandas
        except ImportError as exc:
            pandas = DeferredError(exc)
    """

    def __init__(self, exception: BaseException) -> None:
        self.exc = exception

    def __getattr__(self, name: str) -> NoReturn:
        raise self.exc


def now_utc() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def summary_stats_from_list(
    data: Iterable[float],
    percentiles: Sequence[float] = (50, 90, 99),
    *,
    percentile_method: PercentileMethod = "llmeter",
) -> dict[str, float]:
    """The mean (``"average"``) and `percentiles` (``"p50"``, ``"p90"``, ...) of `data`.

    NaNs are left out; no values left gives ``{}``. Percentiles are numbers
    between 0 and 100 (exclusive), computed by `percentile_method`: LLMeter's
    rule by default, as LLMeter's function of this name (``"linear"`` is
    llmeter-trio's rule for run statistics).
    """
    method = check_percentile_method(percentile_method)
    named = [(f"p{p:g}", _fraction(p)) for p in percentiles]
    clean = sorted(v for v in data if not math.isnan(v))
    return summarize(clean, presorted=True, method=method, percentiles=named, extremes=False)


def _fraction(percent: float) -> float:
    if not 0 < percent < 100:
        raise ValueError(f"percentile {percent!r} is not between 0 and 100 (exclusive)")
    return percent / 100


def _seconds_between(first: datetime | None, last: datetime | None) -> float | None:
    """Seconds from `first` to `last`, or None unless both are known and `last` is later."""
    if first is None or last is None or last <= first:
        return None
    return (last - first).total_seconds()


class RunningStats:
    """Statistics of records added one at a time, readable at any point (LLMeter's API).

    Feed it each record as a dict (``response.to_dict()``) with `update`;
    `to_stats` gives the flat statistics LLMeter's ``Result.stats`` has:
    ``failed_requests``, ``total_input_tokens``, ``"{metric}-p50"``... for
    each of `metrics`, and rates over the requests' send times::

        stats = RunningStats(metrics=["time_to_first_token"])
        stats.update({"time_to_first_token": 0.3, "request_time": sent})
        stats.to_stats()["time_to_first_token-p50"]

    As in every statistic of llmeter-trio, a failed request (``error`` set)
    is counted, and its tokens totalled, but its latencies are left out of
    the percentiles and averages. `percentile_method` is ``"linear"`` (as
    `Result.stats`) or ``"llmeter"`` (LLMeter's numbers).
    """

    def __init__(
        self, metrics: Sequence[str], *, percentile_method: PercentileMethod = "linear"
    ) -> None:
        self.percentile_method = check_percentile_method(percentile_method)
        self._metrics = list(metrics)
        self._count = 0
        self._failed = 0
        self._first_send_time: datetime | None = None
        self._last_send_time: datetime | None = None
        self._sums: dict[str, float] = {m: 0 for m in self._metrics}
        self._columns: dict[str, list[float]] = {m: [] for m in self._metrics}
        self._unsorted: set[str] = set()  # columns appended to since they were last sorted
        self._input_tokens = 0
        self._output_tokens = 0

    @property
    def _values(self) -> dict[str, list[float]]:
        """Each metric's values so far, sorted (sorting only what was added since)."""
        for metric in self._unsorted:
            self._columns[metric].sort()
        self._unsorted.clear()
        return self._columns

    @property
    def count(self) -> int:
        """Records added."""
        return self._count

    @property
    def failed(self) -> int:
        """Records that failed (``error`` or ``error_class`` set)."""
        return self._failed

    @property
    def first_send_time(self) -> datetime | None:
        """The earliest ``request_time`` added."""
        return self._first_send_time

    @property
    def last_send_time(self) -> datetime | None:
        """The latest ``request_time`` added."""
        return self._last_send_time

    def update(self, response_dict: Mapping[str, Any]) -> None:
        """Add one record, as ``InvocationResponse.to_dict()`` gives it.

        Missing, None and NaN values are skipped; ``request_time`` may be a
        datetime or its ISO text (as read from JSON).
        """
        self._count += 1
        failed = (
            response_dict.get("error") is not None or response_dict.get("error_class") is not None
        )
        self._failed += failed
        self._add_send_time(response_dict.get("request_time"))
        self._input_tokens += response_dict.get("num_tokens_input") or 0
        self._output_tokens += response_dict.get("num_tokens_output") or 0
        for metric in self._metrics:
            value = response_dict.get(metric)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            self._sums[metric] += value
            if not failed:
                self._columns[metric].append(value)
                self._unsorted.add(metric)

    def _add_send_time(self, sent: datetime | str | None) -> None:
        if sent is None:
            return
        if isinstance(sent, str):
            sent = datetime.fromisoformat(sent.replace("Z", "+00:00"))
        if self._first_send_time is None or sent < self._first_send_time:
            self._first_send_time = sent
        if self._last_send_time is None or sent > self._last_send_time:
            self._last_send_time = sent

    def _send_window(self) -> float | None:
        """Seconds from the first request sent to the last; None with fewer than two times."""
        return _seconds_between(self._first_send_time, self._last_send_time)

    def to_stats(
        self, end_time: datetime | None = None, result_dict: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The statistics so far, after the items of `result_dict` (a run's summary fields).

        ``requests_per_minute`` and ``average_input_tokens_per_minute`` are
        over the send window (first to last ``request_time``), present once
        it is longer than zero; ``output_tps`` and
        ``average_output_tokens_per_minute`` are from the first send to
        `end_time`, when given.
        """
        stats: dict[str, Any] = dict(result_dict or {})
        stats["failed_requests"] = self._failed
        stats["failed_requests_rate"] = self._failed / self._count if self._count else 0
        stats["total_input_tokens"] = self._input_tokens
        stats["total_output_tokens"] = self._output_tokens
        columns = self._values
        for metric in self._metrics:
            summary = summarize(columns[metric], presorted=True, method=self.percentile_method)
            for aggregation, value in summary.items():
                stats[f"{metric}-{aggregation}"] = value
        send_window = self._send_window()
        if send_window is not None:
            stats["requests_per_minute"] = self._count * 60 / send_window
            stats["average_input_tokens_per_minute"] = self._input_tokens * 60 / send_window
        run_window = _seconds_between(self._first_send_time, end_time)
        if run_window is not None:
            stats["average_output_tokens_per_minute"] = self._output_tokens * 60 / run_window
            stats["output_tps"] = self._output_tokens / run_window
        return stats
