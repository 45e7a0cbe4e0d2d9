"""The seed's examples (LLMeter's experiments page), run as written against the simulated server.

Only the sizes are scaled down (shorter durations, fewer clients) so the suite
stays fast; the calls, arguments and the way results are read are the seed's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.experiments import LatencyHeatmap, LatencyHeatmapResult, LoadTest, LoadTestResult
from llmeter_trio.prompts import SAMPLE_TEXT_FILE
from llmeter_trio.sim import SimConfig, simulated_server

TIME_LIMIT = 60
SIM = SimConfig(ttft_base=0.01, itl=0.001, output_tokens=8)


@pytest.fixture
async def my_endpoint() -> AsyncIterator[OpenAIChatEndpoint]:
    """An OpenAI-compatible endpoint served by the simulated server on 127.0.0.1."""
    async with simulated_server(SIM) as base_url:
        yield OpenAIChatEndpoint(base_url=base_url, model_id="sim-model", api_key="sim")


@pytest.fixture
def sample_payload() -> dict[str, object]:
    return OpenAIChatEndpoint.create_payload("Tell me about load testing", max_tokens=8)


class TestLoadTestExamples:
    async def test_count_bound(
        self,
        my_endpoint: OpenAIChatEndpoint,
        sample_payload: dict[str, object],
        tmp_path: Path,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """Count-bound: 10 requests per client at each concurrency level; loads back whole."""
        with trio.fail_after(TIME_LIMIT):
            load_test = LoadTest(
                endpoint=my_endpoint,
                payload=sample_payload,
                sequence_of_clients=[1, 5, 10],
                min_requests_per_client=10,
                output_path=str(tmp_path / "outputs/load_test"),
            )
            result = await load_test.run()
        assert sorted(result.results) == [1, 5, 10]
        assert [result.results[c].total_requests for c in (1, 5, 10)] == [10, 50, 100]
        assert all(r.stats["failed_requests"] == 0 for r in result.results.values())
        loaded = LoadTestResult.load(result.output_path)
        assert {c: r.stats["total_requests"] for c, r in loaded.results.items()} == {
            1: 10, 5: 50, 10: 100
        }  # fmt: skip
        figures = result.plot_results(show=False)
        assert len(figures) >= 6

    async def test_time_bound_and_low_memory(
        self,
        my_endpoint: OpenAIChatEndpoint,
        sample_payload: dict[str, object],
        tmp_path: Path,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """Time-bound, low-memory, read with ``result.results[5].stats[...]`` as the seed does."""
        with trio.fail_after(TIME_LIMIT):
            load_test = LoadTest(
                endpoint=my_endpoint,
                payload=sample_payload,
                sequence_of_clients=[1, 5],
                run_duration=0.5,
                low_memory=True,
                output_path=str(tmp_path / "outputs/large_load_test"),
            )
            result = await load_test.run(output_path=str(tmp_path / "outputs/my_test"))
        assert result.results[5].stats["requests_per_minute"] > 0
        assert result.results[5].responses == []  # low memory: records on disk only
        assert result.output_path is not None
        assert result.output_path.startswith(str(tmp_path / "outputs/my_test"))
        loaded = LoadTestResult.load(result.output_path, load_responses=False)
        assert loaded.results[5].stats["total_requests"] == result.results[5].total_requests


class TestLatencyHeatmapExample:
    async def test_every_combination_measured_and_loaded(
        self, my_endpoint: OpenAIChatEndpoint, tmp_path: Path
    ) -> None:
        """Each (input, output) length pair gets its requests; the heatmap loads back and plots."""
        with trio.fail_after(TIME_LIMIT):
            heatmap = LatencyHeatmap(
                endpoint=my_endpoint,
                source_file=SAMPLE_TEXT_FILE,
                clients=4,
                output_path=str(tmp_path / "heatmap"),
                input_lengths=[10, 50],
                output_lengths=[4, 8],
                requests_per_combination=2,
            )
            result = await heatmap.run()
        cells = result.responses_by_combination()
        assert sorted(cells) == [(10, 4), (10, 8), (50, 4), (50, 8)]
        assert all(len(records) == 2 for records in cells.values())
        # the server reports usage: input counts are exact words, outputs what was asked
        for (input_length, output_length), records in cells.items():
            for record in records:
                assert record.num_tokens_output == output_length
                assert (
                    record.num_tokens_input is not None and record.num_tokens_input >= input_length
                )
        assert result.result.output_path is not None
        loaded = LatencyHeatmapResult.load(result.result.output_path)
        assert loaded.matrix("time_to_last_token") == result.matrix("time_to_last_token")
        ttft_figure, ttlt_figure = loaded.plot_heatmaps()
        assert ttft_figure.data and ttlt_figure.data
