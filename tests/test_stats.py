"""The stats engine against brute-force references."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio.endpoints import Chunk, ErrorClass, InvocationResponse
from llmeter_trio.stats import (
    PERCENTILES,
    LogHistogram,
    RunStats,
    check_percentile_method,
    percentile,
    summarize,
)

from ._support.reference import reference_quantile
from .strategies import invocation_responses

values = st.lists(
    st.floats(min_value=0, max_value=1e4, allow_nan=False, allow_infinity=False), min_size=2
)


class TestLLMeterPercentile:
    """``percentile_method="llmeter"``: LLMeter's numbers, from statistics.quantiles."""

    @given(values)
    def test_p90_and_p99_are_statistics_exclusive_quantiles(self, data: list[float]) -> None:
        """p90 is quantiles(n=10)[8] and p99 quantiles(n=100)[98], as LLMeter asks for them."""
        ordered = sorted(data)
        assert percentile(ordered, 0.9, "llmeter") == statistics.quantiles(data, n=10)[8]
        assert percentile(ordered, 0.99, "llmeter") == statistics.quantiles(data, n=100)[98]
        assert percentile(ordered, 0.5, "llmeter") == statistics.median(data)

    @given(values, st.sampled_from([q for _, q in PERCENTILES]))
    def test_every_percentile_is_an_exclusive_quantile(self, data: list[float], q: float) -> None:
        """Each reported percentile is the matching cut point of quantiles(n=1000)."""
        cuts = statistics.quantiles(data, n=1000, method="exclusive")
        expected = cuts[round(q * 1000) - 1]
        actual = percentile(sorted(data), q, "llmeter")
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)

    def test_the_issue_example(self) -> None:
        """p90 of five values: 0.46 linear, 0.54 as LLMeter reports it."""
        data = [0.1, 0.2, 0.3, 0.4, 0.5]
        assert math.isclose(percentile(data, 0.9), 0.46)
        assert math.isclose(percentile(data, 0.9, "llmeter"), 0.54)
        assert summarize(data, method="llmeter")["p90"] == statistics.quantiles(data, n=10)[8]

    def test_run_stats_use_the_method(self) -> None:
        """RunStats(percentile_method=...) changes percentiles, not averages nor counts."""
        responses = [InvocationResponse(time_to_first_token=t / 10) for t in range(1, 6)]
        linear = RunStats.of(responses).to_dict(None)
        llmeter = RunStats.of(responses, percentile_method="llmeter").to_dict(None)
        assert math.isclose(llmeter["time_to_first_token-p90"], 0.54)
        assert math.isclose(linear["time_to_first_token-p90"], 0.46)
        assert {k: v for k, v in linear.items() if "-p" not in k} == {
            k: v for k, v in llmeter.items() if "-p" not in k
        }

    def test_unknown_method_is_refused(self) -> None:
        """A misspelt method is a ValueError naming the choices."""
        with pytest.raises(ValueError, match="linear, llmeter"):
            check_percentile_method("exclusive")
        with pytest.raises(ValueError, match="unknown percentile method"):
            RunStats(percentile_method="nearest")  # type: ignore[arg-type]


class TestPercentile:
    @given(values, st.sampled_from([q for _, q in PERCENTILES]))
    def test_matches_statistics_inclusive_quantiles(self, data: list[float], q: float) -> None:
        """Linear interpolation between ranks, as statistics.quantiles(method='inclusive')."""
        expected = reference_quantile(data, q)
        assert math.isclose(percentile(sorted(data), q), expected, rel_tol=1e-9, abs_tol=1e-9)

    def test_single_value_is_every_percentile(self) -> None:
        """One value: every percentile is that value."""
        assert summarize([3.5]) == {
            "p50": 3.5, "p90": 3.5, "p95": 3.5, "p99": 3.5, "p99.9": 3.5,
            "average": 3.5, "min": 3.5, "max": 3.5,
        }  # fmt: skip

    def test_no_values_no_keys(self) -> None:
        """Metrics without values produce no keys (as LLMeter)."""
        assert summarize([]) == {}


class TestLogHistogram:
    @given(
        st.lists(st.floats(min_value=1e-6, max_value=1e3, allow_nan=False), min_size=1),
        st.sampled_from([q for _, q in PERCENTILES]),
    )
    def test_quantile_within_relative_error(self, data: list[float], q: float) -> None:
        """Every quantile is within 0.5% of the exact order statistic at its rank."""
        histogram = LogHistogram()
        for value in data:
            histogram.add(value)
        exact = sorted(data)[math.floor(q * (len(data) - 1))]
        assert abs(histogram.quantile(q) - exact) <= LogHistogram.RELATIVE_ERROR * exact * 1.000001

    @given(st.lists(st.floats(min_value=0, max_value=1e3, allow_nan=False), min_size=1))
    def test_exact_count_min_max(self, data: list[float]) -> None:
        """Count, min and max are exact; the order of adding does not matter."""
        forward, backward = LogHistogram(), LogHistogram()
        for value in data:
            forward.add(value)
        for value in reversed(data):
            backward.add(value)
        assert (forward.count, forward.min, forward.max) == (len(data), min(data), max(data))
        assert forward.buckets == backward.buckets and forward.zeros == backward.zeros

    def test_weighted_add_equals_repeated_add(self) -> None:
        """add(v, times=k) is k single adds."""
        weighted, repeated = LogHistogram(), LogHistogram()
        weighted.add(0.02, 5)
        for _ in range(5):
            repeated.add(0.02)
        assert weighted.summary() == repeated.summary()


class TestRunStats:
    @given(st.lists(invocation_responses(), max_size=15))
    def test_against_brute_force(self, responses: list[InvocationResponse]) -> None:
        """Counts, totals and per-request percentiles equal a direct computation."""
        stats = RunStats.of(responses).to_dict(total_test_time=120.0)
        ok = [r for r in responses if not r.failed]
        assert stats["total_requests"] == len(responses)
        assert stats["failed_requests"] == len(responses) - len(ok)
        assert stats["total_output_tokens"] == sum(r.num_tokens_output or 0 for r in responses)
        assert stats["requests_per_minute"] == len(responses) / 2
        for metric in ("time_to_first_token", "time_to_last_token", "num_tokens_output"):
            data = sorted(float(v) for r in ok if (v := getattr(r, metric)) is not None)
            if not data:
                assert f"{metric}-p50" not in stats
                continue
            assert stats[f"{metric}-max"] == data[-1]
            assert stats[f"{metric}-min"] == data[0]
            assert math.isclose(stats[f"{metric}-average"], statistics.fmean(data), rel_tol=1e-9)
            if len(data) > 1:
                assert math.isclose(
                    stats[f"{metric}-p90"],
                    reference_quantile(data, 0.9),
                    rel_tol=1e-9,
                    abs_tol=1e-12,
                )

    def test_errors_by_class(self) -> None:
        """Failures are counted per class and excluded from latency statistics."""
        responses = [
            InvocationResponse.error_output("429", ErrorClass.THROTTLED, status_code=429),
            InvocationResponse.error_output("429", ErrorClass.THROTTLED, status_code=429),
            InvocationResponse.error_output("boom", ErrorClass.SERVER, status_code=500),
            InvocationResponse(time_to_first_token=0.5, time_to_last_token=1.0),
        ]
        stats = RunStats.of(responses).to_dict(total_test_time=None)
        assert stats["errors_by_class"] == {"server": 1, "throttled": 2}
        assert stats["failed_requests_rate"] == 0.75
        assert stats["time_to_first_token-max"] == 0.5
        assert stats["requests_per_minute"] == 0  # LLMeter's 0 for a run of no length

    def test_inter_token_latency_spreads_multi_token_chunks(self) -> None:
        """A chunk of k tokens after a gap g counts as k gaps of g/k: chunks are not tokens."""
        response = InvocationResponse(
            chunks=[Chunk(0.5, tokens=1), Chunk(0.75, tokens=2), Chunk(0.875, tokens=1)]
        )
        assert response.inter_token_latencies() == [0.125, 0.125, 0.125]
        stats = RunStats.of([response]).to_dict(total_test_time=1.0)
        assert stats["inter_token_latency-average"] == 0.125
        assert math.isclose(stats["inter_token_latency-p50"], 0.125, rel_tol=0.005)


class TestChunkTokens:
    def test_unknown_chunks_share_the_token_total_by_characters(self) -> None:
        """Without per-chunk counts, the server's total is spread by characters, exactly."""
        response = InvocationResponse(
            num_tokens_output=10,
            chunks=[
                Chunk(0.5, chars=8),
                Chunk(0.6, chars=8),
                Chunk(0.7, chars=4),
                Chunk(0.8, chars=0),
            ],
        )
        assert response.chunk_tokens() == [4, 4, 2, 0]
        assert response.inter_token_latencies() == pytest.approx([0.025] * 4 + [0.05] * 2)

    def test_known_counts_are_kept_and_the_rest_shared(self) -> None:
        """Recorded counts stand; the remainder goes to the unknown chunks."""
        response = InvocationResponse(
            num_tokens_output=7,
            chunks=[Chunk(0.1, chars=3, tokens=1), Chunk(0.2, chars=5), Chunk(0.3, chars=5)],
        )
        assert response.chunk_tokens() == [1, 3, 3]

    def test_no_total_counts_each_unknown_chunk_as_one(self) -> None:
        """With no token total at all, an unknown chunk is one token."""
        response = InvocationResponse(chunks=[Chunk(0.1, chars=3), Chunk(0.2, chars=9)])
        assert response.chunk_tokens() == [1, 1]

    @given(
        st.lists(st.integers(0, 50), min_size=1, max_size=10),
        st.integers(0, 300),
    )
    def test_shares_add_up_to_the_total(self, chars: list[int], total: int) -> None:
        """The apportioned shares always add up to the token total (when there are characters)."""
        response = InvocationResponse(
            num_tokens_output=total, chunks=[Chunk(i / 10, chars=c) for i, c in enumerate(chars)]
        )
        shares = response.chunk_tokens()
        if total > 0 and sum(chars) > 0:
            assert sum(shares) == total
        assert all(s >= 0 for s in shares)
