"""The README's first steps on the command line run as written, in order, in an empty folder:
demo, report, a second demo, compare (with its HTML page), export to CSV."""

from __future__ import annotations

import csv
import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from llmeter_trio.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS_HOME = ROOT / "docs" / "index.md"


def first_steps(page: Path = README, heading: str = "## First steps") -> list[list[str]]:
    """The ``llmeter-trio`` commands of a page's "First steps" block, as argument lists."""
    section = page.read_text(encoding="utf-8").split(heading, 1)[1]
    block = re.search(r"```console\n((?:(?!```).)*llmeter-trio report.*?)```", section, re.S)
    assert block is not None
    return [
        shlex.split(line)[1:]
        for line in block.group(1).splitlines()
        if line.startswith("llmeter-trio ")
    ]


def test_the_docs_home_page_shows_the_same_first_steps() -> None:
    assert first_steps(DOCS_HOME, "## Try it") == first_steps()


def test_the_first_steps_are_demo_report_compare_export() -> None:
    assert [args[0] for args in first_steps()] == ["demo", "report", "demo", "compare", "export"]


@pytest.mark.realtime  # the demo runs against the simulated server on the real clock
@pytest.mark.skipif(
    importlib.util.find_spec("plotly") is None, reason="the report needs the plotting extra"
)
def test_the_first_steps_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for args in first_steps():
        assert main(args) == 0, args
    out = capsys.readouterr().out
    assert "report: outputs/demo/report.html" in out
    assert "report: outputs/comparison.html" in out
    assert "demo-16-clients against demo" in out
    for page in ("outputs/demo/report.html", "outputs/comparison.html"):
        assert "reported by llmeter-trio" in Path(page).read_text(encoding="utf-8")
    with open("outputs/demo.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 80 and all(float(r["time_to_first_token"]) > 0 for r in rows)
