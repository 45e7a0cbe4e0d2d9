"""The sweep finds a known knee against an endpoint of fixed capacity, in virtual time."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import trio
import trio.testing

from llmeter_trio import FakeEndpoint
from llmeter_trio.experiments._sweep import Sweep, SweepResult


def endpoint() -> FakeEndpoint:
    """Serves 2 requests at a time, 0.25 s each: a capacity of 8 req/s."""
    return FakeEndpoint(
        time_to_first_token=0.125, inter_token_latency=0.125, output_tokens=2, max_concurrency=2
    )


class TestKnee:
    async def test_rate_sweep_finds_capacity(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Capacity is 8 req/s: constant rates up to 8 meet the SLO, anything above queues."""
        sweep = Sweep(
            endpoint(), {"prompt": "x"}, slos=["ttft_p99<=200ms"], start=1, growth=2,
            max_load=64, refine_steps=3, requests_per_step=80, schedule="constant",
            output_path=str(tmp_path), test_name="knee",
        )  # fmt: skip
        result = await sweep.run()
        assert result.knee == 8
        assert [s.load for s in result.steps] == [1, 2, 4, 8, 16, 12, 10, 9]
        assert [s.passed for s in result.steps] == [True] * 4 + [False] * 4
        loaded = SweepResult.load(str(tmp_path / "knee"))
        assert loaded.knee == 8
        assert [s.result.stats["total_requests"] for s in loaded.steps] == [80] * 8
        assert "knee: 8 req/s" in loaded.summary()

    async def test_concurrency_sweep(self, autojump_clock: trio.testing.MockClock) -> None:
        """With 2 slots, 2 closed-loop clients never wait; 3 or more do."""
        sweep = Sweep(
            endpoint(), {"prompt": "x"}, slos=["ttft_p99<=200ms"], mode="concurrency",
            start=1, max_load=16, requests_per_step=24,
        )  # fmt: skip
        result = await sweep.run()
        assert result.knee == 2
        assert [s.load for s in result.steps] == [1, 2, 4, 3]

    async def test_baseline_missing_the_slo_means_no_knee(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """If even the first load misses the SLOs, there is no knee and no more steps."""
        sweep = Sweep(endpoint(), {"prompt": "x"}, slos=["ttft_p50<=1ms"], requests_per_step=5)
        result = await sweep.run()
        assert result.knee is None
        assert len(result.steps) == 1

    async def test_every_step_passing_finds_no_knee(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Up to max_load every step met the SLOs: the summary says there is no knee up to
        there (it used to call max_load the knee), and none is saved."""
        sweep = Sweep(
            endpoint(), {"prompt": "x"}, slos=["ttft_p99<=200ms"], start=1, max_load=4,
            requests_per_step=8, schedule="constant", output_path=str(tmp_path), test_name="calm",
        )  # fmt: skip
        result = await sweep.run()
        assert [s.passed for s in result.steps] == [True, True, True]
        assert result.knee is None
        assert result.highest_met == 4
        summary = result.summary()
        assert "no knee up to 4 req/s: every step met the SLOs" in summary
        assert "knee: 4" not in summary
        assert SweepResult.load(str(tmp_path / "calm")).knee is None

    def test_bad_settings_are_refused(self) -> None:
        """Loads and counts go through the one number check: NaN, infinity, zero refused."""
        for settings, message in [
            ({"start": math.nan}, "start must be a finite number"),
            ({"max_load": math.inf}, "max_load must be a finite number"),
            ({"growth": 1}, "growth must be greater than 1"),
            ({"start": 8, "max_load": 4}, "max_load must be at least 8"),
            ({"requests_per_step": 0}, "requests_per_step must be at least 1"),
            ({"mode": "concurrency", "max_load": 10**6}, "max_load must be at most 100000"),
        ]:
            with pytest.raises(ValueError, match=message):
                Sweep(endpoint(), {"prompt": "x"}, slos=["e2e<=1s"], **settings)

    def test_plot_marks_thresholds_and_knee(self, tmp_path: Path) -> None:
        """The chart has latency series, the SLO line and the knee line, and saves."""
        pytest.importorskip("plotly")
        sweep_result = trio.run(
            Sweep(endpoint(), {"prompt": "x"}, slos=["ttft_p99<=200ms"], max_load=16,
                  requests_per_step=40, schedule="constant").run,
            clock=trio.testing.MockClock(autojump_threshold=0),
        )  # fmt: skip
        figures = sweep_result.plot(output_path=str(tmp_path), format="html")
        figure = figures["latency_vs_load"]
        assert {t.name for t in figure.data} >= {"TTFT p50", "TTFT p99"}
        shapes = figure.layout.shapes
        assert any(s.y0 == pytest.approx(0.2) for s in shapes)
        assert any(s.x0 == 8 for s in shapes)
        assert list(tmp_path.glob("*.html"))

    def test_needs_an_slo_and_one_bound(self) -> None:
        """A sweep without SLOs, or with both bounds, is refused."""
        with pytest.raises(ValueError, match="at least one SLO"):
            Sweep(endpoint(), {"prompt": "x"}, slos=[])
        with pytest.raises(ValueError, match="one of them"):
            Sweep(endpoint(), {"prompt": "x"}, slos=["e2e<=1s"], duration_per_step=5)
