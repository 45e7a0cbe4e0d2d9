"""The command line, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmeter_trio import Result
from llmeter_trio.cli import main


def test_endpoints_lists_registered_types_and_options(capsys: pytest.CaptureFixture[str]) -> None:
    """`endpoints` names every built-in type and its options, secrets flagged."""
    assert main(["endpoints"]) == 0
    out = capsys.readouterr().out
    for name in ("fake", "openai-chat", "openai-completions", "openai-responses"):
        assert f"\n{name}  (" in f"\n{out}"
    assert "time_to_first_token" in out
    assert "secret: never saved" in out


FAST = ["run", "--endpoint", "fake", "--prompt", "hi", "--option", "time_to_first_token=0.001",
        "--option", "inter_token_latency=0"]  # fmt: skip


class TestRun:
    def test_run_prints_summary_and_saves_a_loadable_folder(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A count-bound run exits 0, prints the table, and PATH loads with Result.load."""
        folder = tmp_path / "cli-run"
        code = main(
            ["run", "--endpoint", "fake", "--prompt", "hello there", "--clients", "2",
             "--n-requests", "3", "--option", "time_to_first_token=0.001",
             "--option", "inter_token_latency=0", "--output", str(folder)]
        )  # fmt: skip
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert "Run cli-run: 6 requests from 2 clients" in captured.out
        assert "time to first token" in captured.out
        assert "6/6 req" in captured.err  # the progress line
        loaded = Result.load(str(folder))
        assert loaded.total_requests == 6
        assert (
            loaded.run_config is not None
            and loaded.run_config.endpoint_config["time_to_first_token"] == 0.001
        )

    def test_all_failed_exits_1(self, tmp_path: Path) -> None:
        """A run in which every request failed is a failed run."""
        payload = tmp_path / "p.jsonl"
        payload.write_text(
            json.dumps({"prompt": "x", "fake": {"error": "server", "status_code": 503}}) + "\n"
        )
        args = ["run", "--endpoint", "fake", "--payload", str(payload), "--n-requests", "2"]
        assert main(args) == 1

    def test_max_error_rate(self, tmp_path: Path) -> None:
        """--max-error-rate fails the run when more requests than that failed."""
        payload = tmp_path / "p.jsonl"
        lines = [{"prompt": "ok", "fake": {"time_to_first_token": 0.001}},
                 {"prompt": "x", "fake": {"error": "throttled", "status_code": 429}}]  # fmt: skip
        payload.write_text("\n".join(json.dumps(p) for p in lines) + "\n")
        base = ["run", "--endpoint", "fake", "--payload", str(payload), "--n-requests", "2"]
        assert main(base) == 0
        assert main([*base, "--max-error-rate", "0.1"]) == 1

    @pytest.mark.realtime
    def test_progress_and_summary_count_what_the_run_sends(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The progress line's total comes from the run's plan: 4 clients x 3 requests
        (the CLI's own copy of that computation used to show `12/3 req`)."""
        code = main(
            [*FAST, "--n-requests", "3", "--schedule", "closed", "--schedule-option", "clients=4"]
        )
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert "12/12 req" in captured.err
        assert "12 requests from 4 clients" in captured.out

    @pytest.mark.realtime
    def test_open_loop_summary_says_in_flight_not_clients(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An open loop has no clients: the summary names its cap on requests in flight."""
        args = [*FAST, "--n-requests", "4", "--schedule", "constant", "--rate", "1000"]
        assert main([*args, "--max-concurrency", "2"]) == 0
        captured = capsys.readouterr()
        assert "4 requests, max 2 in flight, in" in captured.out
        assert "4/4 req" in captured.err
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "4 requests (open loop) in" in out
        assert "clients" not in out.splitlines()[0]

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--endpoint", "nope", "--prompt", "x"], "no endpoint type 'nope'"),
            (
                ["--endpoint", "fake", "--prompt", "x", "--option", "colour=red"],
                "no option(s) ['colour']",
            ),
            (
                ["--endpoint", "fake", "--prompt", "x", "--clients", "0"],
                "clients must be at least 1",
            ),
            (["--endpoint", "fake", "--payload", "/does/not/exist.jsonl"], "exist.jsonl"),
        ],
    )
    def test_bad_input_is_explained(
        self, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Usage errors exit 2 with a message saying what was wrong."""
        assert main(["run", *args]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.realtime  # the demo's load test runs on the real clock
def test_demo_runs_against_the_simulated_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Quick start's demo: a real load test over HTTP against the built-in server."""
    folder = tmp_path / "demo"
    assert main(["demo", "--clients", "2", "--n-requests", "2", "--output", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "simulated OpenAI-compatible server at http://127.0.0.1:" in out
    result = Result.load(str(folder))
    assert result.total_requests == 4
    assert result.stats["failed_requests"] == 0
    # the server's truth: 48 output tokens per request, reported by its usage
    assert result.stats["num_tokens_output-p50"] == 48
