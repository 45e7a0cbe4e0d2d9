"""Export (`Result.to_pandas`, `to_arrow`, `llmeter-trio export`) and `analyze` on experiment
folders."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import trio

from llmeter_trio import FakeEndpoint, InvocationResponse, Result
from llmeter_trio.cli import main
from llmeter_trio.experiments import LoadTest

FAST = ["--option", "time_to_first_token=0.001", "--option", "inter_token_latency=0"]


def two_records() -> Result:
    sent = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    return Result(
        responses=[
            InvocationResponse(
                "hello",
                {"messages": [{"role": "user", "content": "hi"}]},
                time_to_first_token=0.25,
                num_tokens_output=3,
                request_time=sent,
                annotations={"cost": 0.5, "tags": ["a"]},
            ),
            InvocationResponse(None, {"prompt": "x"}, error="boom", status_code=503),
        ],
        total_requests=2,
    )


def saved_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "run"
    args = ["run", "--endpoint", "fake", "--prompt", "hi", "--clients", "2", "--n-requests", "3"]
    assert main([*args, *FAST, "--output", str(folder)]) == 0
    capsys.readouterr()
    return folder


def saved_load_test(tmp_path: Path) -> Path:
    endpoint = FakeEndpoint(time_to_first_token=0.01, inter_token_latency=0.01, output_tokens=2)
    test = LoadTest(
        endpoint, {"prompt": "a b"}, [1, 2], min_requests_per_client=2, min_requests_per_run=2,
        progress_bar_stats={}, output_path=str(tmp_path), test_name="lt",
    )  # fmt: skip
    trio.run(test.run, clock=trio.testing.MockClock(autojump_threshold=0))
    return tmp_path / "lt"


class TestTables:
    def test_to_pandas_one_row_per_request_nested_fields_flattened(self) -> None:
        """Scalars as they are, annotations one column per key, the payload as JSON text."""
        frame = two_records().to_pandas()
        assert len(frame) == 2
        row = frame.iloc[0]
        assert row["time_to_first_token"] == 0.25
        assert row["annotations.cost"] == 0.5
        assert json.loads(row["annotations.tags"]) == ["a"]
        assert json.loads(row["input_payload"])["messages"][0]["content"] == "hi"
        assert row["request_time"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        assert frame.iloc[1]["error"] == "boom"
        assert frame.iloc[1]["status_code"] == 503

    def test_to_arrow_has_the_same_columns(self) -> None:
        result = two_records()
        table = result.to_arrow()
        assert table.num_rows == 2
        assert table.column_names == list(result.to_pandas().columns)
        assert table.column("annotations.cost").to_pylist() == [0.5, None]

    def test_an_empty_run_has_the_record_columns(self) -> None:
        assert "time_to_first_token" in Result().to_arrow().column_names
        assert len(Result().to_pandas()) == 0

    def test_a_missing_extra_says_what_to_install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(__import__("sys").modules, "pandas", None)
        with pytest.raises(ImportError, match=r"llmeter-trio\[export\]"):
            two_records().to_pandas()

    def test_records_streamed_from_the_folder(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A result loaded without its records still exports every request."""
        folder = saved_run(tmp_path, capsys)
        assert len(Result.load(str(folder), load_responses=False).to_pandas()) == 6


class TestExportCommand:
    def test_csv_of_a_run(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        folder = saved_run(tmp_path, capsys)
        assert main(["export", str(folder)]) == 0
        assert "6 requests written to" in capsys.readouterr().out
        with open(f"{folder}.csv", newline="") as file:
            rows = list(csv.DictReader(file))
        assert len(rows) == 6
        assert {row["client"] for row in rows} == {"0", "1"}
        assert all(float(row["time_to_first_token"]) > 0 for row in rows)

    def test_jsonl_and_parquet(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        import pyarrow.parquet as pq

        folder = saved_run(tmp_path, capsys)
        out = tmp_path / "x.jsonl"
        assert main(["export", str(folder), "--format", "jsonl", "--out", str(out)]) == 0
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(lines) == 6 and all(line["error"] is None for line in lines)
        parquet = tmp_path / "x.parquet"
        assert main(["export", str(folder), "--format", "parquet", "--out", str(parquet)]) == 0
        assert pq.read_table(parquet).num_rows == 6

    def test_load_test_is_one_file_with_a_clients_column(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        folder = saved_load_test(tmp_path)
        out = tmp_path / "lt.csv"
        assert main(["export", str(folder), "--out", str(out)]) == 0
        with open(out, newline="") as file:
            rows = list(csv.DictReader(file))
        assert next(iter(rows[0])) == "clients"
        assert sorted({row["clients"] for row in rows}) == ["1", "2"]
        assert len(rows) == 2 + 4

    def test_bad_input_is_one_line_and_exit_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["export", str(tmp_path / "nothing")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("llmeter-trio export: error:") and err.count("\n") == 1
        assert main(["export", str(tmp_path), "--format", "xlsx"]) == 2


class TestAnalyzeExperiments:
    def test_analyze_a_load_test_folder(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Once refused with "holds no summary.json nor run_config.json"."""
        folder = saved_load_test(tmp_path)
        assert main(["analyze", str(folder)]) == 0
        out = capsys.readouterr().out
        assert "== 1 clients" in out and "== 2 clients" in out
        assert "time to first token" in out

    def test_slo_on_a_load_test_is_refused(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        folder = saved_load_test(tmp_path)
        assert main(["analyze", str(folder), "--slo", "ttft_p99<=1s"]) == 2
        assert "is a load-test" in capsys.readouterr().err


def test_analyze_and_export_llmeter_s_load_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A load test LLMeter saved: each level printed, one file with a clients column."""
    folder = Path(__file__).parent / "fixtures" / "llmeter" / "load_test" / "llmeter-test"
    assert main(["analyze", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "== 1 clients" in out and "== 2 clients" in out
    assert main(["export", str(folder), "--out", str(tmp_path / "l.csv")]) == 0
    with open(tmp_path / "l.csv", newline="") as file:
        assert {row["clients"] for row in csv.DictReader(file)} == {"1", "2"}
