"""LLMeter's ``llmeter.plotting.heatmap``: records binned by their measured token counts.

`Heatmap` cuts the range of input token counts and of output token counts
into equal bins (`Interval`) and gives a statistic of each (output bin, input
bin) cell with `Heatmap.get_map`. No plotly needed. For a `LatencyHeatmap`
experiment, `LatencyHeatmapResult.matrix` gives the cells it designed
(exact target lengths) instead.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from ..endpoints import InvocationResponse
from ..results import Result
from ..stats import summarize

__all__ = ["COUNT_KEYS", "Heatmap", "Interval", "initialize_map"]

Closed = Literal["right", "left", "both", "neither"]
COUNT_KEYS = ("counts", "errors", "error_rate")  # what `get_map` counts per cell besides stats


@attrs.frozen(order=True)
class Interval:
    """The numbers from `left` to `right`; `closed` says which ends belong to it."""

    left: float
    right: float
    closed: Closed = "right"

    def __contains__(self, value: float) -> bool:
        above = value >= self.left if self.closed in ("left", "both") else value > self.left
        below = value <= self.right if self.closed in ("right", "both") else value < self.right
        return above and below

    def __str__(self) -> str:
        opening = "[" if self.closed in ("left", "both") else "("
        closing = "]" if self.closed in ("right", "both") else ")"
        return f"{opening}{self.left}, {self.right}{closing}"

    @property
    def mid(self) -> float:
        """The middle of the interval."""
        return (self.left + self.right) / 2


def initialize_map(n_bin_input: int, n_bin_output: int) -> list[list[Any]]:
    """An empty map: `n_bin_output` rows of `n_bin_input` Nones."""
    return [[None] * n_bin_input for _ in range(n_bin_output)]


def bins(values: Sequence[float], count: int) -> list[Interval]:
    """`count` equal, whole-numbered bins ``[left, right)`` from the least to past the greatest
    value (one bin when every value is the same)."""
    if count < 1:
        raise ValueError(f"the number of bins must be at least 1, not {count}")
    low, high = min(values), max(values)
    if low == high:
        return [Interval(low, low + 1, "left")]
    width = max(1, math.ceil((high - low) / count))
    edges = [low + k * width for k in range(count + 1)]
    edges[-1] = max(edges[-1], high + 1)
    return [Interval(a, b, "left") for a, b in itertools.pairwise(edges)]


def _bin_of(value: float, edges: list[Interval]) -> Interval:
    return next((interval for interval in edges if value in interval), edges[-1])


class Heatmap:
    """Records binned by input tokens (columns) and output tokens (rows).

    Give the records (`responses`) or a `result` whose records to use.
    Records without both token counts are left out. `bin_boundaries_input`
    and `bin_boundaries_output` are the bins.
    """

    def __init__(
        self,
        responses: list[InvocationResponse] | None = None,
        result: Result | None = None,
        n_bins_output_tokens: int = 10,
        n_bins_input_tokens: int = 10,
    ) -> None:
        if responses is None and result is None:
            raise ValueError("Either responses or result must be provided")
        self.responses = responses if responses is not None else list(result.responses)  # type: ignore[union-attr]
        self.bins_output_tokens = n_bins_output_tokens
        self.bins_input_tokens = n_bins_input_tokens
        counted = [
            r
            for r in self.responses
            if r.num_tokens_input is not None and r.num_tokens_output is not None
        ]
        if not counted:
            raise ValueError("no record has both its input and output token counts to bin")
        self.bin_boundaries_input = bins([r.num_tokens_input for r in counted], n_bins_input_tokens)  # type: ignore[misc]
        self.bin_boundaries_output = bins(
            [r.num_tokens_output for r in counted],  # type: ignore[misc]
            n_bins_output_tokens,
        )
        self._cells: dict[Interval, dict[Interval, list[InvocationResponse]]] = {}
        for r in counted:
            row = _bin_of(r.num_tokens_output, self.bin_boundaries_output)  # type: ignore[arg-type]
            column = _bin_of(r.num_tokens_input, self.bin_boundaries_input)  # type: ignore[arg-type]
            self._cells.setdefault(row, {}).setdefault(column, []).append(r)

    def get_map(self, metric: str, aggregation: str | None = None) -> dict[Interval, Any]:
        """One value per occupied cell: ``{output bin: {input bin: value}}``, output bins from
        the greatest down (the top row of a chart first), input bins from the least.

        The value is `metric`'s `aggregation` (``"p50"``, ``"average"``, ...;
        None when no record of the cell has a value), or all its statistics
        without one. `metric` may also be ``"counts"``, ``"errors"`` or
        ``"error_rate"`` (of the cell's records).
        """
        if metric not in COUNT_KEYS and metric not in attrs.fields_dict(InvocationResponse):
            raise AttributeError(f"InvocationResponse has no field {metric!r}")
        return {
            row: {
                column: _cell_value(self._cells[row][column], metric, aggregation)
                for column in sorted(self._cells[row])
            }
            for row in sorted(self._cells, reverse=True)
        }


def _cell_value(records: list[InvocationResponse], metric: str, aggregation: str | None) -> Any:
    if metric in COUNT_KEYS:
        errors = sum(1 for r in records if r.error)
        return {"counts": len(records), "errors": errors, "error_rate": errors / len(records)}[
            metric
        ]
    stats = summarize(v for r in records if (v := getattr(r, metric)) is not None)
    return stats if aggregation is None else stats.get(aggregation)
