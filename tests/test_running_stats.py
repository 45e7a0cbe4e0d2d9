"""LLMeter's ``llmeter.utils`` names: RunningStats, summary_stats_from_list, DeferredError."""

from __future__ import annotations

import importlib
import math
import statistics
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio.endpoints import InvocationResponse
from llmeter_trio.stats import RunStats
from llmeter_trio.utils import DeferredError, RunningStats, now_utc, summary_stats_from_list

from .strategies import invocation_responses

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
values = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=2
)
METRICS = ("time_to_first_token", "time_to_last_token", "time_per_output_token")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class TestSummaryStatsFromList:
    @given(values)
    def test_llmeter_numbers_by_default(self, data: list[float]) -> None:
        """Mean, median, and p90/p99 as statistics.quantiles' exclusive cut points."""
        summary = summary_stats_from_list(data)
        assert summary["p50"] == statistics.median(data)
        assert summary["p90"] == statistics.quantiles(data, n=10)[8]
        assert summary["p99"] == statistics.quantiles(data, n=100)[98]
        assert math.isclose(summary["average"], statistics.fmean(data), abs_tol=1e-6)
        assert set(summary) == {"average", "p50", "p90", "p99"}

    @given(values)
    def test_llmeter_cut_points_to_the_bit(self, data: list[float]) -> None:
        """p75, p95 and p20 come from as many cut points as LLMeter asks for (4, 100, 10)."""
        summary = summary_stats_from_list(data, percentiles=[75, 95, 20])
        assert summary["p75"] == statistics.quantiles(data, n=4)[2]
        assert summary["p95"] == statistics.quantiles(data, n=100)[94]
        assert summary["p20"] == statistics.quantiles(data, n=10)[1]

    @given(values, st.integers(min_value=1, max_value=99))
    def test_any_whole_percentile(self, data: list[float], p: int) -> None:
        """Any whole percentile is the matching cut point of quantiles(n=100)."""
        expected = statistics.quantiles(data, n=100)[p - 1]
        actual = summary_stats_from_list(data, percentiles=[p])[f"p{p}"]
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-6)

    def test_small_and_empty(self) -> None:
        """No values (or only NaNs): {}; one value: it, for every percentile."""
        assert summary_stats_from_list([]) == {}
        assert summary_stats_from_list([math.nan]) == {}
        assert summary_stats_from_list([7.5]) == {
            "average": 7.5,
            "p50": 7.5,
            "p90": 7.5,
            "p99": 7.5,
        }
        assert summary_stats_from_list([1, 2, 3], percentiles=[]) == {"average": 2}

    def test_nans_are_left_out(self) -> None:
        """NaNs do not count, neither in the mean nor in the percentiles."""
        assert summary_stats_from_list([1, math.nan, 3]) == summary_stats_from_list([1, 3])

    def test_linear_on_request(self) -> None:
        """percentile_method="linear" gives llmeter-trio's rule: p90 of five values 0.46."""
        data = [0.1, 0.2, 0.3, 0.4, 0.5]
        assert math.isclose(summary_stats_from_list(data)["p90"], 0.54)
        linear = summary_stats_from_list(data, percentile_method="linear")
        assert math.isclose(linear["p90"], 0.46)

    def test_fractional_percentiles_are_named_as_given(self) -> None:
        """p99.9 is reported under "p99.9"."""
        assert set(summary_stats_from_list(range(1000), percentiles=[99.9])) == {"average", "p99.9"}

    @pytest.mark.parametrize("bad", [0, 100, -5, 150])
    def test_percentiles_out_of_range(self, bad: float) -> None:
        """A percentile not strictly between 0 and 100 is a ValueError naming it."""
        with pytest.raises(ValueError, match=f"percentile {bad}"):
            summary_stats_from_list([1, 2, 3], percentiles=[bad])


class TestRunningStats:
    @given(st.lists(invocation_responses(), max_size=6), st.sampled_from(["linear", "llmeter"]))
    def test_same_numbers_as_the_run_statistics(
        self, responses: list[InvocationResponse], method: str
    ) -> None:
        """Fed records' to_dict(), it gives Result.stats' numbers for the same records."""
        running = RunningStats(METRICS, percentile_method=method)  # type: ignore[arg-type]
        for response in responses:
            running.update(response.to_dict())
        mine = running.to_stats()
        engine = RunStats.of(responses, percentile_method=method).to_dict(None)  # type: ignore[arg-type]
        for key in ("failed_requests", "total_input_tokens", "total_output_tokens"):
            assert mine[key] == engine[key]
        expected = {k: v for k, v in engine.items() if k.rsplit("-", 1)[0] in METRICS}
        assert {k: v for k, v in mine.items() if k.rsplit("-", 1)[0] in METRICS} == expected

    def test_rates_over_the_send_window(self) -> None:
        """Requests per minute over first to last send; output rates up to end_time."""
        stats = RunningStats(["num_tokens_output"])
        for second, tokens in ((0, 500), (5, 100), (10, 200)):
            stats.update({"request_time": at(second), "num_tokens_output": tokens})
        result = stats.to_stats(end_time=at(20))
        assert result["requests_per_minute"] == 18.0
        assert result["output_tps"] == 40.0
        assert result["average_output_tokens_per_minute"] == 2400.0
        assert result["num_tokens_output-p50"] == 200

    def test_no_window_no_rates(self) -> None:
        """With one send time (or none), and no end_time, no rate is reported."""
        stats = RunningStats([])
        assert "requests_per_minute" not in stats.to_stats()
        stats.update({"request_time": at(0)})
        result = stats.to_stats()
        assert "requests_per_minute" not in result and "output_tps" not in result
        assert "output_tps" not in stats.to_stats(end_time=at(0))

    def test_failed_requests_counted_not_timed(self) -> None:
        """A failed record is counted and its tokens totalled; its latency is left out."""
        stats = RunningStats(["time_to_first_token"])
        stats.update({"time_to_first_token": 0.5, "num_tokens_input": 10})
        stats.update({"time_to_first_token": 9.0, "num_tokens_input": 5, "error": "timeout"})
        stats.update({"error_class": "throttled"})
        result = stats.to_stats()
        assert (stats.count, stats.failed) == (3, 2)
        assert result["failed_requests_rate"] == pytest.approx(2 / 3)
        assert result["total_input_tokens"] == 15
        assert result["time_to_first_token-max"] == 0.5

    def test_missing_none_and_nan_values_are_skipped(self) -> None:
        """Values that are absent, None or NaN are not counted as values."""
        stats = RunningStats(["time_to_first_token"])
        for value in (None, math.nan, 0.25):
            stats.update({"time_to_first_token": value})
        stats.update({})
        assert stats.to_stats()["time_to_first_token-average"] == 0.25

    def test_send_times_in_any_order_and_from_json(self) -> None:
        """The earliest and latest request_time, datetimes or ISO text (as JSON has them)."""
        stats = RunningStats([])
        stats.update({"request_time": at(10).isoformat().replace("+00:00", "Z")})
        stats.update({"request_time": at(0)})
        stats.update({"request_time": at(5).isoformat()})
        assert (stats.first_send_time, stats.last_send_time) == (at(0), at(10))

    def test_readable_at_any_point(self) -> None:
        """to_stats may be called mid-run; later updates still count."""
        stats = RunningStats(["time_to_first_token"])
        stats.update({"time_to_first_token": 3.0})
        assert stats.to_stats()["time_to_first_token-p50"] == 3.0
        for value in (1.0, 2.0):
            stats.update({"time_to_first_token": value})
        later = stats.to_stats()
        assert (later["time_to_first_token-min"], later["time_to_first_token-p50"]) == (1.0, 2.0)

    def test_run_summary_first(self) -> None:
        """`result_dict` items come first; statistics of the same name replace them."""
        stats = RunningStats([]).to_stats(result_dict={"model_id": "m", "failed_requests": 9})
        assert stats["model_id"] == "m" and stats["failed_requests"] == 0

    def test_unknown_percentile_method(self) -> None:
        """A misspelt percentile method is refused when the object is made."""
        with pytest.raises(ValueError, match="unknown percentile method"):
            RunningStats([], percentile_method="exclusive")  # type: ignore[arg-type]


class TestSmallHelpers:
    @pytest.mark.parametrize("name", ["llmeter_trio.utils", "llmeter_trio.live_display"])
    def test_all_names_exist_and_are_sorted(self, name: str) -> None:
        """LLMeter's module paths export what they list, sorted."""
        module = importlib.import_module(name)
        assert all(hasattr(module, attr) for attr in module.__all__)
        assert list(module.__all__) == sorted(module.__all__)

    def test_deferred_error_raises_on_use(self) -> None:
        """A DeferredError raises its exception on any attribute access."""
        try:
            import no_such_module_here  # type: ignore[import-not-found]  # noqa: F401
        except ImportError as exc:
            missing = DeferredError(exc)
        with pytest.raises(ImportError, match="no_such_module_here"):
            missing.anything()
        with pytest.raises(ImportError, match="no_such_module_here"):
            _ = missing.attribute

    def test_now_utc_is_aware(self) -> None:
        """now_utc() carries its UTC offset."""
        assert now_utc().utcoffset() == timedelta(0)
