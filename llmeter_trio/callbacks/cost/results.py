"""`CalculatedCostWithDimensions`: a cost estimate, by dimension, that adds up.

An estimate is a dict from dimension name (``"InputTokens"``) to cost, or None
where the dimension could not be priced (a failed request has no token
counts). `total` adds the known parts; estimates add with ``+`` and `sum()`,
dimension by dimension.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from ...endpoints import InvocationResponse
from ...stats import PercentileMethod
from ...utils import summary_stats_from_list

__all__ = ["CalculatedCostWithDimensions"]

Cost = float | None


def _plus(a: Cost, b: Cost) -> Cost:
    """Unknown plus unknown stays unknown; a known part is never lost to an unknown one."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


class CalculatedCostWithDimensions(dict[str, Any]):
    """A cost estimate by dimension name; ``.total`` is the sum of the known parts."""

    @property
    def total(self) -> Cost:
        """The cost over all dimensions, None when no dimension could be priced."""
        known = [v for v in self.values() if v is not None]
        return sum(known) if known else None

    def __add__(self, other: Mapping[str, Cost] | int) -> CalculatedCostWithDimensions:
        """Both estimates together (``0 + cost`` is `cost`, so `sum()` works)."""
        result = CalculatedCostWithDimensions(self)
        if isinstance(other, int) and other == 0:
            return result
        result.merge(other)  # type: ignore[arg-type]
        return result

    __radd__ = __add__

    def merge(self, other: Mapping[str, Cost]) -> None:
        """Add `other` into this estimate, in place, dimension by dimension."""
        if not isinstance(other, Mapping):
            raise TypeError(f"can only merge a cost estimate or a dict of costs, not {other!r}")
        for name, value in other.items():
            self[name] = _plus(self.get(name), value)

    @staticmethod
    def summary_statistics(
        calculated_costs: Iterable[Mapping[str, Cost]],
        key_prefix: str = "",
        key_dim_name_suffix: str = "",
        key_stat_name_prefix: str = "-",
        key_total_name_and_suffix: str = "total",
        *,
        percentile_method: PercentileMethod = "llmeter",
    ) -> dict[str, float]:
        """The mean and p50/p90/p99 of each dimension and of the total, over `calculated_costs`.

        Keys read ``{key_prefix}{dimension}{key_dim_name_suffix}{key_stat_name_prefix}{stat}``
        (``"InputTokens-p50"``), and the total's
        ``{key_prefix}{key_total_name_and_suffix}{key_stat_name_prefix}{stat}``.
        Unknown (None) costs are left out of their dimension's statistics.
        """
        by_dimension: dict[str, list[float]] = {}
        totals: list[float] = []
        for cost in calculated_costs:
            for name, value in cost.items():
                values = by_dimension.setdefault(name, [])
                if isinstance(value, int | float):
                    values.append(value)
            total = CalculatedCostWithDimensions(cost).total
            if total is not None:
                totals.append(total)

        def named(stem: str, values: list[float]) -> dict[str, float]:
            stats = summary_stats_from_list(values, percentile_method=percentile_method)
            return {f"{key_prefix}{stem}{key_stat_name_prefix}{k}": v for k, v in stats.items()}

        result: dict[str, float] = {}
        for name, values in by_dimension.items():
            result.update(named(f"{name}{key_dim_name_suffix}", values))
        result.update(named(key_total_name_and_suffix, totals))
        return result

    @classmethod
    def load_from_namespace(
        cls, raw: object, key_prefix: str = "", ignore_total: bool = True
    ) -> CalculatedCostWithDimensions:
        """The estimate kept on `raw` by `save_on_namespace` (a record, a dict, an object).

        A record (`InvocationResponse`) keeps it in its `annotations`; only
        keys starting with `key_prefix` are read, without the prefix.
        """
        items = _items(raw)
        if key_prefix:
            items = {k[len(key_prefix) :]: v for k, v in items.items() if k.startswith(key_prefix)}
        if ignore_total:
            items.pop("total", None)
        return cls(items)

    def save_on_namespace(
        self, raw: object, key_prefix: str = "", include_total: bool = True
    ) -> None:
        """Write this estimate onto `raw` as ``{key_prefix}{dimension}`` keys (and the total).

        A record (`InvocationResponse`) keeps it in its `annotations`, which
        are saved with it; a dict gets items; another object attributes.
        """
        target: Any = raw.annotations if isinstance(raw, InvocationResponse) else raw
        values = dict(self)
        if include_total:
            values["total"] = self.total
        for name, value in values.items():
            if isinstance(target, MutableMapping):
                target[f"{key_prefix}{name}"] = value
            else:
                setattr(target, f"{key_prefix}{name}", value)


def _items(raw: object) -> dict[str, Any]:
    if isinstance(raw, InvocationResponse):
        return dict(raw.annotations)
    if isinstance(raw, Mapping):
        return dict(raw)
    if hasattr(raw, "__dict__"):
        return dict(vars(raw))
    return {k: getattr(raw, k) for k in dir(raw)}
