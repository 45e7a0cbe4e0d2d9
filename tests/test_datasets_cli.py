"""``--dataset`` and its options on the command line and in ``--config`` files;
``run --dataset-timestamps`` and its replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmeter_trio import Result
from llmeter_trio.cli import main

FAST = ["--endpoint", "fake", "--option", "time_to_first_token=0.001"]
FAST += ["--option", "inter_token_latency=0", "--no-progress"]
ROWS = [
    {"question": f"question number {i}", "answer_tokens": 3 + i, "ts": 1000 + 10 * i}
    for i in range(6)
]
MAP = ["--column", "prompt=question", "--column", "output_length=answer_tokens"]


@pytest.fixture
def dataset(tmp_path: Path) -> str:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    return str(path)


def saved(folder: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((folder / "run_config.json").read_text())
    return document


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


class TestDatasetRun:
    def test_rows_become_the_payloads(
        self, tmp_path: Path, dataset: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each row once, with its expected length as max_tokens and what it asked saved."""
        args = ["run", *FAST, "--dataset", dataset, *MAP, "--min-input-length", "3"]
        assert main([*args, "--output", str(tmp_path / "a")]) == 0
        payloads = saved(tmp_path / "a")["payload"]
        assert [p["max_tokens"] for p in payloads] == [3, 4, 5, 6, 7, 8]
        assert payloads[2]["llmeter_trio_workload"] == {
            "input_tokens": 3,
            "output_tokens": 5,
            "source": 2,
        }
        records = Result.load(str(tmp_path / "a")).responses
        assert {r.requested_output_tokens for r in records} <= {3, 4, 5, 6, 7, 8}

    def test_filters_and_a_seeded_sample(
        self, tmp_path: Path, dataset: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--sample draws with --seed: the same seed, the same rows."""
        args = ["run", *FAST, "--dataset", dataset, *MAP, "--max-output-length", "7"]
        args += ["--sample", "3", "--seed", "4"]
        assert main([*args, "--output", str(tmp_path / "a")]) == 0
        assert main([*args, "--output", str(tmp_path / "b")]) == 0
        first, again = saved(tmp_path / "a")["payload"], saved(tmp_path / "b")["payload"]
        assert first == again and len(first) == 3
        assert all(p["max_tokens"] <= 7 for p in first)

    def test_a_sample_without_a_seed_saves_the_seed_it_drew(
        self, tmp_path: Path, dataset: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ["run", *FAST, "--dataset", dataset, *MAP, "--sample", "2"]
        assert main([*args, "--output", str(tmp_path / "a")]) == 0
        seed = saved(tmp_path / "a")["seed"]
        assert main([*args, "--seed", str(seed), "--output", str(tmp_path / "b")]) == 0
        assert saved(tmp_path / "a")["payload"] == saved(tmp_path / "b")["payload"]

    def test_a_config_file_gives_the_dataset_options(
        self, tmp_path: Path, dataset: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """``dataset``, a ``[column]`` table and the filters from TOML; --column on the
        line wins role by role."""
        config = tmp_path / "c.toml"
        config.write_text(
            f'dataset = "{dataset}"\nsample = 2\nseed = 1\nmax-input-length = 3\n'
            '[column]\nprompt = "question"\noutput_length = "nope"\n'
        )
        args = ["run", *FAST, "--config", str(config), "--column", "output_length=answer_tokens"]
        assert main([*args, "--output", str(tmp_path / "a")]) == 0
        assert len(saved(tmp_path / "a")["payload"]) == 2


class TestDatasetErrors:
    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (["--column", "prompt=text"], "no column 'text' (the prompt); the file has"),
            (["--column", "question"], "expected ROLE=NAME"),
            (["--column", "asked=question"], "unknown dataset column role 'asked'"),
            (["--dataset-format", "parquet"], "not a Parquet file"),
            (["--sample", "0"], "--sample"),
            (["--min-input-length", "-1"], "--min-input-length"),
            (["--max-input-length", "1"], "no row of the 6 is within the length bounds"),
            (["--sample-with-replacement"], "--sample-with-replacement needs --sample N"),
            (["--timestamp-unit", "ms"], "--timestamp-unit needs --dataset-timestamps"),
            (["--dataset-timestamps", "--schedule", "poisson"], "is the schedule"),
            (["--dataset-timestamps"], "record 0: no timestamp"),
        ],
    )
    def test_one_line_and_exit_2(
        self,
        dataset: str,
        extra: list[str],
        message: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        args = ["run", *FAST, "--dataset", dataset]
        if "--column" not in extra:
            args += ["--column", "prompt=question"]
        assert main([*args, *extra]) == 2
        assert message in one_error_line(capsys)

    def test_no_such_dataset(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["run", *FAST, "--dataset", str(tmp_path / "none.jsonl")]) == 2
        assert "no dataset file at" in one_error_line(capsys)

    def test_dataset_and_payload_are_exclusive(
        self, dataset: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["run", *FAST, "--dataset", dataset, "--prompt", "hi"]) == 2
        assert "not allowed with argument" in one_error_line(capsys)


class TestDatasetTimestamps:
    def test_the_timestamps_are_the_schedule_and_the_run_replays(
        self, tmp_path: Path, dataset: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The trace is written into the run folder; ``run --replay`` sends the same
        payloads on the same trace."""
        args = ["run", *FAST, "--dataset", dataset, *MAP, "--column", "timestamp=ts"]
        args += ["--dataset-timestamps", "--timestamp-unit", "ms", "--time-scale", "0.5"]
        assert main([*args, "--output", str(tmp_path / "a")]) == 0
        first = saved(tmp_path / "a")
        trace = tmp_path / "a" / "dataset_trace.jsonl"
        assert first["schedule"] == {
            "schedule": "trace",
            "path": str(trace),
            "time_scale": 0.5,
            "max_concurrency": None,
        }
        lines = [json.loads(line) for line in trace.read_text().splitlines()]
        assert [line["payload"] for line in lines] == list(range(6))
        assert [line["timestamp"] for line in lines] == pytest.approx([0.01 * i for i in range(6)])
        result = Result.load(str(tmp_path / "a"))
        intended = sorted(r.intended_send_time or 0 for r in result.responses)
        assert intended == pytest.approx([0.005 * i for i in range(6)])
        assert main(["run", "--replay", str(tmp_path / "a"), "--output", str(tmp_path / "b")]) == 0
        again = saved(tmp_path / "b")
        assert {k for k in first if first[k] != again[k]} == {"run_name", "output_path"}

    def test_a_folder_holding_a_run_keeps_its_trace(
        self, tmp_path: Path, dataset: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ["run", *FAST, "--dataset", dataset, *MAP, "--column", "timestamp=ts"]
        args += ["--dataset-timestamps", "--timestamp-unit", "ms", "--output", str(tmp_path / "a")]
        assert main(args) == 0
        before = (tmp_path / "a" / "dataset_trace.jsonl").read_text()
        capsys.readouterr()
        assert main([*args, "--time-scale", "2"]) == 2
        assert "already holds a run" in one_error_line(capsys)
        assert (tmp_path / "a" / "dataset_trace.jsonl").read_text() == before


class TestExperiments:
    def test_load_test_takes_a_dataset(
        self, tmp_path: Path, dataset: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ["load-test", *FAST[:-1], "--dataset", dataset, *MAP, "--sample", "4"]
        args += ["--seed", "2", "--sequence-of-clients", "1", "2"]
        args += ["--min-requests-per-run", "4"]
        assert main(args) == 0
        assert "== 2 clients" in capsys.readouterr().out
