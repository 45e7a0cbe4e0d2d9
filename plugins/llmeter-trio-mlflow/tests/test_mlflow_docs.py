"""The user guide's MLflow page (docs/mlflow.md): its Python examples run as written.

The main suite's tests/test_docs.py skips the page where this plugin is not
installed; here it runs, in a folder of its own (its SQLite store and run
folders go there), and prints what the page says it prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

PAGE = Path(__file__).resolve().parents[3] / "docs" / "mlflow.md"
TEXT = PAGE.read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.S)


@pytest.fixture
def own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    previous = mlflow.get_tracking_uri()
    yield
    mlflow.set_tracking_uri(previous)  # the page sets it


def printed_on_the_page() -> list[str]:
    """The ``# ...`` comment lines right after a ``print(...)`` in the page's examples."""
    return [
        match.group(1)
        for block in BLOCKS
        for match in re.finditer(r"^print\(.*?\)\n# ([^\n]*)$", block, re.S | re.M)
    ]


@pytest.mark.realtime  # the examples run on the real clock
@pytest.mark.usefixtures("own_folder")
def test_examples_run_in_order_and_print_what_the_page_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for number, block in enumerate(BLOCKS, start=1):
        exec(compile(block, f"{PAGE.name}#{number}", "exec"), namespace)
    shown = printed_on_the_page()
    assert len(shown) == 3
    assert capsys.readouterr().out.splitlines() == shown
