"""llmeter_trio.plotting: LLMeter's chart helpers and heatmap bins, over this project's results."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import fsspec
import plotly.graph_objects as go
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import InvocationResponse, Result
from llmeter_trio.experiments import LoadTestResult
from llmeter_trio.plotting import (
    boxplot_by_dimension,
    color_sequences,
    histogram_by_dimension,
    plot_heatmap,
    plot_load_test_results,
    scatter_histogram_2d,
)
from llmeter_trio.plotting._files import save_figures
from llmeter_trio.plotting._plotly import MissingPlotly
from llmeter_trio.plotting.heatmap import Heatmap, Interval, initialize_map
from llmeter_trio.plotting.plotting import latency_clients, stat_clients


def record(
    tokens_in: int, tokens_out: int, ttft: float, error: str | None = None
) -> InvocationResponse:
    """A record as an endpoint reports it; a failed one has no latency."""
    return InvocationResponse(
        num_tokens_input=tokens_in,
        num_tokens_output=tokens_out,
        time_to_first_token=None if error else ttft,
        time_to_last_token=None if error else ttft * 2,
        error=error,
    )


def run(clients: int = 2, scale: float = 1.0) -> Result:
    responses = [
        record(10, 100, 0.25 * scale),
        record(20, 100, 0.5 * scale),
        record(40, 300, 1.0 * scale),
        record(40, 300, 0.0, error="server error"),
    ]
    return Result(
        responses=responses, total_requests=4, clients=clients, run_name=f"{clients}-clients",
        total_test_time=60.0,
    )  # fmt: skip


def load_test() -> LoadTestResult:
    return LoadTestResult(results={4: run(4, 2.0), 1: run(1)}, test_name="lt")


class TestOneRun:
    def test_plot_heatmap_averages_the_measured_records(self) -> None:
        """Failed records (no latency) are left out; show_scatter adds a mark per record."""
        figure = plot_heatmap(run(), "time_to_first_token", 2, 3, show_scatter=True)
        (cells,) = [t for t in figure.data if isinstance(t, go.Histogram2d)]
        assert list(cells.x) == [10, 20, 40] and list(cells.y) == [100, 100, 300]
        assert list(cells.z) == [0.25, 0.5, 1.0]
        assert (cells.histfunc, cells.nbinsx, cells.nbinsy) == ("avg", 2, 3)
        (marks,) = [t for t in figure.data if isinstance(t, go.Scatter)]
        assert list(marks.x) == [10, 20, 40]
        assert len([t for t in figure.data if isinstance(t, go.Histogram)]) == 2  # marginals
        plain = plot_heatmap(run(), "time_to_last_token", None, None)
        assert not [t for t in plain.data if isinstance(t, go.Scatter)]

    def test_unknown_dimensions_are_value_errors(self) -> None:
        with pytest.raises(ValueError, match="Dimension nope not found in result"):
            plot_heatmap(run(), "nope", 2, 2)
        with pytest.raises(ValueError, match="Invalid dimension: nope or num_tokens_output"):
            scatter_histogram_2d(run(), "nope", "num_tokens_output", 2, 2)

    def test_scatter_histogram_2d(self) -> None:
        figure = scatter_histogram_2d(run(), "num_tokens_input", "time_to_first_token", 5, 6)
        (points,) = [t for t in figure.data if isinstance(t, go.Scatter)]
        assert list(points.x) == [10, 20, 40] and list(points.y) == [0.25, 0.5, 1.0]
        across, up = (t for t in figure.data if isinstance(t, go.Histogram))
        assert (across.nbinsx, up.nbinsy) == (5, 6)
        assert figure.layout.xaxis3.range == (0, pytest.approx(44.0))

    def test_histogram_and_box_traces(self) -> None:
        result = run()
        histogram = histogram_by_dimension(result, "num_tokens_output")
        assert (histogram.name, histogram.histnorm) == ("2-clients", "probability")
        assert list(histogram.x) == [100, 100, 300, 300]
        only_failed = histogram_by_dimension(
            result, "num_tokens_input", "error", "server error", name="failed", histnorm="percent"
        )
        assert (only_failed.name, only_failed.histnorm, list(only_failed.x)) == (
            "failed", "percent", [40]
        )  # fmt: skip
        box = boxplot_by_dimension(result, "time_to_first_token", boxmean=True)
        assert (box.name, box.boxmean, list(box.x)) == ("2-clients", True, [0.25, 0.5, 1.0, None])
        assert boxplot_by_dimension(result, "time_to_first_token", name="b").name == "b"

    def test_color_sequences_are_plotlys(self) -> None:
        assert color_sequences.Viridis[0].startswith("#")


class TestLoadTest:
    def test_six_charts_log_scale_by_default(self) -> None:
        figures = plot_load_test_results(load_test())
        assert list(figures) == [
            "time_to_first_token", "time_to_last_token", "requests_per_minute", "error_rate",
            "average_input_tokens_clients", "average_output_tokens_clients",
        ]  # fmt: skip
        assert all(f.layout.xaxis.type == "log" for f in figures.values())
        assert figures["error_rate"].layout.yaxis.type is None  # a rate stays linear
        linear = plot_load_test_results(load_test(), log_scale=False)
        assert all(f.layout.xaxis.type is None for f in linear.values())

    def test_latencies_by_clients_successful_only(self) -> None:
        (box,) = plot_load_test_results(load_test())["time_to_first_token"].data
        assert list(zip(box.x, box.y, strict=True)) == [
            (1, 0.25), (1, 0.5), (1, 1.0), (4, 0.5), (4, 1.0), (4, 2.0)
        ]  # fmt: skip
        assert box.name == "lt"
        violin = latency_clients(load_test(), "time_to_last_token", distribution="violin")
        assert isinstance(violin, go.Violin) and violin.name == "Time to last token"

    def test_stats_by_clients_in_order(self) -> None:
        test = load_test()
        trace = stat_clients(test, "failed_requests_rate", mode="markers")
        assert list(trace.x) == [1, 4] and list(trace.y) == [0.25, 0.25]
        assert (trace.mode, trace.name) == ("markers", "lt")  # keyword arguments win

    def test_no_data_and_bad_dimensions(self) -> None:
        with pytest.raises(ValueError, match="No valid data points found"):
            latency_clients(LoadTestResult(results={}, test_name="empty"), "time_to_first_token")
        with pytest.raises(ValueError, match="Invalid dimension: nope"):
            latency_clients(load_test(), "nope")  # type: ignore[arg-type]


class TestHeatmapBins:
    def test_interval_ends_follow_closed(self) -> None:
        assert [str(Interval(1, 5, c)) for c in ("both", "right", "left", "neither")] == [
            "[1, 5]", "(1, 5]", "[1, 5)", "(1, 5)"
        ]  # fmt: skip
        assert (1 in Interval(1, 5, "both"), 5 in Interval(1, 5, "both")) == (True, True)
        assert (1 in Interval(1, 5, "right"), 5 in Interval(1, 5, "left")) == (False, False)
        assert Interval(1, 5).mid == 3.0 and Interval(1, 2) < Interval(2, 3)

    def test_initialize_map(self) -> None:
        assert initialize_map(3, 2) == [[None, None, None], [None, None, None]]

    def test_get_map_by_output_rows_and_input_columns(self) -> None:
        heatmap = Heatmap(result=run(), n_bins_input_tokens=2, n_bins_output_tokens=2)
        assert heatmap.bin_boundaries_input == [Interval(10, 25, "left"), Interval(25, 41, "left")]
        assert heatmap.bin_boundaries_output == [
            Interval(100, 200, "left"), Interval(200, 301, "left")
        ]  # fmt: skip
        low_in, high_in = heatmap.bin_boundaries_input
        low_out, high_out = heatmap.bin_boundaries_output
        assert heatmap.get_map("counts") == {high_out: {high_in: 2}, low_out: {low_in: 2}}
        assert heatmap.get_map("error_rate") == {high_out: {high_in: 0.5}, low_out: {low_in: 0}}
        p50 = heatmap.get_map("time_to_first_token", "p50")
        assert p50 == {high_out: {high_in: 1.0}, low_out: {low_in: 0.375}}
        assert list(p50) == [high_out, low_out]  # the top row of a chart first
        every = heatmap.get_map("time_to_first_token")
        assert every[low_out][low_in]["average"] == 0.375
        with pytest.raises(AttributeError, match="nope"):
            heatmap.get_map("nope")

    def test_needs_records(self) -> None:
        with pytest.raises(ValueError, match="Either responses or result must be provided"):
            Heatmap()
        with pytest.raises(ValueError, match="no record has both"):
            Heatmap(responses=[InvocationResponse(error="x")])

    @given(
        st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 5000)), min_size=1, max_size=40),
        st.integers(1, 12),
        st.integers(1, 12),
    )
    def test_every_record_in_exactly_one_bin(
        self, counts: list[tuple[int, int]], n_in: int, n_out: int
    ) -> None:
        responses = [record(i, o, 0.1) for i, o in counts]
        heatmap = Heatmap(responses=responses, n_bins_input_tokens=n_in, n_bins_output_tokens=n_out)
        for bins, values in (
            (heatmap.bin_boundaries_input, [i for i, _ in counts]),
            (heatmap.bin_boundaries_output, [o for _, o in counts]),
        ):
            for value in values:
                assert sum(value in interval for interval in bins) == 1
        total = sum(sum(row.values()) for row in heatmap.get_map("counts").values())
        assert total == len(counts)


class TestWithoutPlotly:
    def test_a_stand_in_says_what_to_install(self) -> None:
        missing: Any = MissingPlotly(ImportError("No module named 'plotly'"))
        with pytest.raises(ImportError, match=r"pip install 'llmeter-trio\[plotting\]'"):
            missing.Figure()
        with pytest.raises(ImportError, match="plotting"):
            missing()

    @pytest.mark.realtime
    def test_modules_import_and_charts_say_what_to_install(self) -> None:
        """With plotly absent, the modules import; a chart is one clear ImportError."""
        script = textwrap.dedent(
            """
            import sys
            sys.modules["plotly"] = None  # as if not installed
            from llmeter_trio import InvocationResponse, Result
            from llmeter_trio.experiments import LoadTestResult
            from llmeter_trio.plotting import plot_heatmap
            from llmeter_trio.plotting.heatmap import Heatmap
            try:
                timed = InvocationResponse(time_to_first_token=0.1, time_to_last_token=0.2)
                level = Result(responses=[timed], total_requests=1)
                LoadTestResult(results={1: level}, test_name="t").plot_results(show=False)
            except ImportError as error:
                print(error)
            """
        )
        shown = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
        )
        assert shown.stdout.strip() == "charts need plotly: pip install 'llmeter-trio[plotting]'"


class TestChartFiles:
    class Recording:
        """Stands in for a plotly figure: records what it was asked to write."""

        def __init__(self) -> None:
            self.calls: list[tuple[str, Any, dict[str, Any]]] = []

        def write_html(self, target: Any, **options: Any) -> None:
            self.calls.append(("html", target, options))
            if not isinstance(target, Path):
                target.write("<html></html>")

        def write_image(self, target: Any, **options: Any) -> None:
            self.calls.append(("image", target, options))
            if not isinstance(target, Path):
                target.write(b"\x89PNG")

    def test_local_folders_get_paths_other_urls_files(self, tmp_path: Path) -> None:
        """plotly writes a local chart at its path (as in LLMeter); elsewhere into an fsspec
        file that appears whole. The format's case does not matter."""
        figure = self.Recording()
        save_figures({"error_rate": figure}, tmp_path / "charts", "PNG")  # type: ignore[arg-type]
        assert figure.calls == [("image", tmp_path / "charts" / "error_rate.png", {})]
        url = f"memory://charts-{uuid.uuid4().hex}"
        save_figures({"error_rate": figure, "requests_per_minute": figure}, url, "html")
        fs = fsspec.filesystem("memory")
        assert fs.cat(f"{url}/requests_per_minute.html") == b"<html></html>"
        with pytest.raises(ValueError, match="format must be 'html' or 'png', not 'svg'"):
            save_figures({}, url, "svg")  # type: ignore[arg-type]

    class JavascriptError(RuntimeError):
        """Named as kaleido 1.x's error for a failed call into its page's script."""

    class LoadsLate(Recording):
        """kaleido's page has not loaded its script for the first `misses` calls."""

        def __init__(self, misses: int, error: str = "kaleido_scopes is not defined") -> None:
            super().__init__()
            self.misses, self.error = misses, error

        def write_image(self, target: Any, **options: Any) -> None:
            if self.misses:
                self.misses -= 1
                self.calls.append(("failed", target, options))
                raise TestChartFiles.JavascriptError(f"ReferenceError: {self.error}")
            super().write_image(target, **options)

    def test_a_page_that_had_not_loaded_is_tried_again(self, tmp_path: Path) -> None:
        """kaleido can call its page's script before the page loaded it (a busy machine):
        the PNG is asked for again, up to 3 times in all; any other error is raised at once."""
        figure = self.LoadsLate(misses=2)
        save_figures({"ttft": figure}, tmp_path, "png")
        assert [kind for kind, _, _ in figure.calls] == ["failed", "failed", "image"]
        never = self.LoadsLate(misses=3)
        with pytest.raises(self.JavascriptError, match="kaleido_scopes"):
            save_figures({"ttft": never}, tmp_path, "png")
        assert len(never.calls) == 3
        other = self.LoadsLate(misses=1, error="Plotly is not defined")
        with pytest.raises(self.JavascriptError, match="Plotly"):
            save_figures({"ttft": other}, tmp_path, "png")
        assert len(other.calls) == 1
