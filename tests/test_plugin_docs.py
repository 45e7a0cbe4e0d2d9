"""The "write your own endpoint plugin" page shows the example plugin as it is."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "writing-plugins.md").read_text()
ECHO = ROOT / "plugins" / "llmeter-trio-echo"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE, re.S)


def test_the_module_shown_is_the_plugin_module() -> None:
    """The page's first example is llmeter_trio_echo/__init__.py, character for character."""
    assert blocks("python")[0] == (ECHO / "llmeter_trio_echo" / "__init__.py").read_text()


def test_the_entry_point_shown_is_the_one_declared() -> None:
    """The entry point on the page is the one the plugin's pyproject.toml declares."""
    (entry_point,) = blocks("toml")
    assert entry_point in (ECHO / "pyproject.toml").read_text()
