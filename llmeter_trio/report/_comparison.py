"""The comparison report: `compare`'s table and verdicts with the overlaid charts of
`comparison_figures`, on the report's self-contained page."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..compare import Comparison, Gate, comparison_figures
from ..compare._core import Run
from ..storage import resolve
from ._content import ReportContent
from ._html import render_html

__all__ = ["comparison_content", "comparison_report_html", "write_comparison_report"]

_COLUMNS = ["Candidate", "Clients", "Metric", "Baseline", "Candidate value", "Change",
            "Interval", "Verdict"]  # fmt: skip


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _where(comparison: Comparison) -> str:
    level = f" at {comparison.clients} clients" if comparison.clients is not None else ""
    return f"{comparison.candidate}{level}"


def comparison_content(
    comparisons: Sequence[Comparison], runs: Sequence[Run] = (), gates: Sequence[Gate] = ()
) -> ReportContent:
    """What the comparison report shows: one table row a metric of each comparison, a verdict
    for each significant change (and each gate), and the overlaid charts of `runs` (the
    compared runs or folders; without them, only the chart of the differences)."""
    if not comparisons:
        raise ValueError("a comparison report needs at least one comparison")
    rows = []
    verdicts: list[tuple[bool | None, str]] = []
    for c in comparisons:
        for m in c.metrics.values():
            change = f"{m.relative:+.1%}" if m.relative is not None else ""
            interval = f"[{_num(m.low)}, {_num(m.high)}]" if m.low is not None else ""
            clients = "" if c.clients is None else str(c.clients)
            rows.append([c.candidate, clients, m.metric, _num(m.baseline), _num(m.candidate),
                         change, interval, m.verdict])  # fmt: skip
            if m.significant:
                verdicts.append((m.verdict == "better", f"{m.metric} is {m.verdict} in "
                                 f"{_where(c)} ({change or _num(m.difference)})"))  # fmt: skip
    for gate in gates:
        tripped = [_where(c) for c in comparisons if gate.tripped(c)]
        text = f"FAIL {gate.text}: " + ", ".join(tripped) if tripped else f"pass {gate.text}"
        verdicts.append((not tripped, text))
    if not verdicts:
        verdicts.append((None, "No metric changed significantly."))
    first = comparisons[0]
    config: dict[str, Any] = {
        "baseline": first.baseline,
        "candidates": list(dict.fromkeys(c.candidate for c in comparisons)),
        "confidence": first.confidence,
        "resamples": first.resamples,
    }
    if gates:
        config["fail_if"] = [g.text for g in gates]
    return ReportContent(
        kind="comparison",
        title=f"Compared with {first.baseline}",
        columns=_COLUMNS,
        rows=rows,
        figures={k: f for k, f in comparison_figures(*runs, comparisons=comparisons).items()
                 if f.data},
        verdicts=verdicts,
        config=config,
    )  # fmt: skip


def comparison_report_html(
    comparisons: Sequence[Comparison], runs: Sequence[Run] = (), gates: Sequence[Gate] = ()
) -> str:
    """The comparison report page (see `comparison_content`)."""
    return render_html(comparison_content(comparisons, runs, gates))


def write_comparison_report(
    comparisons: Sequence[Comparison],
    out: str | os.PathLike[str],
    runs: Sequence[Run] = (),
    gates: Sequence[Gate] = (),
) -> str:
    """Write the comparison report to `out` (any fsspec URL) and return where it went."""
    target = os.fspath(out)
    page = comparison_report_html(comparisons, runs, gates)
    fs, where = resolve(target)
    with fs.open(where, "w", encoding="utf-8") as f:
        f.write(page)
    return target
