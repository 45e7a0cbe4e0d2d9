"""`llmeter-trio load-test`, `heatmap` and `sweep`, and `analyze`/`export` of their folders."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import ClassVar

import pytest

from llmeter_trio.cli import main
from llmeter_trio.experiments import LatencyHeatmapResult, LoadTestResult, SweepResult

FAST = ["--endpoint", "fake", "--option", "time_to_first_token=0.001",
        "--option", "inter_token_latency=0"]  # fmt: skip


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


class TestLoadTest:
    def test_levels_run_saved_analyzed_and_exported(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        folder = tmp_path / "lt"
        args = ["load-test", *FAST, "--prompt", "hi", "--sequence-of-clients", "1", "2"]
        args += ["--min-requests-per-client", "3", "--min-requests-per-run", "4"]
        assert main([*args, "--seed", "5", "--output", str(folder)]) == 0
        out = capsys.readouterr().out
        assert "== 1 clients" in out and "== 2 clients" in out
        loaded = LoadTestResult.load(str(folder))
        assert loaded.test_name == "lt"
        # LLMeter's rule: max(per client, ceil(per run / clients)) requests a client
        assert {n: r.total_requests for n, r in loaded.results.items()} == {1: 4, 2: 6}
        config = loaded.results[2].run_config
        assert config is not None and config.seed == 5
        assert main(["analyze", str(folder)]) == 0
        assert "== 2 clients" in capsys.readouterr().out
        assert main(["export", str(folder), "--out", str(tmp_path / "lt.csv")]) == 0
        assert [row["clients"] for row in rows(tmp_path / "lt.csv")] == ["1"] * 4 + ["2"] * 6

    def test_options_from_a_config_file(self, tmp_path: Path) -> None:
        """A list in the file for an option that takes several values."""
        config = tmp_path / "lt.toml"
        config.write_text(
            'endpoint = "fake"\nprompt = "hi"\nsequence-of-clients = [1, 3]\n'
            "min-requests-per-run = 3\n[option]\ntime_to_first_token = 0.001\n"
        )
        assert main(["load-test", "--config", str(config), "--output", str(tmp_path / "c")]) == 0
        assert list(LoadTestResult.load(str(tmp_path / "c")).results) == [1, 3]

    def test_bad_levels_are_one_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["load-test", *FAST, "--prompt", "x", "--sequence-of-clients", "0"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("llmeter-trio load-test: error:") and err.count("\n") == 1


class TestSweep:
    def test_concurrency_sweep(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        folder = tmp_path / "sw"
        args = ["sweep", *FAST, "--prompt", "hi", "--slo", "ttft_p99<=30s", "--mode"]
        args += ["concurrency", "--max-load", "4", "--requests-per-step", "4"]
        assert main([*args, "--output", str(folder)]) == 0
        assert "no knee up to 4 clients" in capsys.readouterr().out
        saved = SweepResult.load(str(folder))
        assert [step.load for step in saved.steps] == [1, 2, 4]
        assert main(["analyze", str(folder)]) == 0
        assert "no knee up to 4 clients" in capsys.readouterr().out
        assert main(["export", str(folder), "--format", "jsonl"]) == 0
        lines = (tmp_path / "sw.jsonl").read_text().splitlines()
        assert {json.loads(line)["load"] for line in lines} == {1, 2, 4}

    def test_an_slo_is_needed(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["sweep", *FAST, "--prompt", "hi"]) == 2
        assert "--slo" in capsys.readouterr().err


class TestHeatmap:
    def test_cells_run_saved_analyzed_and_exported(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        source = tmp_path / "source.txt"
        source.write_text(" ".join(f"w{i}" for i in range(500)))
        folder = tmp_path / "hm"
        args = ["heatmap", *FAST, "--source-file", str(source), "--input-lengths", "5", "20"]
        args += ["--output-lengths", "4", "8", "--requests-per-combination", "2", "--clients", "2"]
        assert main([*args, "--seed", "1", "--output", str(folder)]) == 0
        assert "      20 x 8 " in capsys.readouterr().out
        saved = LatencyHeatmapResult.load(str(folder))
        assert saved.result.total_requests == 8 and saved.seed == 1
        assert main(["analyze", str(folder)]) == 0
        assert "      20 x 8 " in capsys.readouterr().out
        assert main(["export", str(folder)]) == 0
        cells = {(r["input_length"], r["output_length"]) for r in rows(tmp_path / "hm.csv")}
        assert cells == {("5", "4"), ("5", "8"), ("20", "4"), ("20", "8")}

    def test_a_missing_source_file(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ["heatmap", *FAST, "--source-file", str(tmp_path / "none.txt")]
        assert main(args) == 2
        assert "none.txt" in capsys.readouterr().err


def test_analyze_a_quota_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "q"
    args = ["quota", *FAST, "--prompt", "hi", "--start-rpm", "600", "--max-rpm", "600"]
    assert main([*args, "--step-duration", "0.2", "--output", str(folder)]) == 0
    printed = capsys.readouterr().out.split("\nresults:")[0]
    assert main(["analyze", str(folder)]) == 0
    assert capsys.readouterr().out.strip() == printed.strip()
    assert main(["export", str(folder), "--out", str(tmp_path / "q.csv")]) == 0
    assert {r["requests_per_minute"] for r in rows(tmp_path / "q.csv")} == {"600.0"}


class TestDisplayAndPlacementOptions:
    """The Python options of the experiments on the command line: ``--stat`` (LLMeter's
    ``progress_bar_stats``), ``--no-progress`` (``show_progress=False``), ``--ray-resource``."""

    LOAD_TEST: ClassVar[list[str]] = [
        *["load-test", *FAST, "--prompt", "hi", "--sequence-of-clients", "1"],
        *["--min-requests-per-run", "2"],
    ]

    def test_stat_chooses_what_the_display_shows(self, capsys: pytest.CaptureFixture[str]) -> None:
        stat = ["--stat", "first=time_to_first_token-p50", "--stat", "speed=output_tps:inv"]
        assert main([*self.LOAD_TEST, *stat]) == 0
        err = capsys.readouterr().err
        assert "first=" in err and "speed=" in err
        assert "rpm=" not in err  # LLMeter's default set is replaced

    @pytest.mark.parametrize(
        "command",
        [
            LOAD_TEST,
            ["run", *FAST, "--prompt", "hi", "--n-requests", "2"],
            [
                "sweep",
                *FAST,
                "--prompt",
                "hi",
                "--slo",
                "ttft_p99<=30s",
                "--mode",
                "concurrency",
                "--max-load",
                "2",
                "--requests-per-step",
                "2",
            ],
            ["heatmap", *FAST, "--input-lengths", "5", "--output-lengths", "2"],
            [
                "quota",
                *FAST,
                "--prompt",
                "hi",
                "--start-rpm",
                "600",
                "--max-rpm",
                "600",
                "--step-duration",
                "0.2",
            ],
        ],
        ids=["load-test", "run", "sweep", "heatmap", "quota"],
    )
    def test_no_progress_hides_the_display(
        self, command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        if command[0] == "heatmap":
            source = tmp_path / "text.txt"
            source.write_text("one two three four five six seven eight " * 20)
            command = [*command, "--source-file", str(source)]
        assert main(command) == 0
        assert "req" in capsys.readouterr().err  # shown by default, even when not a terminal
        assert main([*command, "--no-progress"]) == 0
        assert "req" not in capsys.readouterr().err

    @pytest.mark.parametrize(
        ("flags", "message"),
        [
            (["--stat", "no-equals-sign"], "--stat must be LABEL=STATISTIC"),
            (["--stat", "a=time_to_first_token-p50:log"], "only ':inv'"),
            (["--ray-resource", "CPU=1"], "give --ray ADDRESS too"),
            (["--ray", "127.0.0.1:1", "--ray-resource", "CPU=lots"], "NAME=AMOUNT"),
        ],
    )
    def test_bad_values_are_one_line(
        self, flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main([*self.LOAD_TEST, *flags]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err

    def test_ray_resources_reach_the_experiment(self) -> None:
        from llmeter_trio.cli import build_parser
        from llmeter_trio.cli._experiment import common_options

        args = build_parser().parse_args(
            [
                *[*self.LOAD_TEST, "--workers", "2", "--ray", "127.0.0.1:6379"],
                *["--ray-resource", "CPU=1", "--ray-resource", "GPU=0.5"],
            ]
        )
        options = common_options(args)
        assert options["ray_resources"] == {"CPU": 1.0, "GPU": 0.5}
        assert (options["executor"], options["ray_address"]) == ("ray", "127.0.0.1:6379")
