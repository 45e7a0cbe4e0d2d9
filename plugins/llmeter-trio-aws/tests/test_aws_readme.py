"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_examples() -> None:
    assert BLOCKS


@pytest.mark.realtime  # the example serves and reads over loopback, on the real clock
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    exec(
        compile(BLOCKS[index], f"README.md example {index + 1}", "exec"), {"__name__": "__readme__"}
    )
    assert capsys.readouterr().out.strip() == "20 True end_turn"
