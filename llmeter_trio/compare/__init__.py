"""Compare runs and load tests: differences with bootstrap intervals, verdicts, CI gates.

`compare` puts candidates beside a baseline; `parse_gate` reads ``--fail-if``
expressions; `comparison_figures` draws overlaid charts (plotly).
"""

from __future__ import annotations

from ._charts import comparison_figures
from ._core import Comparison, MetricComparison, compare, format_comparison, load_compared
from ._gate import Gate, parse_gate
from ._metrics import DEFAULT_METRICS, metric_named

__all__ = [
    "DEFAULT_METRICS",
    "Comparison",
    "Gate",
    "MetricComparison",
    "compare",
    "comparison_figures",
    "format_comparison",
    "load_compared",
    "metric_named",
    "parse_gate",
]
