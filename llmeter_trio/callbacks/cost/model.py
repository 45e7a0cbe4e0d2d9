"""`CostModel`: what requests and runs cost, as a callback or on demand.

A model is made of dimensions (`llmeter_trio.callbacks.cost.dimensions`):
request dimensions price each record, run dimensions the run as a whole. As a
run's callback, it prices each record as it arrives (the cost is saved with
the record, in its `annotations` as ``cost_<dimension>`` and ``cost_total``),
and at the end adds the run's cost statistics to `Result.stats`:
``cost_total``, ``cost_<dimension>``, the mean and percentiles of the cost per
request (``cost_per_request-p50``, ``cost_<dimension>_per_request-p90``...),
``cost_per_million_output_tokens``, ``cost_per_1000_requests``, and
``cost_when_stopped`` when `max_cost` stopped the run.

With `max_cost`, the model stops the run's load (`stop_run`) at the first
record that brings the request costs counted so far to `max_cost` or more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..._checks import check_number
from ...results import Result
from .._base import Callback
from . import dimensions
from .dimensions import IRequestCostDimension, IRunCostDimension
from .results import CalculatedCostWithDimensions
from .serde import JSONableBase, from_dict_with_class_map

if TYPE_CHECKING:
    from ...endpoints import InvocationResponse
    from ...storage import Location

__all__ = ["CostModel"]

PREFIX = "cost_"  # of the cost keys on records and in the statistics


@attrs.define
class _RunCosts:
    """What the model saw of the run it is a callback of."""

    requests: list[CalculatedCostWithDimensions] = attrs.Factory(list)
    output_tokens: int = 0
    spent: float = 0.0  # the request costs counted so far (what `max_cost` caps)
    spent_at_stop: float | None = None  # what they were when `max_cost` stopped the load


def _named(dims: Mapping[str, Any] | Sequence[Any] | None, taken: dict[str, Any]) -> dict[str, Any]:
    """Dimensions by name: a dict's keys, else each one's class name; a name used twice is an
    error."""
    if dims is None:
        return {}
    pairs = dims.items() if isinstance(dims, Mapping) else ((type(d).__name__, d) for d in dims)
    named: dict[str, Any] = {}
    for name, dim in pairs:
        if name in taken:
            raise ValueError(
                f"Duplicate cost dimension name '{name}': got both {dim} and {taken[name]}"
            )
        taken[name] = named[name] = dim
    return named


class CostModel(JSONableBase, Callback):
    """Prices requests and runs: pass it as a run's callback, or call its `calculate_*` methods.

    `request_dims` and `run_dims` are dicts by name, or lists (each named
    after its class); all names must differ. `max_cost` (in the prices'
    currency) stops the run's load once the requests recorded cost that
    much: see `after_invoke` for the precise bound. Build one from a price
    table, a file or a preset with `CostModel.from_prices`.
    """

    callback_type = "cost"

    def __init__(
        self,
        request_dims: Mapping[str, IRequestCostDimension]
        | Sequence[IRequestCostDimension]
        | None = None,
        run_dims: Mapping[str, IRunCostDimension] | Sequence[IRunCostDimension] | None = None,
        *,
        max_cost: float | None = None,
    ) -> None:
        taken: dict[str, Any] = {}
        self.request_dims: dict[str, IRequestCostDimension] = _named(request_dims, taken)
        self.run_dims: dict[str, IRunCostDimension] = _named(run_dims, taken)
        check_number("max_cost", max_cost)
        self.max_cost = max_cost
        self._run: _RunCosts | None = None

    def __repr__(self) -> str:
        cap = "" if self.max_cost is None else f", max_cost={self.max_cost!r}"
        return f"CostModel(request_dims={self.request_dims!r}, run_dims={self.run_dims!r}{cap})"

    @classmethod
    def from_prices(
        cls, prices: Mapping[str, Any] | str, *, max_cost: float | None = None
    ) -> CostModel:
        """A model from a price table, a price file (JSON or TOML) or a preset's name.

        See `llmeter_trio.callbacks.cost.prices` for the table's keys
        (``{"input": 3.0, "output": 15.0}``: per million tokens) and the presets.
        """
        from .prices import cost_model_from_prices

        return cost_model_from_prices(prices, max_cost=max_cost)

    @classmethod
    def from_options(
        cls,
        prices: Mapping[str, Any] | str | None = None,
        max_cost: float | None = None,
        **saved: Any,
    ) -> CostModel:
        """The model a callback configuration describes (``{"callback_type": "cost", ...}``,
        ``--callback cost:{...}``): `prices` as `from_prices` takes them, or a saved model's
        ``request_dims`` and ``run_dims`` (`to_dict`)."""
        if prices is not None:
            if saved:
                raise ValueError(f"cost callback: give prices or {sorted(saved)}, not both")
            return cls.from_prices(prices, max_cost=max_cost)
        if not saved:
            raise ValueError('cost callback: give its prices, e.g. {"prices": {"output": 15}}')
        return cls.from_dict({**saved, "max_cost": max_cost} if max_cost is not None else saved)

    # -- on demand ------------------------------------------------------------------

    async def calculate_request_cost(
        self, response: InvocationResponse, save: bool = False
    ) -> CalculatedCostWithDimensions:
        """The cost of one request, by request dimension; `save` also keeps it on the record."""
        cost = CalculatedCostWithDimensions(
            {name: await dim.calculate(response) for name, dim in self.request_dims.items()}
        )
        if save:
            cost.save_on_namespace(response, key_prefix=PREFIX)
        return cost

    async def calculate_run_cost(
        self, result: Result, recalculate_request_costs: bool = True, save: bool = False
    ) -> CalculatedCostWithDimensions:
        """The cost of a run: its run dimensions plus its requests' costs, by dimension.

        Request costs are recalculated from the records, or with
        ``recalculate_request_costs=False`` read from what the records
        saved. `save` also saves each request's cost on its record and adds
        the cost statistics to the result's `stats` (`Result.contribute_stats`).
        """
        records = _records(result)
        if recalculate_request_costs:
            costs = [await self.calculate_request_cost(r, save=save) for r in records]
        else:
            loaded = (CalculatedCostWithDimensions.load_from_namespace(r, PREFIX) for r in records)
            costs = [cost for cost in loaded if cost]
        tokens = sum(n for r in records if isinstance(n := r.num_tokens_output, int))
        return await self._run_cost(result, costs, tokens, save)

    async def _run_cost(
        self,
        result: Any,  # a Result, or a stand-in (LLMeter's tests pass mocks)
        request_costs: Sequence[CalculatedCostWithDimensions],
        output_tokens: int,
        save: bool,
    ) -> CalculatedCostWithDimensions:
        cost = CalculatedCostWithDimensions(
            {name: await dim.calculate(result) for name, dim in self.run_dims.items()}
        )
        if request_costs:
            cost.merge(sum(request_costs, CalculatedCostWithDimensions()))
        if save:
            if not isinstance(result, Result):  # (a Result keeps its costs in its stats)
                cost.save_on_namespace(result, key_prefix=PREFIX)
            stats = self._statistics(result, cost, request_costs, output_tokens)
            result._update_contributed_stats(stats)
        return cost

    @staticmethod
    def _statistics(
        result: Any,
        cost: CalculatedCostWithDimensions,
        request_costs: Sequence[CalculatedCostWithDimensions],
        output_tokens: int,
    ) -> dict[str, float]:
        method = result.percentile_method if isinstance(result, Result) else "llmeter"
        stats = CalculatedCostWithDimensions.summary_statistics(
            request_costs,
            key_prefix=PREFIX,
            key_dim_name_suffix="_per_request",
            key_total_name_and_suffix="per_request",  # (cost_total_per_request would confuse)
            percentile_method=method,
        )
        # the run's cost by dimension; parts nothing could price (failed requests) add 0
        priced = CalculatedCostWithDimensions({k: v or 0.0 for k, v in cost.items()})
        priced.save_on_namespace(stats, key_prefix=PREFIX)
        total = stats[f"{PREFIX}total"] = priced.total or 0.0
        requests = result.total_requests
        if output_tokens > 0:
            stats[f"{PREFIX}per_million_output_tokens"] = total * 1_000_000 / output_tokens
        if isinstance(requests, int) and requests > 0:
            stats[f"{PREFIX}per_1000_requests"] = total * 1000 / requests
        return stats

    # -- as a run's callback -------------------------------------------------------------

    async def before_run(self, run_config: Any) -> None:
        """Start counting a new run, and tell the run dimensions."""
        self._run = _RunCosts()
        for dim in self.run_dims.values():
            await dim.before_run_start(run_config)

    async def after_invoke(self, response: InvocationResponse) -> None:
        """Price the record and keep the cost on it (saved with it); enforce `max_cost`.

        `max_cost` is checked as each record arrives, in the order they
        finish. The first record that brings the request costs counted so
        far to `max_cost` or more stops the load: at that moment the count is
        at least `max_cost` and less than `max_cost` plus that one request's
        cost. Requests already in flight then finish and are counted too (a
        provider bills them): at most ``clients - 1`` more in a closed loop
        (open loop: its ``max_concurrency``), each adding one request's cost.
        """
        cost = await self.calculate_request_cost(response, save=True)
        run = self._run
        if run is None:
            run = self._run = _RunCosts()
        run.requests.append(cost)
        if isinstance(tokens := response.num_tokens_output, int):
            run.output_tokens += tokens
        total = cost.total
        if total is not None:
            run.spent += total
        if self.max_cost is not None and run.spent_at_stop is None and run.spent >= self.max_cost:
            from ...engine import stop_run  # (the engine imports the callbacks)

            run.spent_at_stop = run.spent
            stop_run(
                f"max_cost reached: the requests recorded cost {run.spent:.6g} "
                f"(max_cost {self.max_cost:g})"
            )

    async def after_run(self, result: Result, interrupted: bool = False) -> None:
        """Add the run's cost and its statistics to `result.stats` (interrupted runs too).

        When `max_cost` stopped the load, ``cost_when_stopped`` is what the
        requests counted had cost at that moment (``cost_total`` adds those
        in flight then, and any run dimensions).
        """
        run = self._run or _RunCosts()
        self._run = None
        await self._run_cost(result, run.requests, run.output_tokens, save=True)
        if run.spent_at_stop is not None:
            result._update_contributed_stats({f"{PREFIX}when_stopped": run.spent_at_stop})

    # -- saving ----------------------------------------------------------------------

    def to_dict(self, **kwargs: Any) -> dict[str, Any]:
        document: dict[str, Any] = {
            "_type": type(self).__name__,
            "request_dims": {k: d.to_dict() for k, d in self.request_dims.items()},
            "run_dims": {k: d.to_dict() for k, d in self.run_dims.items()},
        }
        if self.max_cost is not None:
            document["max_cost"] = self.max_cost
        document.update(kwargs)
        return document

    @classmethod
    def from_dict(
        cls,
        raw: Mapping[str, Any],
        alt_classes: Mapping[str, type[Any]] | None = None,
        **kwargs: Any,
    ) -> CostModel:
        """A model from `to_dict`'s dict; `alt_classes` adds your own dimension classes by name."""
        classes = {name: getattr(dimensions, name) for name in dimensions.__all__}
        classes.update(alt_classes or {})
        args = {k: v for k, v in raw.items() if k != "_type"}
        for key in ("request_dims", "run_dims"):
            if key in args:
                args[key] = {
                    name: from_dict_with_class_map(d, classes) for name, d in args[key].items()
                }
        return cls(**args, **kwargs)

    def save_to_file(self, path: Location) -> None:
        """Save the model (every dimension) as a JSON file; `CostModel.from_file` reads it."""
        self.to_file(path)


def _records(result: Result) -> list[InvocationResponse]:
    """The result's records: held in memory, else read back from its folder."""
    responses: Iterable[InvocationResponse] = result.responses
    if isinstance(result, Result) and not result.responses:
        responses = result.iter_records()
    return list(responses)
