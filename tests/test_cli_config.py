"""``--config FILE.toml`` for every command and ``run --replay PATH``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmeter_trio import Result
from llmeter_trio.cli import build_parser, main

FIXTURES = Path(__file__).parent / "fixtures" / "llmeter"
FAST = """
endpoint = "fake"
prompt = "hello"
[option]
time_to_first_token = 0.001
inter_token_latency = 0
"""


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return str(path)


def saved_config(folder: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads((folder / "run_config.json").read_text())
    return document


class TestConfigFile:
    def test_the_file_gives_the_options(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Dashes or underscores, tables for --option, lists for --slo."""
        path = config(
            tmp_path,
            'clients = 2\nn-requests = 3\nslo = ["ttft_p99<=5s"]\nmax_error_rate = 0.5\n' + FAST,
        )
        assert main(["run", "--config", path, "--output", str(tmp_path / "r")]) == 0
        saved = saved_config(tmp_path / "r")
        assert (saved["clients"], saved["n_requests"], saved["slos"]) == (2, 3, ["ttft_p99<=5s"])
        assert saved["endpoint_config"]["time_to_first_token"] == 0.001  # type: ignore[index]

    def test_flags_on_the_line_win(self, tmp_path: Path) -> None:
        path = config(tmp_path, 'clients = 2\nn-requests = 3\nslo = ["ttft_p99<=5s"]\n' + FAST)
        args = ["run", "--config", path, "--clients", "1", "--slo", "ttft_p50<=5s"]
        assert main([*args, "--option", "output_tokens=2", "--output", str(tmp_path / "r")]) == 0
        saved = saved_config(tmp_path / "r")
        assert (saved["clients"], saved["slos"]) == (1, ["ttft_p50<=5s"])
        endpoint = saved["endpoint_config"]
        assert endpoint["output_tokens"] == 2 and endpoint["time_to_first_token"] == 0.001  # type: ignore[index]

    def test_a_flag_on_the_line_replaces_its_exclusive_partner(self, tmp_path: Path) -> None:
        """--duration on the line drops the file's n-requests; --payload its prompt."""
        payload = tmp_path / "p.jsonl"
        payload.write_text(json.dumps({"prompt": "from the file"}) + "\n")
        path = config(tmp_path, "n-requests = 3\n" + FAST)
        args = ["run", "--config", path, "--duration", "0.05", "--payload", str(payload)]
        assert main([*args, "--output", str(tmp_path / "r")]) == 0
        saved = saved_config(tmp_path / "r")
        assert saved["n_requests"] is None and saved["run_duration"] == 0.05
        assert saved["payload"] == [{"prompt": "from the file"}]

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("bogus = 1\nzzz = 2\n", "'bogus', 'zzz' are no options of llmeter-trio run"),
            ("clients = 'many'\n", "--clients cannot be 'many'"),
            ("clients = 2.5\n", "--clients must be a whole number"),
            ("no-preconnect = 1\n", "--no-preconnect must be true or false"),
            ("clients = \n", "not TOML"),
        ],
    )
    def test_bad_files_are_one_line_and_exit_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
    ) -> None:
        assert main(["run", "--config", config(tmp_path, text + FAST)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("llmeter-trio run: error: --config ") and err.count("\n") == 1
        assert message in err

    def test_a_missing_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["analyze", "x", "--config", str(tmp_path / "none.toml")]) == 2
        assert "none.toml: no such file" in capsys.readouterr().err

    def test_every_command_takes_a_config(self) -> None:
        parser = build_parser()
        commands = next(a for a in parser._actions if a.dest == "command").choices
        assert commands is not None
        for name, sub in commands.items():
            if name != "serve-sim":
                assert "--config" in sub._option_string_actions, name

    def test_analyze_options_from_a_file(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = config(tmp_path, 'percentile-method = "llmeter"\n')
        assert main(["analyze", str(FIXTURES / "run"), "--config", path]) == 0
        assert "LLMeter's saved statistics" in capsys.readouterr().out
        bad = config(tmp_path, 'percentile-method = "nearest"\n')
        assert main(["analyze", str(FIXTURES / "run"), "--config", bad]) == 2


class TestReplay:
    def test_replays_a_saved_run_with_changes_from_the_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = config(tmp_path, 'clients = 2\nn-requests = 3\nslo = ["ttft_p99<=5s"]\n' + FAST)
        assert main(["run", "--config", path, "--seed", "7", "--output", str(tmp_path / "a")]) == 0
        assert main(["run", "--replay", str(tmp_path / "a"), "--output", str(tmp_path / "b")]) == 0
        first, again = saved_config(tmp_path / "a"), saved_config(tmp_path / "b")
        differ = {k for k in first if first[k] != again[k]}
        assert differ == {"run_name", "output_path"}
        args = ["run", "--replay", str(tmp_path / "a" / "run_config.json"), "--clients", "1"]
        assert main([*args, "--output", str(tmp_path / "c")]) == 0
        assert Result.load(str(tmp_path / "c")).total_requests == 3

    def test_replays_llmeter_s_run_config(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """LLMeter's clients and payload file come along; the endpoint is swapped here."""
        args = ["run", "--replay", str(FIXTURES / "run"), "--endpoint", "fake", "--n-requests"]
        assert main([*args, "1", "--output", str(tmp_path / "l")]) == 0
        saved = saved_config(tmp_path / "l")
        assert saved["clients"] == 2  # LLMeter's
        assert saved["payload"][0]["messages"][0]["content"][0]["text"] == "Tell me a story"  # type: ignore[index]

    def test_a_time_bound_llmeter_run_replays_time_bound(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """LLMeter saves n_requests=0 beside run_duration: the replay is time-bound."""
        from llmeter_trio.cli._config import load_replay, replay_values

        values = replay_values(load_replay(str(FIXTURES / "stats_only")))
        assert values["duration"] == 30 and "n_requests" not in values

    def test_no_value_is_echoed(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A value of the wrong shape may be a secret (a URL with credentials): never shown."""
        path = config(tmp_path, 'base-url = ["http://user:hunter2@127.0.0.1/v1"]\n' + FAST)
        assert main(["run", "--config", path]) == 2
        err = capsys.readouterr().err
        assert "--base-url must be a single value" in err and "hunter2" not in err

    def test_a_folder_without_a_run(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["run", "--replay", str(tmp_path / "none")]) == 2
        assert "no such run folder" in capsys.readouterr().err
        assert main(["run", "--prompt", "x"]) == 2
        assert "required: --endpoint" in capsys.readouterr().err  # without --replay


class TestPositionalsInTheFile:
    """A command's positional arguments (``analyze RESULT``, ``compare A B``) from the file."""

    def run_folder(self, tmp_path: Path, name: str) -> Path:
        path = config(tmp_path, "n-requests = 2\n" + FAST)
        assert main(["run", "--config", path, "--output", str(tmp_path / name)]) == 0
        return tmp_path / name

    def test_analyze_and_export_read_the_folder_from_the_file(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        folder = self.run_folder(tmp_path, "r")
        capsys.readouterr()
        path = config(tmp_path, f'result = "{folder}"\n')
        assert main(["analyze", "--config", path]) == 0
        assert "Run r: 2 requests" in capsys.readouterr().out
        out = tmp_path / "records.csv"
        export = config(tmp_path, f'result = "{folder}"\nformat = "csv"\nout = "{out}"\n')
        assert main(["export", "--config", export]) == 0
        assert len(out.read_text().splitlines()) == 3  # a header and two records

    def test_the_line_wins_over_the_file(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        folder = self.run_folder(tmp_path, "r")
        capsys.readouterr()
        path = config(tmp_path, 'result = "/no/such/run"\n')
        assert main(["analyze", "--config", path, str(folder)]) == 0
        assert "Run r: 2 requests" in capsys.readouterr().out

    def test_compare_takes_its_baseline_and_candidates_from_the_file(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        a, b = self.run_folder(tmp_path, "a"), self.run_folder(tmp_path, "b")
        capsys.readouterr()
        path = config(tmp_path, f'baseline = "{a}"\ncandidates = ["{b}"]\n')
        assert main(["compare", "--config", path]) == 0
        assert str(b.name) in capsys.readouterr().out

    def test_a_missing_positional_is_still_an_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = config(tmp_path, "slo = []\n")
        assert main(["analyze", "--config", path]) == 2
        assert "required: result" in capsys.readouterr().err
