"""LatencyHeatmap: every combination exactly, exact cell latencies, storage, charts; and the
engine's ``payload_order="once"`` and per-record payload index that it rests on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import fsspec
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from llmeter_trio import FakeEndpoint, Result, Runner
from llmeter_trio.experiments._heatmap import HEATMAP_FILE, LatencyHeatmap, LatencyHeatmapResult
from llmeter_trio.prompts import SAMPLE_TEXT_FILE
from llmeter_trio.schedules import ConstantRate

from ._support.browser import require_browser
from ._support.virtual import run_virtual
from .strategies import seeds

TTFT_PER_WORD = 1 / 256  # exact binary fractions keep MockClock sums exact
ITL = 1 / 1024


def prefill_payload(prompt: str, max_tokens: int, **kwargs: Any) -> dict[str, Any]:
    """A FakeEndpoint payload whose time to first token grows with the prompt, like prefill."""
    ttft = len(prompt.split()) * TTFT_PER_WORD
    return {"prompt": prompt, "max_tokens": max_tokens, "fake": {"time_to_first_token": ttft}}


def endpoint() -> FakeEndpoint:
    """Streams up to `max_tokens` tokens, one every ITL seconds."""
    return FakeEndpoint(output_tokens=100_000, inter_token_latency=ITL)


def expected_ttlt(input_length: int, output_length: int) -> float:
    return input_length * TTFT_PER_WORD + (output_length - 1) * ITL


class TestCoverage:
    @settings(max_examples=30)
    @given(
        st.lists(st.integers(1, 60), min_size=1, max_size=3, unique=True),
        st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True),
        st.integers(1, 3),
        st.integers(1, 7),
        seeds,
    )
    def test_every_combination_gets_exactly_its_requests(
        self, inputs: list[int], outputs: list[int], repeats: int, clients: int, seed: int
    ) -> None:
        """Each (input, output) cell is sent exactly `requests_per_combination` times, whatever
        the number of clients (LLMeter sends ``cells // clients`` per client and drops the rest)."""
        heatmap = LatencyHeatmap(
            endpoint(), SAMPLE_TEXT_FILE, clients, None, inputs, outputs, repeats,
            create_payload_fn=prefill_payload, seed=seed,
        )  # fmt: skip
        result = run_virtual(heatmap.run)
        cells = {(i, o): repeats for i in inputs for o in outputs}
        assert result.result.total_requests == sum(cells.values())
        assert Counter(r.payload_index for r in result.result.responses) == {
            index: 1 for index in range(len(heatmap.payload))
        }
        by_cell = result.responses_by_combination()
        assert {cell: len(records) for cell, records in by_cell.items()} == cells
        for (input_length, output_length), records in by_cell.items():
            for record in records:
                assert record.num_tokens_input == input_length  # FakeEndpoint counts words
                assert record.num_tokens_output == output_length

    def test_cell_latencies_are_exact(self) -> None:
        """TTFT grows with the prompt, TTLT with both lengths, exactly as the endpoint was told."""
        inputs, outputs = [10, 50, 200], [16, 64, 256]
        heatmap = LatencyHeatmap(
            endpoint(), SAMPLE_TEXT_FILE, clients=4, input_lengths=inputs, output_lengths=outputs,
            requests_per_combination=3, create_payload_fn=prefill_payload, seed=3,
        )  # fmt: skip
        result = run_virtual(heatmap.run)
        assert result.matrix("time_to_first_token") == [
            [i * TTFT_PER_WORD] * len(outputs) for i in inputs
        ]
        assert result.matrix("time_to_last_token", "max") == [
            [expected_ttlt(i, o) for o in outputs] for i in inputs
        ]
        stats = result.stats_by_combination()[(50, 64)]
        assert stats["total_requests"] == 3 and stats["failed_requests"] == 0

    def test_default_payloads_use_the_endpoint(self) -> None:
        """Without create_payload_fn the endpoint's create_payload builds each payload."""
        heatmap = LatencyHeatmap(
            endpoint(), SAMPLE_TEXT_FILE, input_lengths=[3], output_lengths=[5, 7],
            create_payload_kwargs={"temperature": 0}, seed=1,
        )  # fmt: skip
        assert sorted(p["max_tokens"] for p in heatmap.payload) == [5, 7]
        assert all(len(p["prompt"].split()) == 3 and p["temperature"] == 0 for p in heatmap.payload)
        result = run_virtual(heatmap.run)
        assert result.matrix("num_tokens_output") == [[5, 7]]

    def test_same_seed_same_payloads(self) -> None:
        a = LatencyHeatmap(endpoint(), SAMPLE_TEXT_FILE, input_lengths=[5, 9], seed=8)
        b = LatencyHeatmap(endpoint(), SAMPLE_TEXT_FILE, input_lengths=[5, 9], seed=8)
        assert a.payload == b.payload
        assert LatencyHeatmap(endpoint(), SAMPLE_TEXT_FILE).seed is not None

    def test_bad_settings_are_refused(self) -> None:
        with pytest.raises(ValueError, match="clients must be at least 1"):
            LatencyHeatmap(endpoint(), SAMPLE_TEXT_FILE, clients=0)
        with pytest.raises(TypeError, match="create_payload_fn returned a list"):
            LatencyHeatmap(endpoint(), SAMPLE_TEXT_FILE, create_payload_fn=lambda p, **k: [p])
        with pytest.raises(ValueError, match="input_lengths must hold whole numbers"):
            LatencyHeatmap(endpoint(), SAMPLE_TEXT_FILE, input_lengths=[-1])


class TestStorage:
    def heatmap(self, **kwargs: Any) -> LatencyHeatmap:
        return LatencyHeatmap(
            endpoint(), SAMPLE_TEXT_FILE, clients=3, input_lengths=[8, 32],
            output_lengths=[4, 16], requests_per_combination=2,
            create_payload_fn=prefill_payload, seed=5, **kwargs,
        )  # fmt: skip

    def test_saved_under_output_path_and_loaded_back(self) -> None:
        """The run folder holds the run and heatmap.json; both load back the same cells."""
        result = run_virtual(self.heatmap(output_path="memory://heatmaps", run_name="first").run)
        assert result.output_path == "memory://heatmaps/first"
        fs = fsspec.filesystem("memory")
        assert fs.exists(f"/heatmaps/first/{HEATMAP_FILE}")
        loaded = LatencyHeatmapResult.load("memory://heatmaps/first")
        assert loaded.matrix() == result.matrix()
        assert loaded.combinations == result.combinations and loaded.seed == 5
        summary = LatencyHeatmapResult.load("memory://heatmaps/first", load_responses=False)
        assert summary.result.responses == []
        assert summary.stats_by_combination() == result.stats_by_combination()
        assert Result.load("memory://heatmaps/first").total_requests == 8  # a plain run, too

    def test_run_argument_overrides_and_save_copies(self, tmp_path: Path) -> None:
        result = run_virtual(self.heatmap(run_name="here").run, output_path=str(tmp_path))
        assert (tmp_path / "here" / HEATMAP_FILE).exists()
        result.save("memory://heatmap-copy")
        assert LatencyHeatmapResult.load("memory://heatmap-copy").matrix() == result.matrix()

    def test_a_stopped_run_still_loads_as_a_heatmap(self, tmp_path: Path) -> None:
        """heatmap.json is written when the run starts: a run cut short loads with what it got."""

        async def cut_short() -> None:
            with trio.move_on_after(0.2):
                await self.heatmap(output_path=str(tmp_path), run_name="cut").run()

        run_virtual(cut_short)
        loaded = LatencyHeatmapResult.load(tmp_path / "cut")
        assert loaded.result.interrupted
        assert 0 < loaded.result.total_requests <= 8
        assert sum(len(r) for r in loaded.responses_by_combination().values()) == (
            loaded.result.total_requests
        )
        partial = LatencyHeatmapResult.load(tmp_path / "cut", load_responses=False)
        assert partial.stats_by_combination() == loaded.stats_by_combination()

    def test_a_plain_run_folder_is_not_a_heatmap(self, tmp_path: Path) -> None:
        async def plain() -> Result:
            runner = Runner(FakeEndpoint(), output_path=str(tmp_path))
            return await runner.run(payload={"prompt": "x"}, run_name="plain")

        run_virtual(plain)
        with pytest.raises(FileNotFoundError, match=r"holds no heatmap\.json.*Result\.load"):
            LatencyHeatmapResult.load(tmp_path / "plain")


class TestCharts:
    def test_figures_hold_the_matrix_and_are_written(self, tmp_path: Path) -> None:
        """Two figures (TTFT, TTLT p50) over input x output; saved as HTML."""
        heatmap = LatencyHeatmap(
            endpoint(), SAMPLE_TEXT_FILE, input_lengths=[10, 40], output_lengths=[8, 32],
            create_payload_fn=prefill_payload, seed=2,
        )  # fmt: skip
        with pytest.raises(ValueError, match=r"^No results to plot yet: await heatmap\.run\(\)"):
            heatmap.plot_heatmaps()
        result = run_virtual(heatmap.run)
        ttft, ttlt = result.plot_heatmaps(output_path="memory://heatmap-charts")
        assert [list(row) for row in ttft.data[0].z] == result.matrix("time_to_first_token")
        assert [list(row) for row in ttlt.data[0].z] == [
            [expected_ttlt(i, o) for o in (8, 32)] for i in (10, 40)
        ]
        assert list(ttlt.data[0].x) == ["8", "32"] and list(ttlt.data[0].y) == ["10", "40"]
        fs = fsspec.filesystem("memory")
        html = fs.cat("/heatmap-charts/time_to_last_token_heatmap.html")
        assert html.startswith(b"<html>") and b"Time to last token" in html
        with pytest.raises(ValueError, match="format must be 'html' or 'png'"):
            result.plot_heatmaps(format="svg")  # type: ignore[arg-type]

    @pytest.mark.realtime  # kaleido starts a browser in a subprocess
    def test_written_as_png(self, tmp_path: Path) -> None:
        require_browser()
        heatmap = LatencyHeatmap(
            endpoint(), SAMPLE_TEXT_FILE, input_lengths=[10, 40], output_lengths=[8, 32],
            create_payload_fn=prefill_payload, seed=2,
        )  # fmt: skip
        result = run_virtual(heatmap.run)
        result.plot_heatmaps(output_path=tmp_path, format="png")
        for name in ("time_to_first_token_heatmap", "time_to_last_token_heatmap"):
            assert (tmp_path / f"{name}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


class TestLLMeterShape:
    def test_the_run_reads_as_its_result(self) -> None:
        """run() returns the heatmap, which reads as its Result (LLMeter returns the Result)."""
        heatmap = LatencyHeatmap(
            endpoint(), SAMPLE_TEXT_FILE, input_lengths=[10, 40], output_lengths=[8, 32],
            create_payload_fn=prefill_payload, seed=2,
        )  # fmt: skip
        result = run_virtual(heatmap.run)
        assert result.total_requests == 4 and result.clients == 4
        assert result.stats == result.result.stats
        assert result.get_dimension("num_tokens_input") == [
            r.num_tokens_input for r in result.result.responses
        ]
        with pytest.raises(AttributeError, match="no_such_field"):
            result.no_such_field  # noqa: B018

    def test_plot_heatmaps_draws_llmeters_binned_charts(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """heatmap.plot_heatmaps(n_bins_x, n_bins_y, show): LLMeter's charts, by measured tokens,
        drawn by the plot_heatmap found on llmeter_trio.experiments; shown by default."""
        import plotly.graph_objects as go

        from llmeter_trio import experiments

        heatmap = LatencyHeatmap(
            endpoint(), SAMPLE_TEXT_FILE, input_lengths=[10, 40], output_lengths=[8, 32],
            create_payload_fn=prefill_payload, seed=2,
        )  # fmt: skip
        result = run_virtual(heatmap.run)
        calls: list[tuple[Any, ...]] = []
        real = experiments.plot_heatmap

        def recording(*args: Any, **kwargs: Any) -> Any:
            calls.append((*args, kwargs))
            return real(*args, **kwargs)

        monkeypatch.setattr(experiments, "plot_heatmap", recording)
        shown: list[Any] = []
        monkeypatch.setattr(go.Figure, "show", lambda self: shown.append(self))
        ttft, ttlt = heatmap.plot_heatmaps(2, 3, output_path="memory://binned")
        assert shown == [ttft, ttlt]
        options = {"n_bins_x": 2, "n_bins_y": 3, "show_scatter": True}
        assert calls == [
            (result, "time_to_first_token", options),
            (result, "time_to_last_token", options),
        ]
        (cells,) = [t for t in ttlt.data if isinstance(t, go.Histogram2d)]
        assert sorted(cells.z) == sorted(result.get_dimension("time_to_last_token"))
        assert sorted(cells.x) == sorted(result.get_dimension("num_tokens_input"))
        assert (cells.nbinsx, cells.nbinsy, cells.histfunc) == (2, 3, "avg")
        fs = fsspec.filesystem("memory")
        assert sorted(fs.ls("/binned", detail=False)) == [
            "/binned/time_to_first_token_heatmap.html",
            "/binned/time_to_last_token_heatmap.html",
        ]


class TestPayloadOrderOnce:
    """The engine feature the heatmap rests on: each payload once, and records that say which."""

    async def test_each_payload_exactly_once(self, autojump_clock: trio.testing.MockClock) -> None:
        """23 payloads over 4 clients: 23 requests, one per payload, sent in list order."""
        payloads = [
            {"prompt": f"p{i}", "fake": {"time_to_first_token": (i % 5 + 1) / 64}}
            for i in range(23)
        ]
        result = await Runner(FakeEndpoint()).run(payload=payloads, clients=4, payload_order="once")
        assert result.total_requests == 23
        assert sorted(r.payload_index for r in result.responses) == list(range(23))
        assert all(r.input_payload["prompt"] == f"p{r.payload_index}" for r in result.responses)
        first = [r.payload_index for r in result.responses if r.send_time == 0]
        assert sorted(first) == [0, 1, 2, 3]  # the clients took the first four, in some order
        assert result.run_config is not None and result.run_config.payload_order == "once"

    async def test_payload_index_in_shuffled_runs_and_storage(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Every record names the payload it sent, and keeps it through storage."""
        payloads = [{"prompt": f"p{i}"} for i in range(5)]
        runner = Runner(FakeEndpoint(), output_path=str(tmp_path))
        await runner.run(payload=payloads, clients=3, n_requests=4, run_name="shuffled")
        loaded = Result.load(tmp_path / "shuffled")
        assert len(loaded.responses) == 12
        for record in loaded.responses:
            assert record.input_payload is not None
            assert record.input_payload["prompt"] == f"p{record.payload_index}"
        assert loaded.run_config is not None and loaded.run_config.payload_order == "shuffle"

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"n_requests": 2}, "leave n_requests and schedule unset"),
            ({"schedule": ConstantRate(rate=10)}, "leave n_requests and schedule unset"),
            ({"payload_order": "twice"}, "payload_order must be 'shuffle' or 'once'"),
        ],
    )
    async def test_conflicting_settings(self, options: dict[str, Any], message: str) -> None:
        settings = {"payload_order": "once", **options}
        with pytest.raises(ValueError, match=message):
            await Runner(FakeEndpoint()).run(payload={"prompt": "x"}, **settings)

    async def test_run_duration_still_bounds_it(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A time bound stops a once-through run early; nothing is sent twice."""
        payloads = [{"prompt": str(i), "fake": {"time_to_first_token": 1.0}} for i in range(10)]
        result = await Runner(FakeEndpoint(output_tokens=1)).run(
            payload=payloads, clients=2, payload_order="once", run_duration=2.5
        )
        indices = [r.payload_index for r in result.responses]
        assert sorted(indices) == list(range(6)) and len(set(indices)) == len(indices)


@pytest.mark.realtime
def test_under_asyncio_the_run_reads_as_its_result() -> None:
    """Awaited from asyncio (a notebook), run() gives the Result-like heatmap to plot."""
    import asyncio

    fast = FakeEndpoint(time_to_first_token=0.001, inter_token_latency=0.0001, output_tokens=99)
    heatmap = LatencyHeatmap(
        fast, SAMPLE_TEXT_FILE, input_lengths=[5], output_lengths=[2, 4], seed=1
    )
    result = asyncio.run(heatmap.run())
    assert result.total_requests == 2 and result.stats["failed_requests"] == 0
    ttft, _ = heatmap.plot_heatmaps(show=False)
    assert ttft.data
