"""``--turns`` and ``--think-time`` on the command line, in ``--config`` files and replays."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmeter_trio import Result
from llmeter_trio.cli import main

FAST = ["run", "--endpoint", "fake", "--prompt", "hello there", "--no-progress",
        "--option", "time_to_first_token=0.001", "--option", "inter_token_latency=0"]  # fmt: skip


class TestTurns:
    def test_a_run_of_sessions_prints_them_by_turn(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The summary counts sessions and shows TTFT by turn; the folder keeps them."""
        folder = tmp_path / "talk"
        args = [*FAST, "--clients", "2", "--n-requests", "2", "--turns", "3",
                "--think-time", "uniform:0.001,0.002", "--output", str(folder)]  # fmt: skip
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "12 requests from 2 clients" in out
        assert "sessions 4 started, 4 completed, 0 failed, 0 cut" in out
        rows = [line.split() for line in out.splitlines() if line[:2] in ("1 ", "2 ", "3 ")]
        assert [row[:2] for row in rows] == [["1", "4"], ["2", "4"], ["3", "4"]]
        loaded = Result.load(str(folder))
        assert loaded.run_config is not None and loaded.run_config.sessions is not None
        assert loaded.run_config.sessions["turns"] == 3
        assert loaded.run_config.sessions["think_time"] == {
            "kind": "uniform",
            "low": 0.001,
            "high": 0.002,
        }
        assert sorted(loaded.stats_by_turn()) == [1, 2, 3]

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (["--turns", "0"], "--turns must be a whole number of at least 1"),
            (["--turns", "2", "--think-time", "normal:1"], "--think-time: normal takes 2"),
            (["--turns", "2", "--think-time", "soon"], "--think-time: 'soon' holds something"),
            (["--think-time", "1"], "--think-time needs --turns K"),
        ],
    )
    def test_bad_values_are_one_line_and_exit_2(
        self, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main([*FAST, *extra]) == 2
        err = capsys.readouterr().err
        assert message in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1

    def test_an_endpoint_without_conversations_exits_2(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ["run", "--endpoint", "openai-completions", "--base-url", "http://127.0.0.1:9/v1",
                "--model", "m", "--prompt", "hi", "--turns", "2", "--no-progress"]  # fmt: skip
        assert main(args) == 2
        assert "cannot hold a conversation" in capsys.readouterr().err


class TestConfigAndReplay:
    def test_a_config_file_sets_turns_and_think_time(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = tmp_path / "talk.toml"
        config.write_text('turns = 2\nthink-time = "0.001"\nn-requests = 1\n')
        folder = tmp_path / "run"
        assert main([*FAST, "--config", str(config), "--output", str(folder)]) == 0
        assert "sessions 1 started, 1 completed" in capsys.readouterr().out
        saved = Result.load(str(folder)).run_config
        assert saved is not None and saved.sessions is not None
        assert saved.sessions["turns"] == 2
        assert saved.sessions["think_time"] == {"kind": "fixed", "value": 0.001}

    def test_a_replay_runs_the_same_sessions(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        first = tmp_path / "first"
        args = [*FAST, "--n-requests", "1", "--turns", "3", "--think-time", "0.002"]
        assert main([*args, "--output", str(first)]) == 0
        again = tmp_path / "again"
        assert main(["run", "--replay", str(first), "--output", str(again), "--no-progress"]) == 0
        assert "sessions 1 started, 1 completed" in capsys.readouterr().out
        before, after = Result.load(str(first)), Result.load(str(again))
        assert before.run_config is not None and after.run_config is not None
        assert after.run_config.sessions == before.run_config.sessions
        assert [r.turn for r in after.responses] == [1, 2, 3]
