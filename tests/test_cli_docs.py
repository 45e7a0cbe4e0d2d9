"""Every command line of docs/cli.md runs as written, in order, in one empty folder."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from llmeter_trio.cli import main

PAGE = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
BLOCK = re.compile(r"```(bash|toml)\n(.*?)```", re.S)


def blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(PAGE.read_text())


def test_the_page_shows_every_command() -> None:
    lines = [line for kind, text in blocks() if kind == "bash" for line in text.splitlines()]
    shown = {shlex.split(line)[1] for line in lines}
    assert shown >= {"run", "load-test", "heatmap", "sweep", "analyze", "export"}


@pytest.mark.realtime  # the examples run on the real clock
def test_every_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ```toml block whose first line is ``# NAME`` is written to NAME first."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "story.txt").write_text(" ".join(f"word{i}" for i in range(2000)))
    for kind, text in blocks():
        if kind == "toml":
            name = text.splitlines()[0].removeprefix("# ").strip()
            (tmp_path / name).write_text(text)
            continue
        for line in text.splitlines():
            argv = shlex.split(line)
            assert argv[0] == "llmeter-trio"
            code = main(argv[1:])
            assert code == 0, f"{line}: {capsys.readouterr().err}"
    assert (tmp_path / "runs" / "first.csv").is_file()
    assert (tmp_path / "levels.parquet").is_file()
    assert (tmp_path / "runs" / "cells.jsonl").is_file()
