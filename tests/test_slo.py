"""SLOs, attainment and goodput; recomputed from saved results."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from llmeter_trio import FakeEndpoint, Result, Runner
from llmeter_trio.cli import main
from llmeter_trio.endpoints import ErrorClass, InvocationResponse
from llmeter_trio.schedules import ConstantRate
from llmeter_trio.slo import SLO, parse_slo, parse_slos
from llmeter_trio.stats import RunStats


class TestParsing:
    @pytest.mark.parametrize(
        ("text", "metric", "threshold", "percentile"),
        [
            ("ttft_p99<=500ms", "time_to_first_token", 0.5, 0.99),
            ("tpot_p50<=50ms", "time_per_output_token", 0.05, 0.5),
            ("e2e<=10s", "time_to_last_token", 10.0, None),
            ("ttft_p99.9 <= 250us", "time_to_first_token", 0.00025, 0.999),
            ("e2e_intended_p90<=2", "time_to_last_token_from_intended", 2.0, 0.9),
            ("LAG_P99<=25ms", "schedule_lag", 0.025, 0.99),
        ],
    )
    def test_written_forms(
        self, text: str, metric: str, threshold: float, percentile: float | None
    ) -> None:
        """Metric aliases, optional percentile, units."""
        slo = parse_slo(text)
        assert (slo.metric, slo.percentile) == (metric, percentile)
        assert slo.threshold == pytest.approx(threshold)

    @pytest.mark.parametrize(
        ("text", "message"),
        [("ttft<500ms", "expected METRIC"), ("speed_p99<=1s", "unknown metric 'speed'"),
         ("ttft_p150<=1s", "between 0 and 100")],
    )  # fmt: skip
    def test_bad_forms_are_explained(self, text: str, message: str) -> None:
        """A malformed SLO says what form was expected."""
        with pytest.raises(ValueError, match=message):
            parse_slo(text)

    def test_comma_separated(self) -> None:
        """Several SLOs may come in one string."""
        assert [s.metric for s in parse_slos(["ttft_p99<=1s,e2e<=2s", "tpot_p50<=10ms"])] == [
            "time_to_first_token", "time_to_last_token", "time_per_output_token"
        ]  # fmt: skip


def record(
    ttft: float, e2e: float, tokens: int = 10, lag: float = 0.0, failed: bool = False
) -> InvocationResponse:
    response = InvocationResponse(
        time_to_first_token=ttft, time_to_last_token=e2e, num_tokens_output=tokens,
        send_time=1.0 + lag, intended_send_time=1.0,
    )  # fmt: skip
    if failed:
        response.error, response.error_class = "boom", ErrorClass.SERVER
    return response


class TestGoodput:
    def test_goodput_counts_requests_meeting_every_slo(self) -> None:
        """Goodput is requests (and tokens) per second meeting all SLOs; failures never do."""
        records = [
            record(0.1, 1.0),
            record(0.1, 3.0),
            record(0.6, 1.0),
            record(0.1, 1.0, failed=True),
            record(0.2, 1.5, tokens=20),
        ]
        stats = RunStats.of(records, parse_slos(["ttft_p50<=500ms", "e2e<=2s"])).to_dict(10.0)
        assert stats["slo_attainment"] == 2 / 5
        assert stats["goodput_requests_per_second"] == 0.2
        assert stats["goodput_output_tokens_per_second"] == 3.0
        ttft, e2e = stats["slos"]
        assert ttft["met"] and ttft["observed"] == pytest.approx(0.15)
        assert not e2e["met"] and e2e["observed"] == pytest.approx(3 / 5)
        assert stats["slos_met"] is False

    def test_from_intended_includes_the_lag(self) -> None:
        """An SLO from the intended time counts the wait before sending."""
        slo = SLO(text="x", metric="time_to_last_token_from_intended", threshold=1.0)
        assert slo.met_by(record(0.1, 0.9, lag=0.05))
        assert not slo.met_by(record(0.1, 0.9, lag=0.2))


class TestAnalyze:
    async def test_reanalyzed_without_a_rerun(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Loading with other SLOs recomputes goodput from the saved records."""
        slow = {"prompt": "slow", "fake": {"time_to_first_token": 1.0}}
        runner = Runner(FakeEndpoint(time_to_first_token=0.25), output_path=str(tmp_path), seed=1)
        result = await runner.run(
            payload=[{"prompt": "x"}] * 3 + [slow], schedule=ConstantRate(rate=4), n_requests=40,
            run_name="a", slos=["ttft_p50<=500ms"],
        )  # fmt: skip
        assert result.stats["slos_met"] is True
        strict = Result.load(str(tmp_path / "a"), load_responses=False, slos=["ttft<=500ms"])
        assert strict.responses == []
        assert strict.stats["slos_met"] is False
        assert strict.stats["slo_attainment"] == pytest.approx(0.75)
        again = Result.load(str(tmp_path / "a"), load_responses=False)
        assert again.stats["slos_met"] is True

    def test_cli_analyze(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`analyze RESULT --slo ...` prints the verdicts; exit 1 when one is missed."""
        folder = str(tmp_path / "run")
        assert main(["run", "--endpoint", "fake", "--prompt", "x", "--n-requests", "4",
                     "--option", "time_to_first_token=0.01", "--output", folder]) == 0  # fmt: skip
        assert main(["analyze", folder, "--slo", "ttft_p99<=1s"]) == 0
        assert main(["analyze", folder, "--slo", "ttft_p99<=1ms"]) == 1
        out = capsys.readouterr().out
        assert "ttft_p99<=1ms" in out and "NO" in out
