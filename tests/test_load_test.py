"""LoadTest and LoadTestResult: request sizing, the folder layout, loading back, and charts."""

from __future__ import annotations

import collections
import io
import math
import re
import shutil
import threading
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs
import fsspec
import outcome
import plotly.graph_objects as go
import pytest
import trio
import trio.lowlevel
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import Callback, ErrorClass, FakeEndpoint, InvocationResponse, Result
from llmeter_trio.experiments import LoadTest, LoadTestResult

from ._support.browser import require_browser
from ._support.virtual import run_virtual

T = TypeVar("T")
RUN_FILES = {"run_config.json", "responses.jsonl", "summary.json", "stats.json"}
CHARTS = {
    "time_to_first_token",
    "time_to_last_token",
    "requests_per_minute",
    "error_rate",
    "average_input_tokens_clients",
    "average_output_tokens_clients",
}


def fake(ttft: float = 0.25, tokens: int = 5) -> FakeEndpoint:
    """Each request takes ttft + (tokens - 1) / 16 seconds."""
    return FakeEndpoint(time_to_first_token=ttft, inter_token_latency=1 / 16, output_tokens=tokens)


def quiet(**kwargs: Any) -> LoadTest:
    """A LoadTest against `fake()` without the progress line."""
    options: dict[str, Any] = {
        "endpoint": fake(),
        "payload": {"prompt": "one two three"},
        "sequence_of_clients": [1, 2],
        "progress_bar_stats": {},
        "seed": 3,
    }
    options.update(kwargs)
    return LoadTest(**options)


def llmeter_rule(clients: int, per_client: int, per_run: int) -> int:
    """LLMeter's `LoadTest._get_n_requests`, as written there."""
    if clients * per_client < per_run:
        return math.ceil(per_run / clients)
    return int(per_client)


def finishes_within(seconds: float, main: Callable[[], Awaitable[T]]) -> T:
    """Run `main` in virtual time in a worker thread: a stuck run fails the test, not hangs it."""
    done: list[outcome.Outcome[T]] = []

    def target() -> None:
        clock = trio.testing.MockClock(autojump_threshold=0)
        done.append(outcome.capture(trio.run, main, clock=clock))

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s: a run is stuck"
    return done[0].unwrap()


def listing(folder: Path) -> list[str]:
    """The names in a folder, sorted (sync: async tests must not touch pathlib)."""
    return sorted(p.name for p in folder.iterdir())


def memory_url() -> str:
    return f"memory://load-tests/{uuid.uuid4().hex}"


class TestRequestSizing:
    @given(
        clients=st.integers(1, 500),
        per_client=st.integers(1, 50),
        per_run=st.integers(0, 2000),
    )
    def test_each_level_meets_both_minimums_and_no_more(
        self, clients: int, per_client: int, per_run: int
    ) -> None:
        """At least min_requests_per_run in all, min_requests_per_client each, no more (LLMeter)."""
        load_test = quiet(
            sequence_of_clients=[clients],
            min_requests_per_client=per_client,
            min_requests_per_run=per_run,
        )
        n = load_test.n_requests(clients)
        assert n is not None
        assert n >= per_client
        assert n * clients >= per_run
        assert n == per_client or (n - 1) * clients < per_run  # one fewer would fall short
        assert n == llmeter_rule(clients, per_client, per_run)

    @given(
        levels=st.lists(st.integers(1, 6), min_size=1, max_size=3, unique=True),
        per_client=st.integers(1, 3),
        per_run=st.integers(0, 12),
    )
    def test_runs_send_what_the_sizing_says(
        self, levels: list[int], per_client: int, per_run: int
    ) -> None:
        """Every level of a real run sends n requests per client, so both minimums hold."""
        load_test = quiet(
            sequence_of_clients=levels,
            min_requests_per_client=per_client,
            min_requests_per_run=per_run,
        )
        result = run_virtual(load_test.run)
        assert list(result.results) == levels
        for clients, level in result.results.items():
            n = load_test.n_requests(clients)
            assert n is not None
            assert level.clients == clients
            assert level.total_requests == len(level.responses) == n * clients
            assert level.total_requests >= per_run
            per_client_counts = [
                sum(1 for r in level.responses if r.client == c) for c in range(clients)
            ]
            assert per_client_counts == [n] * clients
            assert level.stats["failed_requests"] == 0

    def test_time_bound_levels_have_no_count(self) -> None:
        assert quiet(run_duration=5).n_requests(4) is None


class TestLayoutAndRoundTrip:
    async def test_levels_nest_under_the_test_folder_and_load_back(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """One NNNNN-clients folder per level (LLMeter mixes them into one); loads back equal."""
        load_test = quiet(sequence_of_clients=[1, 2, 4], min_requests_per_run=8, test_name="layout")
        result = await load_test.run(output_path=tmp_path)

        test_folder = tmp_path / "layout"
        assert result.output_path == str(test_folder)
        assert result.test_name == "layout"
        assert listing(tmp_path) == ["layout"]
        assert listing(test_folder) == [
            "00001-clients",
            "00002-clients",
            "00004-clients",
        ]
        for clients in (1, 2, 4):
            folder = test_folder / f"{clients:05d}-clients"
            assert set(listing(folder)) >= RUN_FILES
            level = result.results[clients]
            assert level.run_name == folder.name
            assert level.output_path == str(folder)
            assert level.total_requests == 8 == len(level.responses)
            assert level.run_config is not None and level.run_config.n_requests == 8 // clients

        loaded = LoadTestResult.load(test_folder)
        assert loaded.test_name == "layout"
        assert loaded.output_path == str(test_folder)
        assert list(loaded.results) == [1, 2, 4]
        for clients, level in loaded.results.items():
            assert level.stats == result.results[clients].stats
            assert [attrs.asdict(r) for r in level.responses] == [
                attrs.asdict(r) for r in result.results[clients].responses
            ]
        summaries = LoadTestResult.load(test_folder, test_name="renamed", load_responses=False)
        assert summaries.test_name == "renamed"
        assert all(r.responses == [] for r in summaries.results.values())
        assert summaries.stats_by_clients() == result.stats_by_clients()

    async def test_any_fsspec_url(self, autojump_clock: trio.testing.MockClock) -> None:
        """memory:// (an object store without appends) holds and loads a load test too."""
        url = memory_url()
        result = await quiet(test_name="mem").run(output_path=url)
        assert result.output_path == f"{url}/mem"
        fs = fsspec.filesystem("memory")
        assert sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{url}/mem", detail=False)) == [
            "00001-clients",
            "00002-clients",
        ]
        loaded = LoadTestResult.load(f"{url}/mem")
        assert loaded.stats_by_clients() == result.stats_by_clients()

    async def test_output_path_defaults_and_overrides(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """run(output_path) wins over the LoadTest's; without either nothing is written."""
        load_test = quiet(output_path=tmp_path / "default", test_name="t")
        await load_test.run(output_path=tmp_path / "override")
        assert (tmp_path / "override" / "t" / "00002-clients" / "summary.json").exists()
        assert not (tmp_path / "default").exists()

        unsaved = await quiet().run()
        assert unsaved.output_path is None
        assert all(r.output_path is None for r in unsaved.results.values())
        assert re.fullmatch(r"\d{8}-\d{6}", unsaved.test_name)

    async def test_an_existing_level_is_refused_before_any_load(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Running the same test again would mix runs: refused before the first request."""
        load_test = quiet(test_name="again", output_path=tmp_path)
        await load_test.run()
        (tmp_path / "again" / "00001-clients").rename(tmp_path / "again" / "kept")
        before = trio.current_time()
        with pytest.raises(FileExistsError, match="00002-clients"):
            await load_test.run()
        assert trio.current_time() == before  # no level ran
        assert not (tmp_path / "again" / "00001-clients").exists()

    async def test_low_memory_keeps_no_records_yet_plots(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """low_memory levels hold no records; stats match, charts stream records from disk."""
        full = await quiet(test_name="full").run(output_path=tmp_path)
        low = await quiet(test_name="low", low_memory=True).run(output_path=tmp_path)
        for clients in (1, 2):
            assert low.results[clients].responses == []
            assert (
                low.results[clients].stats["time_to_last_token-p50"]
                == full.results[clients].stats["time_to_last_token-p50"]
            )
        figures = low.plot_results(show=False)
        (trace,) = figures["time_to_first_token"].data
        assert sorted(collections.Counter(trace.x).items()) == [(1, 10), (2, 10)]

    async def test_callbacks_run_for_every_level(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        @attrs.define
        class Count(Callback):
            runs: int = 0
            records: int = 0

            async def after_invoke(self, response: InvocationResponse) -> None:
                self.records += 1

            async def after_run(self, result: Result, interrupted: bool) -> None:
                self.runs += 1

        counter = Count()
        result = await quiet(sequence_of_clients=[1, 3], callbacks=[counter]).run()
        assert counter.runs == 2
        assert counter.records == sum(r.total_requests for r in result.results.values())

    @pytest.mark.parametrize("when", ["before", "between", "inside"])
    def test_a_stopped_test_keeps_the_levels_done(self, tmp_path: Path, when: str) -> None:
        """Stopped before, between or inside levels, it stops at once; the levels done load
        whole and the one cut short is marked interrupted.

        Callbacks stop it, not a clock deadline: results are saved in a worker thread,
        and MockClock's autojump may pass a deadline while one runs.
        """
        scope = trio.CancelScope()

        @attrs.define
        class Stop(Callback):
            level: int = 0
            records: int = 0

            def before_run(self, run_config: dict[str, Any]) -> None:
                self.level, self.records = run_config["clients"], 0

            def after_invoke(self, response: InvocationResponse) -> None:
                self.records += 1
                if when == "inside" and self.level == 2 and self.records == 3:
                    scope.cancel()

            def after_run(self, result: Result, interrupted: bool) -> None:
                if when == "between" and result.clients == 1:
                    scope.cancel()

        load_test = quiet(
            sequence_of_clients=[1, 2, 4], test_name="cut", output_path=tmp_path, callbacks=[Stop()]
        )

        async def main() -> None:
            with scope:
                if when == "before":
                    scope.cancel()
                await load_test.run()

        finishes_within(20, main)
        loaded = LoadTestResult.load(tmp_path / "cut")
        levels = list(loaded.results)
        assert levels == [1, 2, 4][: len(levels)]
        *done, last = loaded.results.values()
        for level in done:
            assert (level.interrupted, level.total_requests) == (False, 10)
        for level in loaded.results.values():
            assert level.total_requests == len(level.responses)
        if when == "before":
            assert levels == [1] and last.interrupted and last.total_requests == 0
        elif when == "between":
            assert levels in ([1], [1, 2])
            assert last.total_requests == (10 if levels == [1] else 0)
            assert last.interrupted == (levels == [1, 2])
        else:  # stopped at level 2's third record: what was in flight is recorded cancelled
            assert levels == [1, 2] and last.interrupted
            cancelled = [r for r in last.responses if r.error_class is ErrorClass.CANCELLED]
            assert len(cancelled) <= 2  # one per client at most
            assert 3 <= last.total_requests - len(cancelled) < 10


class TestTimeBound:
    async def test_each_level_runs_for_run_duration(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Requests take 0.5 s: in 1 s each client sends 2, whatever the level."""
        load_test = quiet(sequence_of_clients=[1, 3], run_duration=1.0, output_path=tmp_path)
        start = trio.current_time()
        result = await load_test.run()
        assert trio.current_time() - start == pytest.approx(2.0)
        for clients, level in result.results.items():
            assert level.total_requests == 2 * clients
            assert all(r.send_time is not None and r.send_time < 1.0 for r in level.responses)
            assert level.run_config is not None
            assert (level.run_config.run_duration, level.run_config.n_requests) == (1.0, None)
        assert LoadTestResult.load(result.output_path).stats_by_clients() == (
            result.stats_by_clients()
        )

    def test_timedelta_is_seconds(self) -> None:
        assert quiet(run_duration=timedelta(minutes=1)).run_duration == 60.0

    @pytest.mark.parametrize(
        "counts", [{"min_requests_per_client": 5}, {"min_requests_per_run": 3}]
    )
    def test_count_settings_exclude_run_duration(self, counts: dict[str, int]) -> None:
        with pytest.raises(ValueError, match="set one or the other"):
            quiet(run_duration=10, **counts)

    @pytest.mark.parametrize("duration", [0, -1.5])
    def test_run_duration_must_be_positive(self, duration: float) -> None:
        with pytest.raises(ValueError, match="run_duration must be greater than 0"):
            quiet(run_duration=duration)


class TestValidation:
    @pytest.mark.parametrize(
        ("levels", "error", "message"),
        [
            ([], ValueError, "sequence_of_clients is empty"),
            ([1, 0], ValueError, "at least 1"),
            ([2, -3], ValueError, "at least 1"),
            ([1.5], TypeError, "whole number"),
            ([True], TypeError, "whole number"),
            ([1, 4, 1], ValueError, r"repeats \[1\]"),
        ],
    )
    def test_sequence_of_clients(
        self, levels: list[Any], error: type[Exception], message: str
    ) -> None:
        with pytest.raises(error, match=message):
            quiet(sequence_of_clients=levels)

    @pytest.mark.parametrize(
        ("counts", "message"),
        [
            ({"min_requests_per_client": 0}, "min_requests_per_client must be at least 1"),
            ({"min_requests_per_run": -1}, "min_requests_per_run must be at least 0"),
        ],
    )
    def test_request_counts(self, counts: dict[str, int], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            quiet(**counts)

    async def test_low_memory_needs_an_output_path(self) -> None:
        with pytest.raises(ValueError, match="needs an output_path"):
            await quiet(low_memory=True).run()

    def test_positional_order_is_llmeters(self) -> None:
        load_test = LoadTest(fake(), {"prompt": "x"}, [1, 2], 3, 20)
        assert (load_test.min_requests_per_client, load_test.min_requests_per_run) == (3, 20)


class TestProgressLine:
    async def test_labelled_lines_ending_each_level(
        self, capsys: pytest.CaptureFixture[str], autojump_clock: trio.testing.MockClock
    ) -> None:
        """Off a terminal, lines are labelled with their level; each level ends complete."""
        load_test = quiet(sequence_of_clients=[1, 2], progress_bar_stats=None)
        await load_test.run()
        lines = capsys.readouterr().err.splitlines()
        first = [line for line in lines if line.startswith("level 1/2:    1 clients  [")]
        second = [line for line in lines if line.startswith("level 2/2:    2 clients  [")]
        assert len(first) + len(second) == len(lines) and first and second
        assert lines.index(first[-1]) < lines.index(second[0])
        for last in (first[-1], second[-1]):
            assert "[####################]    10/10 req" in last and " 0 in flight" in last

    async def test_llmeters_display_stats_show_the_line(
        self, capsys: pytest.CaptureFixture[str], autojump_clock: trio.testing.MockClock
    ) -> None:
        """LLMeter's progress_bar_stats (a dict of stats to show) is accepted; {} hides the line."""
        shown = quiet(sequence_of_clients=[1], progress_bar_stats={"rpm": "requests_per_minute"})
        assert shown.progress_bar_stats == {"rpm": "requests_per_minute"}
        await shown.run()
        err = capsys.readouterr().err
        assert err.startswith("level 1/1:")
        assert "rpm" in err  # the chosen statistics are drawn under each level's line
        await quiet(sequence_of_clients=[1]).run()
        assert capsys.readouterr().err == ""


class TestLoadErrors:
    @pytest.mark.parametrize("path", [None, ""])
    def test_no_path(self, path: str | None) -> None:
        with pytest.raises(FileNotFoundError, match=r"^Load path cannot be None or empty"):
            LoadTestResult.load(path)

    def test_missing_folder(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError, match=r"^Load path .* does not exist"):
            LoadTestResult.load(tmp_path / "nowhere")
        with pytest.raises(FileNotFoundError, match="does not exist"):
            LoadTestResult.load(memory_url())

    def test_a_folder_without_runs(self, tmp_path: Path) -> None:
        (tmp_path / "charts").mkdir()
        (tmp_path / "charts" / "error_rate.png").write_bytes(b"\x89PNG")
        with pytest.raises(ValueError, match="No results found"):
            LoadTestResult.load(tmp_path)

    def test_a_file(self, tmp_path: Path) -> None:
        (tmp_path / "notes.txt").write_text("hi")
        with pytest.raises(ValueError, match="is a file"):
            LoadTestResult.load(tmp_path / "notes.txt")

    async def test_a_single_run_folder(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """LLMeter's LoadTest writes all levels into one run folder: refused, clearly."""
        result = await quiet(test_name="t").run(output_path=tmp_path)
        with pytest.raises(ValueError, match=r"holds a single run.*Result\.load"):
            LoadTestResult.load(result.results[1].output_path)

    async def test_two_runs_with_the_same_clients(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        await quiet(test_name="t").run(output_path=tmp_path)
        shutil.copytree(tmp_path / "t" / "00002-clients", tmp_path / "t" / "copy")
        with pytest.raises(ValueError, match=r"00002-clients and copy .* both hold a run with 2"):
            LoadTestResult.load(tmp_path / "t")

    async def test_other_subfolders_are_passed_over(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        result = await quiet(test_name="t").run(output_path=tmp_path)
        assert result.output_path is not None
        result.plot_results(show=False, output_path=f"{result.output_path}/charts")
        assert list(LoadTestResult.load(result.output_path).results) == [1, 2]


class TestPlots:
    async def test_every_chart_from_the_results(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Distributions hold each level's successful latencies; rates are the stats."""

        @attrs.define
        class CutShort(FakeEndpoint):
            """Fails some streams after they began: failed records that have timings."""

            async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
                response = await super().invoke(payload)
                if payload.get("cut"):
                    response.error = "the stream broke off"
                return response

        payloads = [
            {"prompt": "a"},
            {"prompt": "b", "fake": {"error": "server", "status_code": 500}},
            {"prompt": "c", "cut": True, "fake": {"time_to_first_token": 2.0}},
        ]
        result = await quiet(
            endpoint=CutShort(
                time_to_first_token=0.25, inter_token_latency=1 / 16, output_tokens=5
            ),
            sequence_of_clients=[1, 2, 4],
            payload=payloads,
            min_requests_per_run=8,
        ).run()
        cut_short = [r for level in result.results.values() for r in level.responses if r.failed]
        assert any(r.time_to_first_token == 2.0 for r in cut_short)
        figures = result.plot_results(show=False)
        assert set(figures) == CHARTS
        assert all(isinstance(f, go.Figure) for f in figures.values())

        for name in ("time_to_first_token", "time_to_last_token"):
            (trace,) = figures[name].data
            assert isinstance(trace, go.Box) and trace.name == result.test_name
            expected = [
                (clients, getattr(r, name))
                for clients, level in result.results.items()
                for r in level.responses
                if not r.failed
            ]
            assert list(zip(trace.x, trace.y, strict=True)) == expected and expected
        for name, key in [
            ("requests_per_minute", "requests_per_minute"),
            ("error_rate", "failed_requests_rate"),
            ("average_input_tokens_clients", "average_input_tokens_per_minute"),
            ("average_output_tokens_clients", "average_output_tokens_per_minute"),
        ]:
            (trace,) = figures[name].data
            assert list(trace.x) == [1, 2, 4]
            assert list(trace.y) == [level.stats[key] for level in result.results.values()]
            assert figures[name].layout.xaxis.type == "log"  # LLMeter's default log_scale
        assert 0 < max(figures["error_rate"].data[0].y) < 1

        violins = result.plot_results(show=False, distribution="violin")
        assert all(isinstance(t, go.Violin) for t in violins["time_to_last_token"].data)

    async def test_writes_html(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        result = await quiet().run()
        result.plot_results(show=False, output_path=tmp_path / "html")
        assert {p.name for p in (tmp_path / "html").iterdir()} == {f"{c}.html" for c in CHARTS}
        for chart in CHARTS:
            html = (tmp_path / "html" / f"{chart}.html").read_text()
            assert "<html>" in html and "Plotly.newPlot" in html

    @pytest.mark.realtime  # kaleido starts a browser in a subprocess
    async def test_writes_png(self, tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
        require_browser()
        result = await quiet().run()
        result.plot_results(show=False, output_path=tmp_path / "png", format="png")
        assert {p.name for p in (tmp_path / "png").iterdir()} == {f"{c}.png" for c in CHARTS}
        for chart in CHARTS:
            assert (tmp_path / "png" / f"{chart}.png").read_bytes().startswith(b"\x89PNG\r\n")

    async def test_writes_to_any_fsspec_url(self, autojump_clock: trio.testing.MockClock) -> None:
        result = await quiet().run()
        url = memory_url()
        result.plot_results(show=False, output_path=url)
        fs = fsspec.filesystem("memory")
        assert len(fs.ls(url, detail=False)) == len(CHARTS)

    async def test_bad_arguments(self, autojump_clock: trio.testing.MockClock) -> None:
        result = await quiet().run()
        with pytest.raises(ValueError, match="format must be 'html' or 'png'"):
            result.plot_results(format="svg")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="distribution must be 'box' or 'violin'"):
            result.plot_results(show=False, distribution="strip")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="No valid data points"):
            LoadTestResult(results={}, test_name="empty").plot_results(show=False)

    async def test_llmeters_defaults_show_and_save_into_the_test_folder(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """plot_results() shows every chart and writes them as HTML into output_path, as LLMeter."""
        shown: list[go.Figure] = []
        monkeypatch.setattr(go.Figure, "show", lambda self: shown.append(self))
        result = await quiet(test_name="t").run(output_path=tmp_path)
        figures = result.plot_results()
        assert shown == list(figures.values())
        written = {p.name for p in (tmp_path / "t").iterdir() if p.is_file()}
        assert written == {f"{name}.html" for name in CHARTS}
        assert list(LoadTestResult.load(tmp_path / "t").results) == [1, 2]  # charts passed over
        colorways = {tuple(f.layout.colorway) for f in figures.values()}
        assert len(colorways) == len(CHARTS)  # each chart in its own colours
        unsaved = await quiet().run()
        unsaved.plot_results(show=False, format="png")  # nowhere to write: nothing written

    async def test_show_opens_each_chart(
        self, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
    ) -> None:
        shown: list[str] = []
        monkeypatch.setattr(go.Figure, "show", lambda self: shown.append(self.layout.title.text))
        figures = (await quiet().run()).plot_results(show=True)
        assert len(shown) == len(figures) == len(CHARTS)


def test_progress_label_is_optional() -> None:
    """The label added to run_with_progress leaves unlabelled lines as they were."""
    from llmeter_trio import LiveProgress
    from llmeter_trio.live import run_with_progress

    async def main(label: str) -> str:
        out = io.StringIO()

        async def nothing() -> None:
            await trio.lowlevel.checkpoint()

        await run_with_progress(nothing, LiveProgress(total_requests=1), stream=out, label=label)
        return out.getvalue()

    assert trio.run(main, "").startswith("[")
    assert trio.run(main, "lvl").startswith("lvl  [")


class TestLLMeterModule:
    async def test_runner_is_looked_up_on_the_experiments_module(
        self, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A Runner patched on llmeter_trio.experiments (as LLMeter users patch theirs) is used;
        a level gets its request count or its duration, never both."""
        from llmeter_trio import experiments
        from llmeter_trio.engine import Runner

        calls: list[dict[str, Any]] = []

        class Recording(Runner):
            async def run(self, **kwargs: Any) -> Result:  # type: ignore[override]
                calls.append(kwargs)
                return await super().run(**kwargs)

        monkeypatch.setattr(experiments, "Runner", Recording)
        await quiet(sequence_of_clients=[1, 2], min_requests_per_run=4).run()
        assert [call["n_requests"] for call in calls] == [4, 2]
        assert all("run_duration" not in call for call in calls)
        calls.clear()
        await quiet(sequence_of_clients=[1], run_duration=1.0).run()
        assert calls[0]["run_duration"] == 1.0 and "n_requests" not in calls[0]
