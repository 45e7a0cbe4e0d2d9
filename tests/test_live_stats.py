"""LLMeter's ``progress_bar_stats``: the statistics a live display shows while a run goes on."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import FakeEndpoint, LiveProgress, Runner
from llmeter_trio.live import format_live_stats, run_with_progress
from llmeter_trio.live_display import (
    DEFAULT_DISPLAY_STATS,
    check_display_stats,
    format_display_stats,
)
from llmeter_trio.stats import RunStats


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def no_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich not installed (no `live` extra): the plain display."""
    monkeypatch.setitem(sys.modules, "rich.console", None)


class TestFormat:
    def test_units_by_statistic(self) -> None:
        """Seconds, rates, per-minute counts and whole counts each get their unit."""
        stats = {
            "time_to_first_token-p50": 0.3125,
            "output_tps": 1234.56,
            "requests_per_minute": 120.0,
            "total_output_tokens": 12345,
            "time_per_output_token-p50": 0.025,
        }
        shown = format_display_stats(stats, DEFAULT_DISPLAY_STATS)
        assert shown == [
            "rpm=120.0/min",
            "output_tps=1,234.6 tok/s",
            "p50_ttft=0.312 s",
            "p90_ttft=-",
            "p50_ttlt=-",
            "p90_ttlt=-",
            "p50_tps=40.0 tok/s",
            "input_tokens=-",
            "output_tokens=12,345",
            "fail=-",
        ]

    def test_reciprocal_of_zero_is_unknown(self) -> None:
        """("key", "inv") of a zero shows as unknown, not a division error."""
        spec = {"tps": ("time_per_output_token-p50", "inv")}
        assert format_display_stats({"time_per_output_token-p50": 0.0}, spec) == ["tps=-"]

    def test_llmeter_default_selection(self) -> None:
        """DEFAULT_DISPLAY_STATS has LLMeter's labels, each naming a statistic."""
        assert list(DEFAULT_DISPLAY_STATS) == [
            "rpm", "output_tps", "p50_ttft", "p90_ttft", "p50_ttlt", "p90_ttlt", "p50_tps",
            "input_tokens", "output_tokens", "fail",
        ]  # fmt: skip
        check_display_stats(DEFAULT_DISPLAY_STATS)

    @pytest.mark.parametrize(
        "spec",
        [["rpm"], {"x": ("time_to_first_token-p50", "log")}, {"x": 3}, {"x": ("a", "inv", 1)}],
    )
    def test_bad_specifications(self, spec: Any) -> None:
        """Anything but labels mapped to names or (name, "inv") is a ValueError."""
        with pytest.raises(ValueError, match="progress_bar_stats"):
            check_display_stats(spec)

    async def test_runner_checks_before_any_request(self, tmp_path: Path) -> None:
        """A bad progress_bar_stats stops Runner.run before it makes a folder or a request."""
        endpoint = FakeEndpoint()
        with pytest.raises(ValueError, match="progress_bar_stats"):
            await Runner(endpoint, output_path=str(tmp_path)).run(
                payload={"prompt": "x"}, run_name="run", progress_bar_stats={"x": ("a", "b")}
            )
        assert not await trio.Path(tmp_path, "run").exists()


class TestLiveStats:
    def test_only_the_shown_statistics_are_summarized(self) -> None:
        """A snapshot summarizes the metrics shown, equal to the full statistics."""
        stats = RunStats()
        progress = LiveProgress(stats=stats, display_stats={"p50": "time_to_first_token-p50"})
        full = stats.to_dict(4.0)
        snapshot = stats.to_dict(4.0, metrics={"time_to_first_token"})
        assert not any(key.startswith("time_to_last_token") for key in snapshot)
        assert {k: v for k, v in full.items() if k in snapshot} == snapshot
        assert format_live_stats(progress, 4.0) == ["  p50=-"]

    def test_no_selection_no_lines(self) -> None:
        """Without progress_bar_stats (or with {}), no statistics lines."""
        assert format_live_stats(LiveProgress(stats=RunStats()), 1.0) == []
        assert format_live_stats(LiveProgress(stats=RunStats(), display_stats={}), 1.0) == []

    def test_lines_wrap_at_the_width(self) -> None:
        """Items go on as few lines as the width allows, never split."""
        progress = LiveProgress(stats=RunStats(), display_stats=DEFAULT_DISPLAY_STATS)
        lines = format_live_stats(progress, 1.0, width=40)
        assert all(len(line) <= 40 for line in lines)
        assert "  ".join(part.strip() for part in lines).split("  ")[0] == "rpm=0.0/min"
        assert len(lines) > 1


async def run_shown(out: io.StringIO, **run_options: Any) -> None:
    """25 one-second requests, one client, through run_with_progress."""
    progress = LiveProgress()
    endpoint = FakeEndpoint(time_to_first_token=1.0, inter_token_latency=0.0, output_tokens=2)

    async def run() -> None:
        await Runner(endpoint).run(
            payload={"prompt": "x"}, clients=1, n_requests=25, progress=progress, **run_options
        )

    await run_with_progress(run, progress, stream=out)


class TestRunWithProgress:
    async def test_statistics_follow_the_progress_line(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Off a terminal, each draw writes the progress line, then the statistics so far."""
        out = io.StringIO()
        shown = {"p50_ttft": "time_to_first_token-p50", "fail": "failed_requests"}
        await run_shown(out, progress_bar_stats=shown)
        lines = out.getvalue().splitlines()
        # every 5 s and at the end: two lines each
        assert [line.split()[-2] for line in lines[0:8:2]] == ["5.0", "10.0", "15.0", "20.0"]
        assert "/25 req" in lines[0] and "/25 req" in lines[2]
        assert set(lines[1::2]) == {"  p50_ttft=1.000 s  fail=0"}
        assert lines[-2].startswith("[####################]    25/25 req")
        assert lines[-1] == "  p50_ttft=1.000 s  fail=0"

    async def test_default_shows_the_progress_line_alone(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Without progress_bar_stats, llmeter-trio's progress line alone, as before."""
        out = io.StringIO()
        await run_shown(out)
        assert all("/25 req" in line for line in out.getvalue().splitlines())

    async def test_runner_default_applies(self, autojump_clock: trio.testing.MockClock) -> None:
        """Runner(progress_bar_stats=...) is the default of each run."""
        progress = LiveProgress()
        runner = Runner(FakeEndpoint(), progress_bar_stats={"fail": "failed_requests"})
        await runner.run(payload={"prompt": "x"}, n_requests=2, progress=progress)
        assert progress.display_stats == {"fail": "failed_requests"}
        assert progress.stats is not None and progress.stats.total_requests == 2

    def test_llmeter_field_order(self) -> None:
        """progress_bar_stats follows low_memory, as in LLMeter's Runner, for positional use."""
        shown = {"fail": "failed_requests"}
        endpoint = FakeEndpoint()
        args = (endpoint, None, None, 2, 3, None, None, "r", None, 60, None, False, shown)
        runner = Runner(*args)
        assert (runner.clients, runner.low_memory, runner.progress_bar_stats) == (2, False, shown)

    @pytest.mark.usefixtures("no_rich")
    async def test_in_place_redraw_goes_back_over_every_line(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """On a terminal, each redraw moves up over the statistics line it drew before."""
        out = Terminal()
        await run_shown(out, progress_bar_stats={"fail": "failed_requests"})
        text = out.getvalue()
        assert text.count("\x1b[1A\r") >= 2  # every redraw but the first
        assert text.endswith("  fail=0\x1b[K\x1b[J\n")

    @pytest.mark.usefixtures("no_rich")
    async def test_error_before_start_clears_what_was_drawn(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A run failing before any request leaves no progress nor statistics behind."""
        out = Terminal()
        progress = LiveProgress(stats=RunStats(), display_stats={"fail": "failed_requests"})

        async def boom() -> None:
            await trio.sleep(1)
            raise LookupError("bad settings")

        with pytest.raises(LookupError):
            await run_with_progress(boom, progress, stream=out)
        assert out.getvalue().endswith("\x1b[1A\r\x1b[J")
