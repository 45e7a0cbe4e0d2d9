"""One self-contained HTML page for a saved run, load test, heatmap, sweep or quota search:
summary, charts, verdicts (SLOs, the load generator's warnings) and the configuration with its
secrets masked; or a comparison of runs (`write_comparison_report`). Opens offline:
plotly's script is embedded once. Needs the ``plotting`` extra.
"""

from __future__ import annotations

import os

from ..storage import resolve
from ._comparison import comparison_content, comparison_report_html, write_comparison_report
from ._content import ReportContent, read_content
from ._html import render_html

__all__ = [
    "ReportContent",
    "comparison_content",
    "comparison_report_html",
    "read_content",
    "render_html",
    "report_html",
    "write_comparison_report",
    "write_report",
]


def report_html(path: str | os.PathLike[str]) -> str:
    """The HTML report of the run or experiment saved in `path` (any fsspec URL)."""
    return render_html(read_content(path))


def write_report(path: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> str:
    """Write the report of the folder `path` to `out` (default: ``report.html`` in that
    folder) and return where it went."""
    target = os.fspath(out) if out is not None else os.fspath(path).rstrip("/") + "/report.html"
    page = report_html(path)
    fs, where = resolve(target)
    with fs.open(where, "w", encoding="utf-8") as f:
        f.write(page)
    return target
