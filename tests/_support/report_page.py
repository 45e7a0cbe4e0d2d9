"""A report page's embedded figures, and the page rendered by a headless chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM", "assert_renders_in_chromium", "charts"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def charts(page: str) -> list[dict[str, Any]]:
    """The figures embedded in a report page."""
    found = re.findall(r'<script type="application/json" id="chart-\d+-data">(.*?)</script>', page)
    return [json.loads(f.replace("<\\/", "</")) for f in found]


def assert_renders_in_chromium(page: Path) -> None:
    """Headless chromium draws every chart of the report `page` with its data, and logs no
    console message."""
    expected = len(charts(page.read_text(encoding="utf-8")))
    assert CHROMIUM is not None
    shown = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
            "--v=0", "--virtual-time-budget=10000", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    dom = shown.stdout
    assert f'data-charts-drawn="{expected}"' in dom
    points = [int(p) for p in re.findall(r'data-points="(\d+)"', dom)]
    assert len(points) == expected and all(p > 0 for p in points)
    assert dom.count('class="main-svg"') >= expected  # plotly drew an SVG for each
    console = [line for line in shown.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
