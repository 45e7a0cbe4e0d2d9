"""The cost model: dimensions, prices as data, each record's cost saved, statistics, the cap."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmeter_trio import FakeEndpoint, InvocationResponse, Result, Runner
from llmeter_trio.callbacks import CostModel
from llmeter_trio.callbacks.cost import (
    CachedInputTokens,
    CacheWriteTokens,
    CalculatedCostWithDimensions,
    EndpointTime,
    InputTokens,
    InstanceHours,
    OutputTokens,
    ReasoningTokens,
    UncachedInputTokens,
    load_prices,
    preset_names,
)
from llmeter_trio.callbacks.cost.prices import PRICE_KEYS

from ._support.virtual import run_virtual

PRICES = {"input": 3.0, "output": 15.0}


def record(**fields: Any) -> InvocationResponse:
    return InvocationResponse(response_text="hi", **fields)


def fake(output_tokens: int = 10) -> FakeEndpoint:
    return FakeEndpoint(
        time_to_first_token=0.1, inter_token_latency=0.01, output_tokens=output_tokens
    )


class TestDimensions:
    async def test_cached_input_is_a_partition_of_the_prompt(self) -> None:
        """Uncached + cache reads + cache writes price every input token exactly once."""
        r = record(
            num_tokens_input=1000, num_tokens_input_cached=600, num_tokens_input_cache_write=100
        )
        assert await UncachedInputTokens(3.0).calculate(r) == pytest.approx(300 * 3.0 / 1e6)
        assert await CachedInputTokens(0.3).calculate(r) == pytest.approx(600 * 0.3 / 1e6)
        assert await CacheWriteTokens(3.75).calculate(r) == pytest.approx(100 * 3.75 / 1e6)
        assert await InputTokens(3.0).calculate(r) == pytest.approx(1000 * 3.0 / 1e6)

    async def test_no_cache_reported_costs_nothing_but_unknown_input_is_unknown(self) -> None:
        """A record without cache counts has no cache cost; one without input counts, none."""
        assert await CachedInputTokens(1.0).calculate(record(num_tokens_input=5)) == 0
        assert await CachedInputTokens(1.0).calculate(record()) is None
        assert await UncachedInputTokens(1.0).calculate(record()) is None

    async def test_reasoning_tokens_priced_on_top_of_output(self) -> None:
        r = record(num_tokens_output=100, num_tokens_output_reasoning=40)
        assert await OutputTokens(10.0).calculate(r) == pytest.approx(100 * 10 / 1e6)
        assert await ReasoningTokens(5.0).calculate(r) == pytest.approx(40 * 5 / 1e6)
        assert await ReasoningTokens(5.0).calculate(record(num_tokens_output=3)) == 0

    async def test_granularity_rounds_up_to_whole_increments(self) -> None:
        r = record(num_tokens_input=1001)
        assert await InputTokens(1e6, granularity=1000).calculate(r) == 2000

    async def test_instance_hours_count_instances(self) -> None:
        result = Result(total_test_time=1800.0)
        assert await InstanceHours(2.0, instances=3).calculate(result) == pytest.approx(3.0)
        assert await EndpointTime(2.0).calculate(result) == pytest.approx(1.0)

    def test_negative_price_is_refused(self) -> None:
        with pytest.raises(ValueError, match="price_per_million"):
            InputTokens(-1.0)


class TestResults:
    def test_total_adds_known_parts(self) -> None:
        """An unknown part does not hide the known ones; nothing known is None."""
        assert CalculatedCostWithDimensions(a=1.0, b=None).total == 1.0
        assert CalculatedCostWithDimensions(a=None).total is None
        assert (CalculatedCostWithDimensions(a=None) + {"a": 2.0})["a"] == 2.0

    def test_saved_on_a_record_in_its_annotations(self) -> None:
        r = record()
        CalculatedCostWithDimensions(InputTokens=1.5).save_on_namespace(r, key_prefix="cost_")
        assert r.annotations == {"cost_InputTokens": 1.5, "cost_total": 1.5}
        loaded = CalculatedCostWithDimensions.load_from_namespace(r, key_prefix="cost_")
        assert loaded == {"InputTokens": 1.5}


class TestPrices:
    def test_every_preset_is_dated_with_its_source(self) -> None:
        names = preset_names()
        assert "openai/gpt-4o-mini" in names and "anthropic/claude-sonnet-4" in names
        for name in names:
            table = load_prices(name)
            assert table["as_of"] and table["source"].startswith("https://")
            CostModel.from_prices(name)  # every preset builds a model

    async def test_cached_prices_split_the_input(self) -> None:
        model = CostModel.from_prices({"input": 3, "cached_input": 0.3, "output": 15})
        r = record(num_tokens_input=1000, num_tokens_input_cached=600, num_tokens_output=10)
        cost = await model.calculate_request_cost(r)
        assert cost.total == pytest.approx((400 * 3 + 600 * 0.3 + 10 * 15) / 1e6)

    @pytest.mark.parametrize("suffix", [".json", ".toml"])
    def test_file_tables(self, tmp_path: Path, suffix: str) -> None:
        path = tmp_path / f"prices{suffix}"
        text = json.dumps(PRICES) if suffix == ".json" else "input = 3.0\noutput = 15.0\n"
        path.write_text(text)
        model = CostModel.from_prices(str(path), max_cost=2)
        assert set(model.request_dims) == {"InputTokens", "OutputTokens"}
        assert model.max_cost == 2

    def test_saved_model_round_trips(self, tmp_path: Path) -> None:
        model = CostModel.from_prices({**PRICES, "instance_hour": 1.2, "instances": 2}, max_cost=5)
        path = tmp_path / "model.json"
        model.save_to_file(str(path))
        again = CostModel.from_prices(str(path))
        assert again.to_dict() == model.to_dict()
        assert CostModel.from_file(str(path)).to_dict() == model.to_dict()

    @pytest.mark.parametrize(
        ("prices", "message"),
        [
            ({"inputs": 1}, "unknown price 'inputs'"),
            ({"input": -1}, "price 'input' must be at least 0"),
            ({}, "no price given"),
            ("openai/no-such-model", "unknown price preset"),
            ({"instances": 2, "input": 1}, "'instances' needs"),
        ],
    )
    def test_bad_prices_say_what_is_wrong(self, prices: Any, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            CostModel.from_prices(prices)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError, match="price file"):
            CostModel.from_prices(str(tmp_path / "nope.toml"))

    def test_every_price_key_is_documented(self) -> None:
        from llmeter_trio.callbacks.cost import prices

        assert prices.__doc__ is not None
        assert all(f"``{key}``" in prices.__doc__ for key in PRICE_KEYS)


def saved_records(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "responses.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def linear(values: list[float], q: float) -> float:
    """The linear-interpolation percentile, written out (the brute-force side)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class TestRun:
    @pytest.mark.parametrize("low_memory", [False, True])
    async def test_each_record_carries_its_cost_saved_and_reloaded(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock, low_memory: bool
    ) -> None:
        runner = Runner(fake(), output_path=str(tmp_path))
        result = await runner.run(
            payload={"prompt": "one two three"}, clients=2, n_requests=3, run_name="r",
            low_memory=low_memory, callbacks=[CostModel.from_prices(PRICES)],
        )  # fmt: skip
        expected = (3 * 3.0 + 10 * 15.0) / 1e6
        for line in saved_records(tmp_path / "r"):
            assert line["annotations"]["cost_total"] == pytest.approx(expected)
        again = Result.load(tmp_path / "r")
        for response in again.load_responses():
            assert response.annotations["cost_OutputTokens"] == pytest.approx(10 * 15 / 1e6)
        assert again.stats["cost_total"] == pytest.approx(6 * expected)
        assert result.stats["cost_total"] == pytest.approx(6 * expected)
        assert again.stats["cost_per_1000_requests"] == pytest.approx(1000 * expected)

    async def test_run_dimensions_are_priced_at_the_end(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        model = CostModel.from_prices({"endpoint_hour": 3600.0})  # 1 per second
        result = await Runner(fake(), output_path=str(tmp_path)).run(
            payload={"prompt": "x"}, n_requests=2, callbacks=[model]
        )
        assert result.total_test_time is not None
        assert result.stats["cost_EndpointTime"] == math.ceil(result.total_test_time)
        assert "cost_per_request-p50" not in result.stats  # no request dimension

    @settings(
        max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        sizes=st.lists(
            st.tuples(st.integers(1, 40), st.integers(0, 60), st.booleans()),
            min_size=1,
            max_size=12,
        ),
        input_price=st.floats(0, 100),
        output_price=st.floats(0, 100),
        low_memory=st.booleans(),
    )
    def test_statistics_equal_brute_force_over_saved_records(
        self,
        sizes: list[tuple[int, int, bool]],
        input_price: float,
        output_price: float,
        low_memory: bool,
    ) -> None:
        """Total, per-request mean and percentiles, per million output tokens: recomputed by
        hand from responses.jsonl's token counts, and equal to the saved statistics."""
        payloads = [
            {"prompt": " ".join(["w"] * words), "fake": {"output_tokens": out}}
            if ok
            else {"prompt": "x", "fake": {"error": "server", "status_code": 500}}
            for words, out, ok in sizes
        ]
        model = CostModel.from_prices({"input": input_price, "output": output_price})
        with tempfile.TemporaryDirectory() as folder:
            runner = Runner(fake(), output_path=folder)
            run_virtual(
                runner.run, payload=payloads, clients=2, run_name="r",
                payload_order="once", low_memory=low_memory, callbacks=[model],
            )  # fmt: skip
            records = saved_records(Path(folder) / "r")
            stats = Result.load(Path(folder) / "r", load_responses=False).stats
        costs = [
            r["num_tokens_input"] * input_price / 1e6 + r["num_tokens_output"] * output_price / 1e6
            for r in records
            if r["num_tokens_input"] is not None
        ]
        output_tokens = sum(r["num_tokens_output"] or 0 for r in records)
        assert len(records) == len(payloads)
        assert stats["cost_total"] == pytest.approx(sum(costs), rel=1e-9, abs=1e-15)
        if costs:
            assert stats["cost_per_request-average"] == pytest.approx(
                sum(costs) / len(costs), rel=1e-9, abs=1e-15
            )
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
                assert stats[f"cost_per_request-{name}"] == pytest.approx(
                    linear(costs, q), rel=1e-9, abs=1e-15
                )
        if output_tokens:
            assert stats["cost_per_million_output_tokens"] == pytest.approx(
                sum(costs) * 1e6 / output_tokens, rel=1e-9, abs=1e-12
            )
        else:
            assert "cost_per_million_output_tokens" not in stats


class TestMaxCost:
    @pytest.mark.parametrize("clients", [1, 4])
    async def test_stops_within_one_request_of_the_cap(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock, clients: int
    ) -> None:
        """At the stop, the requests counted cost at least max_cost and less than max_cost plus
        the request that crossed it; the records after it are those in flight then (at most
        one per client, plus records queued for the writer: 2 * clients - 1 in all)."""
        model = CostModel.from_prices({"output": 1000.0}, max_cost=0.1)  # 0.01 a request
        payloads = [{"prompt": "x", "fake": {"output_tokens": n}} for n in (7, 13, 10, 4, 16)]
        result = await Runner(fake(), output_path=str(tmp_path)).run(
            payload=payloads, clients=clients, n_requests=1000, run_name="r", callbacks=[model]
        )
        assert result.stop_reason is not None and "max_cost" in result.stop_reason
        assert not result.interrupted
        records = saved_records(tmp_path / "r")
        assert all(r["error"] is None for r in records)  # nothing was cut short
        costs = [r["annotations"]["cost_total"] for r in records]
        running, crossing = 0.0, None
        for index, cost in enumerate(costs):  # saved in the order the model counted them
            running += cost
            if running >= 0.1:
                crossing = index
                break
        assert crossing is not None
        spent = result.stats["cost_when_stopped"]
        assert spent == pytest.approx(running)
        assert 0.1 <= spent < 0.1 + costs[crossing]
        assert len(costs) - crossing - 1 <= 2 * clients - 1
        again = Result.load(tmp_path / "r")
        assert again.stop_reason == result.stop_reason
        assert again.stats["cost_total"] == pytest.approx(sum(costs))
        assert again.stats["cost_when_stopped"] == pytest.approx(spent)

    async def test_no_stop_below_the_cap(self, autojump_clock: trio.testing.MockClock) -> None:
        model = CostModel.from_prices({"output": 1.0}, max_cost=1.0)
        result = await Runner(fake()).run(payload={"prompt": "x"}, n_requests=5, callbacks=[model])
        assert result.stop_reason is None and result.total_requests == 5
        assert "cost_when_stopped" not in result.stats

    def test_bad_max_cost(self) -> None:
        with pytest.raises(ValueError, match="max_cost"):
            CostModel(max_cost=0)


class TestLoadTestChart:
    async def test_cost_per_1000_requests_against_clients(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A priced load test gets a seventh chart whose points are each level's statistic;
        with instance-hours, more clients make each request cheaper."""
        from llmeter_trio.experiments import LoadTest

        model = CostModel.from_prices({"output": 10.0, "instance_hour": 36.0})
        test = LoadTest(
            endpoint=fake(), payload={"prompt": "x"}, sequence_of_clients=[1, 4],
            min_requests_per_client=2, min_requests_per_run=8, callbacks=[model],
        )  # fmt: skip
        result = await test.run()
        figures = result.plot_results(show=False)
        assert "cost_per_1000_requests" in figures
        (trace,) = figures["cost_per_1000_requests"].data
        expected = [result.results[c].stats["cost_per_1000_requests"] for c in (1, 4)]
        assert list(trace.x) == [1, 4] and list(trace.y) == pytest.approx(expected)
        assert expected[1] < expected[0]

    def test_unpriced_load_test_keeps_six_charts(self) -> None:
        from llmeter_trio.experiments import LoadTestResult
        from llmeter_trio.plotting import plot_load_test_results

        level = Result(responses=[record(time_to_first_token=0.1, time_to_last_token=0.2)])
        figures = plot_load_test_results(LoadTestResult(results={1: level}, test_name="t"))
        assert "cost_per_1000_requests" not in figures and len(figures) == 6


FAST = ["run", "--endpoint", "fake", "--prompt", "one two", "--option", "time_to_first_token=0.001",
        "--option", "inter_token_latency=0", "--option", "output_tokens=10"]  # fmt: skip


class TestCli:
    @pytest.mark.realtime
    def test_prices_and_max_cost(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--price-input/--price-output price each record; --max-cost stops the run, saved."""
        from llmeter_trio.cli import main

        folder = tmp_path / "r"
        args = [*FAST, "--price-input", "1000", "--price-output", "100", "--max-cost", "0.01",
                "--n-requests", "100", "--output", str(folder)]  # fmt: skip
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "stopped: max_cost reached" in out and "cost " in out
        result = Result.load(folder)
        assert result.stop_reason is not None and "max_cost" in result.stop_reason
        per_request = (2 * 1000 + 10 * 100) / 1e6
        assert result.total_requests < 100
        assert result.stats["cost_total"] == pytest.approx(result.total_requests * per_request)

    @pytest.mark.realtime
    def test_preset_with_an_override(self, tmp_path: Path) -> None:
        from llmeter_trio.cli import main

        folder = tmp_path / "r"
        args = [*FAST, "--prices", "openai/gpt-4o-mini", "--price-output", "1", "--n-requests",
                "2", "--output", str(folder)]  # fmt: skip
        assert main(args) == 0
        stats = Result.load(folder).stats
        assert stats["cost_total"] == pytest.approx(2 * (2 * 0.15 + 10 * 1) / 1e6)

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (["--max-cost", "1"], "--max-cost needs prices"),
            (["--prices", "nobody/nothing"], "unknown price preset"),
            (["--price-input", "-1"], "--price-input must be at least 0"),
            (["--price-input", "1", "--max-cost", "0"], "--max-cost must be greater than 0"),
            (["--prices", "missing.json"], "price file missing.json does not exist"),
        ],
    )
    def test_bad_cost_options_are_one_line_and_exit_2(
        self, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
    ) -> None:
        from llmeter_trio.cli import main

        assert main([*FAST, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]


class TestCallbackConfig:
    def test_registered_as_the_cost_callback(self) -> None:
        """``{"callback_type": "cost", ...}`` (and ``--callback cost:{...}``) builds a model."""
        from llmeter_trio.plugins import callback_from_config

        model = callback_from_config({"callback_type": "cost", "prices": PRICES, "max_cost": 2})
        assert isinstance(model, CostModel) and model.max_cost == 2
        saved = CostModel.from_prices(PRICES).to_dict()
        again = callback_from_config({**saved, "callback_type": "cost"})
        assert again.to_dict() == saved

    def test_needs_prices(self) -> None:
        from llmeter_trio.plugins import callback_from_config

        with pytest.raises(ValueError, match="give its prices"):
            callback_from_config({"callback_type": "cost"})

    async def test_an_interrupted_run_is_priced_too(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A run cut short by its deadline still adds up what its records cost."""
        model = CostModel.from_prices({"output": 1e6})  # 1 per token
        result = await Runner(fake(), output_path=str(tmp_path)).run(
            payload={"prompt": "x"}, clients=2, run_duration=0.5, run_name="r", callbacks=[model]
        )
        tokens = sum(r.num_tokens_output or 0 for r in Result.load(tmp_path / "r").responses)
        assert result.stats["cost_total"] == pytest.approx(tokens)
