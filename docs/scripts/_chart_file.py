"""Where a docs chart script writes its PNG, and writing it (kaleido with system chromium)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

IMAGES = Path(__file__).parent.parent / "images"


def chart_path(name: str) -> str:
    """The path given on the command line, else docs/images/`name`."""
    return sys.argv[1] if len(sys.argv) > 1 else str(IMAGES / name)


def write_chart(figure: Any, output: str) -> None:
    """Write `figure` as a PNG at `output` and say so."""
    figure.write_image(output)
    print(f"wrote {output}")
