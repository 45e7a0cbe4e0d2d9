"""`llmeter-trio load-test`, `heatmap` and `sweep`, and `analyze`/`export` of their folders."""

from __future__ import annotations

import csv
import json
from pathlib import Path

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
