"""`percentile_method`: LLMeter's percentile rule, chosen per run, at load time and in `analyze`."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest
import trio.testing

from llmeter_trio import FakeEndpoint, Result, Runner
from llmeter_trio.cli import main

from .strategies import fake_spec

FIXTURES = Path(__file__).parent / "fixtures" / "llmeter"
TTFTS = [0.125, 0.25, 0.375, 0.5, 0.625]


def payloads() -> list[dict[str, Any]]:
    """Five payloads whose times to first token are exactly `TTFTS`."""
    return [
        {"prompt": "hi", "fake": fake_spec(ttft=t, itl=1 / 64, tokens=2, per_chunk=1)}
        for t in TTFTS
    ]


async def five_requests(tmp_path: Path, **kwargs: Any) -> Result:
    runner = Runner(FakeEndpoint(), output_path=str(tmp_path), seed=1, **kwargs)
    return await runner.run(payload=payloads(), payload_order="once", run_name="five")


class TestChosenForARun:
    async def test_runner_option_is_used_and_saved(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Runner(percentile_method="llmeter"): LLMeter's p90, saved and loaded back as such."""
        result = await five_requests(tmp_path, percentile_method="llmeter")
        expected = statistics.quantiles(TTFTS, n=10)[8]
        assert result.stats["time_to_first_token-p90"] == expected
        assert result.percentile_method == "llmeter"
        saved = json.loads((tmp_path / "five" / "run_config.json").read_text())
        assert saved["percentile_method"] == "llmeter"
        reloaded = Result.load(tmp_path / "five", load_responses=False)
        assert reloaded.stats["time_to_first_token-p90"] == expected

    async def test_default_is_linear_and_load_can_switch(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A linear run reloaded with percentile_method="llmeter" is recomputed, records or not."""
        result = await five_requests(tmp_path)
        assert result.percentile_method == "linear"
        assert result.stats["time_to_first_token-p90"] == pytest.approx(0.575)
        expected = statistics.quantiles(TTFTS, n=10)[8]
        for load_responses in (True, False):
            switched = Result.load(
                tmp_path / "five", load_responses=load_responses, percentile_method="llmeter"
            )
            assert switched.stats["time_to_first_token-p90"] == expected
            assert switched.percentile_method == "llmeter"
            assert switched.stats["time_to_first_token-average"] == pytest.approx(0.375)

    def test_unknown_method_is_refused_before_a_request(self) -> None:
        """A misspelt method fails when the run is planned, naming the choices."""
        runner = Runner(FakeEndpoint(), percentile_method="nearest")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="linear, llmeter"):
            trio.run(lambda: runner.run(payload={"prompt": "hi"}))
        with pytest.raises(ValueError, match="unknown percentile method"):
            Result.load(FIXTURES / "run", percentile_method="nearest")  # type: ignore[arg-type]

    async def test_zero_length_run_has_zero_requests_per_minute(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A run of no length: 0 requests per minute, as LLMeter says, not None."""
        runner = Runner(FakeEndpoint(time_to_first_token=0, inter_token_latency=0))
        result = await runner.run(payload=[{"prompt": "hi"}], n_requests=1)
        assert result.total_test_time == 0
        assert result.stats["requests_per_minute"] == 0


class TestLLMeterFolders:
    """fixtures/llmeter/run: LLMeter's stats.json was computed by LLMeter's own rule."""

    def test_llmeter_stats_kept_beside_the_recomputed_ones(self) -> None:
        """`llmeter_stats` is stats.json as saved; `stats` are recomputed here."""
        result = Result.load(FIXTURES / "run")
        saved = json.loads((FIXTURES / "run" / "stats.json").read_text())
        assert result.llmeter_stats == saved
        assert result.stats["time_to_first_token-p90"] == pytest.approx(0.9)
        assert saved["time_to_first_token-p90"] == 1.1

    @pytest.mark.parametrize("load_responses", [True, False])
    def test_llmeter_rule_gives_llmeter_numbers(self, load_responses: bool) -> None:
        """With percentile_method="llmeter", the recomputed percentiles are LLMeter's own."""
        result = Result.load(
            FIXTURES / "run", load_responses=load_responses, percentile_method="llmeter"
        )
        saved = result.llmeter_stats
        assert saved is not None
        for metric in ("time_to_first_token", "time_to_last_token"):
            for aggregation in ("p50", "p90", "p99", "average"):
                key = f"{metric}-{aggregation}"
                assert result.stats[key] == pytest.approx(saved[key]), key

    def test_llmeter_trio_folders_have_none(self, tmp_path: Path) -> None:
        """A run saved here has no LLMeter statistics."""
        result = Result(total_requests=0, output_path=str(tmp_path / "r"))
        result.save()
        assert Result.load(tmp_path / "r").llmeter_stats is None


class TestAnalyze:
    def test_flag_and_comparison(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`analyze --percentile-method llmeter` on an LLMeter folder: both sets, each named."""
        assert main(["analyze", str(FIXTURES / "run"), "--percentile-method", "llmeter"]) == 0
        out = capsys.readouterr().out
        assert "LLMeter's saved statistics" in out
        assert "time to first token p90      recomputed     1.1000   LLMeter     1.1000" in out

    def test_default_shows_the_difference(self, capsys: pytest.CaptureFixture[str]) -> None:
        """By default the recomputed p90 is the linear one, LLMeter's beside it."""
        assert main(["analyze", str(FIXTURES / "run")]) == 0
        out = capsys.readouterr().out
        assert "time to first token p90      recomputed     0.9000   LLMeter     1.1000" in out

    def test_bad_method_exits_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A method that does not exist is refused with one line and exit status 2."""
        assert main(["analyze", str(FIXTURES / "run"), "--percentile-method", "nearest"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "invalid choice: 'nearest'" in err[0]
