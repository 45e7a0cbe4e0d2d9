"""A report as one self-contained HTML page: plotly's script embedded once, each chart's
figure as JSON beside the element it is drawn in, no request to any server."""

from __future__ import annotations

import html
import json

from .._version import __version__
from ._content import ReportContent

__all__ = ["render_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; } .kind { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; }
th { background: #f4f4f4; }
ul.verdicts { list-style: none; padding: 0; }
ul.verdicts li { padding: 0.2em 0; }
.pass::before { content: "\\2714  "; color: #1a7f37; }
.fail::before { content: "\\2718  "; color: #cf222e; }
.note::before { content: "\\2139  "; color: #555; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 1em; }
.chart { min-height: 420px; min-width: 0; }
.chart.wide { grid-column: 1 / -1; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; font-size: 0.85em; }
"""

# Draws every chart from the JSON beside it; each chart element then tells how many
# points it drew (data-points), and the body that every chart was drawn (data-charts-drawn).
_DRAW = """
(function () {
  var drawn = 0;
  document.querySelectorAll("div.chart").forEach(function (element) {
    var figure = JSON.parse(document.getElementById(element.id + "-data").textContent);
    Plotly.newPlot(element, figure.data, figure.layout, {responsive: true, displaylogo: false});
    var points = 0;
    element._fullData.forEach(function (trace) {
      var values = trace.z || trace.y || trace.x;
      if (trace.visible !== false && values) { points += values.length; }
    });
    element.setAttribute("data-points", String(points));
    drawn += 1;
  });
  document.body.setAttribute("data-charts-drawn", String(drawn));
})();
"""


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    script: str = get_plotlyjs()
    return script


def _table(content: ReportContent) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in content.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in content.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _verdicts(content: ReportContent) -> str:
    if not content.verdicts:
        return "<p>No SLOs were set, and the load generator raised no warning.</p>"
    classes = {True: "pass", False: "fail", None: "note"}
    items = "".join(
        f'<li class="{classes[passed]}">{html.escape(text)}</li>'
        for passed, text in content.verdicts
    )
    return f'<ul class="verdicts">{items}</ul>'


def _charts(content: ReportContent) -> str:
    parts = []
    for index, (title, figure) in enumerate(content.figures.items()):
        chart_id = f"chart-{index}"
        data = figure.to_json().replace("</", "<\\/")
        layout = figure.layout
        wide = layout.width is not None or (layout.height or 0) > 600
        parts.append(
            f'<div class="chart{" wide" if wide else ""}" id="{chart_id}" '
            f'title="{html.escape(title)}"></div>'
            f'<script type="application/json" id="{chart_id}-data">{data}</script>'
        )
    if not parts:
        return "<p>This run has no records to chart.</p>"
    return '<div class="charts">\n' + "\n".join(parts) + "\n</div>"


def render_html(content: ReportContent) -> str:
    """The report page of `content`."""
    config = (
        "<p>The run saved no configuration.</p>"
        if content.config is None
        else "<pre>"
        + html.escape(json.dumps(content.config, indent=2, sort_keys=True, default=str), False)
        + "</pre>"
    )
    title = html.escape(content.title)
    plotly_js = _plotly_js().replace("</script", "<\\/script")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} · llmeter-trio report</title>
<style>{_STYLE}</style>
<script>{plotly_js}</script>
</head>
<body>
<h1>{title}</h1>
<p class="kind">A {html.escape(content.kind)}, reported by llmeter-trio {__version__}</p>
<h2>Summary</h2>
{_table(content)}
<h2>Verdicts</h2>
{_verdicts(content)}
<h2>Charts</h2>
{_charts(content)}
<h2>Configuration</h2>
{config}
<script>{_DRAW}</script>
</body>
</html>
"""
