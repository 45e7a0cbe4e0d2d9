"""The synthetic-workload options (``--input-length``, ``--prefixes``, ...) and ``--tokenizer``
on the command line and in ``--config`` files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from llmeter_trio import Result
from llmeter_trio.cli import main
from llmeter_trio.experiments import LoadTestResult
from llmeter_trio.tokenizers import DummyTokenizer, save_tokenizer
from llmeter_trio.workloads import WORKLOAD_KEY

from .tokenizer_files import train_bpe, write_tiktoken

FAST = ["--endpoint", "fake", "--option", "time_to_first_token=0.001",
        "--option", "inter_token_latency=0", "--no-progress"]  # fmt: skip


def saved_payloads(folder: Path) -> list[dict[str, Any]]:
    config = Result.load(str(folder)).run_config
    assert config is not None and config.payload is not None
    return list(config.payload)


class TestSyntheticRun:
    def test_lengths_drawn_seeded_and_reported(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--input-length/--output-length/--distinct-prompts make that many prompts of the
        drawn lengths; the summary sets asked beside served; the same --seed, the same prompts."""
        args = ["run", *FAST, "--input-length", "uniform:20,60", "--output-length", "normal:8,2"]
        args += ["--distinct-prompts", "7", "--n-requests", "7", "--seed", "3"]
        assert main([*args, "--output", str(tmp_path / "a")]) == 0
        assert "input tokens asked" in capsys.readouterr().out
        payloads = saved_payloads(tmp_path / "a")
        assert len(payloads) == 7
        for payload in payloads:
            asked = payload[WORKLOAD_KEY]
            assert len(payload["prompt"].split()) == asked["input_tokens"]
            assert payload["max_tokens"] == asked["output_tokens"]
            assert 20 <= asked["input_tokens"] <= 60
        records = Result.load(str(tmp_path / "a")).load_responses()
        assert all(r.requested_input_tokens == r.num_tokens_input for r in records)
        assert main([*args, "--output", str(tmp_path / "b")]) == 0
        assert saved_payloads(tmp_path / "b") == payloads

    def test_without_a_seed_one_is_chosen_and_saved(self, tmp_path: Path) -> None:
        assert main(["run", *FAST, "--input-length", "9", "--n-requests", "2",
                     "--output", str(tmp_path / "r")]) == 0  # fmt: skip
        config = Result.load(str(tmp_path / "r")).run_config
        assert config is not None and isinstance(config.seed, int)

    def test_shared_prefixes(self, tmp_path: Path) -> None:
        args = ["run", *FAST, "--input-length", "50", "--prefixes", "2", "--prefix-length"]
        args += ["20", "--suffixes-per-prefix", "3", "--n-requests", "1", "--seed", "1"]
        assert main([*args, "--output", str(tmp_path / "p")]) == 0
        payloads = saved_payloads(tmp_path / "p")
        assert Counter(p[WORKLOAD_KEY]["prefix"] for p in payloads) == {0: 3, 1: 3}
        assert {len(p["prompt"].split()) for p in payloads} == {50}

    def test_payload_order_once_sends_each_prompt_once_in_order(self, tmp_path: Path) -> None:
        """--payload-order once: the interleaved prefixes go out in the workload's order, each
        exactly once; a replay keeps the order, and a flag on its line changes it."""
        args = ["run", *FAST, "--input-length", "50", "--prefixes", "3", "--prefix-length", "20"]
        args += ["--suffixes-per-prefix", "2", "--clients", "1", "--seed", "1"]
        assert main([*args, "--payload-order", "once", "--output", str(tmp_path / "o")]) == 0
        result = Result.load(str(tmp_path / "o"))
        assert result.run_config is not None and result.run_config.payload_order == "once"
        records = sorted(result.responses, key=lambda r: r.send_time or 0)
        assert [r.payload_index for r in records] == list(range(6))
        assert [r.workload["prefix"] for r in records if r.workload] == [
            p[WORKLOAD_KEY]["prefix"] for p in saved_payloads(tmp_path / "o")
        ]
        assert main(["run", "--replay", str(tmp_path / "o"), "--output", str(tmp_path / "r")]) == 0
        replayed = Result.load(str(tmp_path / "r"))
        assert replayed.run_config is not None and replayed.run_config.payload_order == "once"
        again = ["run", "--replay", str(tmp_path / "o"), "--payload-order", "shuffle"]
        assert main([*again, "--n-requests", "2", "--output", str(tmp_path / "s")]) == 0
        shuffled = Result.load(str(tmp_path / "s")).run_config
        assert shuffled is not None and shuffled.payload_order == "shuffle"

    def test_options_from_a_config_file(self, tmp_path: Path) -> None:
        config = tmp_path / "w.toml"
        config.write_text(
            'endpoint = "fake"\ninput-length = "uniform:10,30"\noutput-length = 4\n'
            "distinct-prompts = 5\nn-requests = 5\nseed = 2\nno-progress = true\n"
            'tokenizer = "dummy"\n[option]\ntime_to_first_token = 0.001\n'
        )
        assert main(["run", "--config", str(config), "--output", str(tmp_path / "c")]) == 0
        payloads = saved_payloads(tmp_path / "c")
        assert len(payloads) == 5
        assert {p[WORKLOAD_KEY]["output_tokens"] for p in payloads} == {4}

    def test_load_test_builds_the_workload_once_for_every_level(self, tmp_path: Path) -> None:
        args = ["load-test", *FAST[:-1], "--input-length", "lognormal:40,0.3"]
        args += ["--sequence-of-clients", "1", "2", "--min-requests-per-run", "4"]
        assert main([*args, "--seed", "1", "--output", str(tmp_path / "lt")]) == 0
        levels = LoadTestResult.load(str(tmp_path / "lt")).results
        payloads = [level.run_config.payload for level in levels.values()]  # type: ignore[union-attr]
        assert payloads[0] == payloads[1]
        assert "input_tokens_asked_mean" in levels[1].stats

    @pytest.mark.parametrize(
        ("extra", "said"),
        [
            (["--prompt", "hi", "--prefixes", "2"], "--prefixes needs --input-length"),
            (["--prompt", "hi", "--exact-output"], "--exact-output needs --input-length"),
            (["--input-length", "50", "--prefixes", "2"], "--prefix-length"),
            (["--input-length", "zipf:1"], "unknown distribution"),
            (["--input-length", "50", "--exact-output"], "ignore_eos"),
            (["--input-length", "50", "--prefix-length", "9"], "need --prefixes"),
            (["--input-length", "10", "--prefixes", "1", "--prefix-length", "30"], "no room"),
            (["--input-length", "5", "--prompt", "x"], "not allowed with"),
        ],
    )
    def test_bad_workloads_are_one_line(
        self, extra: list[str], said: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["run", *FAST, *extra, "--n-requests", "1"]) == 2
        err = capsys.readouterr().err
        assert said in err
        assert err.count("\n") == 1 or err.startswith("usage:")


@pytest.fixture(scope="module")
def tokenizer_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli-tokenizers")
    (folder / "model").mkdir()
    bpe = train_bpe(folder / "model" / "tokenizer.json")
    return {
        "tokenizer.json": bpe,
        "folder": folder / "model",
        "tiktoken": write_tiktoken(folder / "tiny.tiktoken"),
        "saved": Path(save_tokenizer(DummyTokenizer(), str(folder / "saved.json"))),
    }


class TestTokenizerOption:
    @pytest.mark.parametrize(
        ("spec", "kind"),
        [("tokenizer.json", "huggingface"), ("folder", "huggingface"),
         ("tiktoken", "tiktoken"), ("saved", None), ("dummy", "dummy")],
    )  # fmt: skip
    def test_the_run_uses_and_saves_the_tokenizer(
        self, tmp_path: Path, tokenizer_files: dict[str, Path], spec: str, kind: str | None
    ) -> None:
        """Each kind of --tokenizer is the run's: saved with it, and the synthetic prompts
        measure exactly their input length under it."""
        given = spec if spec == "dummy" else str(tokenizer_files[spec])
        args = ["run", *FAST, "--tokenizer", given, "--input-length", "uniform:5,200"]
        args += ["--distinct-prompts", "6", "--n-requests", "2", "--seed", "4"]
        assert main([*args, "--output", str(tmp_path / "t")]) == 0
        result = Result.load(str(tmp_path / "t"))
        assert result.run_config is not None
        saved = result.run_config.tokenizer_config or {}
        assert saved.get("tokenizer_type", "dummy") == (kind or "dummy")
        from llmeter_trio.cli._workload import tokenizer_from_spec

        tokenizer = tokenizer_from_spec(given)
        for payload in saved_payloads(tmp_path / "t"):
            assert len(tokenizer.encode(payload["prompt"])) == payload[WORKLOAD_KEY]["input_tokens"]

    def test_heatmap_takes_it_too(self, tmp_path: Path, tokenizer_files: dict[str, Path]) -> None:
        source = tmp_path / "source.txt"
        source.write_text("one two three four five six seven eight nine ten " * 20)
        args = ["heatmap", *FAST[:-1], "--source-file", str(source), "--input-lengths", "5"]
        args += ["--output-lengths", "2", "--tokenizer", str(tokenizer_files["tokenizer.json"])]
        assert main([*args, "--output", str(tmp_path / "h")]) == 0

    @pytest.mark.parametrize("which", ["missing", "not-json", "other-json", "empty-folder"])
    def test_bad_specs_are_one_line(
        self, tmp_path: Path, which: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        paths = {
            "missing": tmp_path / "nope.json",
            "not-json": tmp_path / "x.txt",
            "other-json": tmp_path / "other.json",
            "empty-folder": tmp_path / "empty",
        }
        paths["not-json"].write_text("hello")
        paths["other-json"].write_text('{"a": 1}')
        paths["empty-folder"].mkdir()
        args = ["run", *FAST, "--prompt", "hi", "--n-requests", "1"]
        assert main([*args, "--tokenizer", str(paths[which])]) == 2
        err = capsys.readouterr().err
        assert err.startswith("llmeter-trio run: error: --tokenizer") and err.count("\n") == 1
