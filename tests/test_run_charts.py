"""Charts of one run from hand-made records: the latency distributions (histogram, CDF) and
the run over time (throughput, requests in flight, latency percentiles, errors by class)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from llmeter_trio import Result
from llmeter_trio.endpoints import Chunk, ErrorClass, InvocationResponse
from llmeter_trio.plotting import distribution_fig, run_figures, timeline_fig
from llmeter_trio.plotting.run import cdf_points, histogram_bins, metric_values

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def record(sent: float, ttlt: float | None = 2.5, **fields: Any) -> InvocationResponse:
    return InvocationResponse(
        request_time=T0 + timedelta(seconds=sent),
        time_to_first_token=None if ttlt is None else 0.5,
        time_to_last_token=ttlt,
        num_tokens_output=None if ttlt is None else 10,
        **fields,
    )


def records() -> list[InvocationResponse]:
    return [
        record(0.0, chunks=[Chunk(time=0.5, tokens=1), Chunk(time=0.7, tokens=2)]),
        record(0.5, ttlt=2.5),
        record(3.0, ttlt=None, error="429", error_class=ErrorClass.THROTTLED),
        record(0.0, ttlt=9.0, excluded="warm-up"),
    ]


def by_name(figure: Any) -> dict[str, Any]:
    return {trace.name: trace for trace in figure.data}


def test_inter_token_latency_counts_each_token_gap() -> None:
    """A chunk of 2 tokens 0.2 s after the last is two gaps of 0.1 s; failed and excluded
    records are left out."""
    assert metric_values(records(), "inter_token_latency") == pytest.approx([0.1, 0.1])
    assert metric_values(records(), "time_to_last_token") == [2.5, 2.5]


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown metric 'ttft'"):
        metric_values(records(), "ttft")


def test_cdf_rises_to_one_over_the_sorted_values() -> None:
    result = Result(responses=[record(0, ttlt=t) for t in (0.3, 0.1, 0.2)], total_requests=3)
    (trace,) = distribution_fig(result, "time_to_last_token", "cdf").data
    assert list(trace.x) == pytest.approx([100, 200, 300])  # milliseconds
    assert list(trace.y) == pytest.approx([1 / 3, 2 / 3, 1])
    (bars,) = distribution_fig(result, "time_to_last_token").data
    assert sum(bars.y) == 3 and (bars.y[0], bars.y[-1]) == (1, 1)
    assert (bars.x[0], bars.x[-1]) == pytest.approx((102, 298))  # 50 bins of 4 ms


def test_bins_and_cdf_points_are_capped() -> None:
    """However many values, a histogram has 50 bars and a CDF 1000 points, ending at 1."""
    values = [float(i) for i in range(100_000)]
    centres, counts, width = histogram_bins(values)
    assert len(centres) == 50 and sum(counts) == 100_000 and width == pytest.approx(99_999 / 50)
    xs, ys = cdf_points(values)
    assert len(xs) == 1000 and (xs[0], xs[-1]) == (0, 99_999) and ys[-1] == 1
    assert ys == sorted(ys) and ys[499] == pytest.approx(0.5, abs=0.001)
    assert histogram_bins([7.0, 7.0]) == ([7.0], [2], pytest.approx(0.14))


def test_timeline_counts_per_second() -> None:
    """Two requests of 2.5 s sent at 0 and 0.5 s and a throttled one at 3 s: one-second
    intervals [0, 1), [1, 2), [2, 3] (the last holds the end)."""
    traces = by_name(timeline_fig(Result(responses=records(), total_requests=4)))
    assert list(traces["In flight (average)"].y) == pytest.approx([1.5, 2, 1.5])
    assert list(traces["Requests/s"].y) == [0, 0, 2]
    assert list(traces["Output tokens/s"].y) == [0, 0, 20]
    assert list(traces["Errors: throttled"].y) == [0, 0, 1]
    assert list(traces["TTLT p50"].y) == [None, None, 2500]


def test_run_figures_without_send_times_have_no_timeline() -> None:
    result = Result(responses=[InvocationResponse(time_to_last_token=1.0)], total_requests=1)
    assert list(run_figures(result)) == [
        "Time to last token: histogram",
        "Time to last token: CDF",
    ]
    with pytest.raises(ValueError, match="no send time"):
        timeline_fig(result)


class ChromeNotFoundError(RuntimeError):
    """What kaleido 1.x raises when it finds no Chrome or Chromium to drive."""


class NoBrowserFigure:
    def write_image(self, *args: Any, **kwargs: Any) -> None:
        raise ChromeNotFoundError("no chrome")


def test_png_without_a_browser_says_how_to_get_one(tmp_path: Any) -> None:
    from llmeter_trio.plotting._files import save_figures

    with pytest.raises(ImportError, match=r"needs Chrome or Chromium .* apt-get install chromium"):
        save_figures({"chart": NoBrowserFigure()}, tmp_path, "png")
