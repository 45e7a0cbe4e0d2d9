"""The quota tools from the command line: `run --schedule tokenrate`, `quota`, and the
simulator's `--rpm`/`--tpm` (on the real clock: `main` makes its own trio run)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from llmeter_trio import Result
from llmeter_trio.cli import main
from llmeter_trio.experiments import QuotaResult
from llmeter_trio.sim import Faults, SimConfig

from ._support.threaded_sim import served_in_thread

SIM = SimConfig(ttft_base=0.01, itl=0.001, output_tokens=10)
ENDPOINT = ["--endpoint", "openai-chat", "--model", "sim-model", "--option", "api_key=k",
            "--prompt", "one two three", "--max-tokens", "10"]  # fmt: skip


@pytest.mark.realtime
def test_run_with_a_tokenrate_schedule(tmp_path: Path) -> None:
    """`--schedule tokenrate --requests-per-minute 600` for 2 s: saved as such, no faster than
    its budget (a busy machine can only make it slower), and never throttled by the same quota."""
    folder = tmp_path / "paced"
    config = SimConfig(ttft_base=0.01, itl=0.001, faults=Faults(requests_per_minute=600))
    with served_in_thread(config) as origin:
        code = main(
            ["run", *ENDPOINT, "--base-url", origin + "/v1", "--schedule", "tokenrate",
             "--requests-per-minute", "600", "--duration", "2", "--output", str(folder)]
        )  # fmt: skip
    assert code == 0
    result = Result.load(str(folder))
    assert result.run_config is not None
    assert result.run_config.schedule == {
        "schedule": "tokenrate", "requests_per_minute": 600.0, "tokens_per_minute": None,
        "max_concurrency": None,
    }  # fmt: skip
    assert 1 <= result.total_requests <= 21  # 10 per second, the first at once
    assert not any(r.status_code == 429 for r in result.responses)


@pytest.mark.realtime
def test_quota_command_saves_a_loadable_search_and_its_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`quota` steps up until throttled, prints its table, saves quota.json, steps, chart."""
    folder = tmp_path / "search"
    with served_in_thread(SimConfig(ttft_base=0.01, itl=0.001, faults=Faults(
        requests_per_minute=60))) as origin:  # fmt: skip
        code = main(
            ["quota", *ENDPOINT, "--base-url", origin + "/v1", "--start-rpm", "600",
             "--growth", "4", "--max-rpm", "2400", "--step-duration", "2", "--output", str(folder)]
        )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "offered rpm" in captured.out
    loaded = QuotaResult.load(folder)
    assert [s.requests_per_minute for s in loaded.steps][:1] == [600]
    if importlib.util.find_spec("plotly") is not None:
        assert (folder / "quota.html").exists()
    assert "sustainable" in captured.out or "no throttling" in captured.out


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--growth", "1"], "growth must be greater than 1"),
     (["--threshold", "2"], "threshold must be at most 1"),
     (["--schedule", "closed"], "schedule 'closed' has no option(s) ['rate']")],
)  # fmt: skip
def test_bad_quota_settings_are_one_line_and_status_2(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["quota", *ENDPOINT, "--base-url", "http://127.0.0.1:9/v1", *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err, err


def test_bad_tokenrate_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", *ENDPOINT, "--base-url", "http://127.0.0.1:9/v1", "--schedule",
                 "tokenrate"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "requests_per_minute, tokens_per_minute or both" in err
