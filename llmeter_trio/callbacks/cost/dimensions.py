"""Cost dimensions: the parts a price is made of.

A *request dimension* prices one record (its input, cached-input, output or
reasoning tokens); a *run dimension* prices a whole run (instance-hours, the
time an endpoint was up). A `CostModel` adds up the dimensions it is given.

How the records count tokens, and so how to combine the dimensions: a
record's `num_tokens_input` is the whole prompt, cache reads
(`num_tokens_input_cached`) and cache writes (`num_tokens_input_cache_write`)
included, and its `num_tokens_output` is everything generated, reasoning
(`num_tokens_output_reasoning`) included, as providers bill it. So price the
input either with `InputTokens` alone, or with `UncachedInputTokens`,
`CachedInputTokens` and `CacheWriteTokens` together; `ReasoningTokens` is
charged on top of `OutputTokens` (give it the difference of the two prices
when a provider prices reasoning apart).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ..._checks import numeric
from .serde import ISerializable, JSONableBase

if TYPE_CHECKING:
    from ...endpoints import InvocationResponse
    from ...results import Result

__all__ = [
    "CacheWriteTokens",
    "CachedInputTokens",
    "EndpointTime",
    "IRequestCostDimension",
    "IRunCostDimension",
    "InputTokens",
    "InstanceHours",
    "OutputTokens",
    "ReasoningTokens",
    "RequestCostDimensionBase",
    "RunCostDimensionBase",
    "UncachedInputTokens",
]


class IRequestCostDimension(ISerializable, Protocol):
    """One part of the cost of each request."""

    async def calculate(self, response: InvocationResponse) -> float | None:
        """This part of the cost of one record; None when it cannot be priced."""
        ...


class IRunCostDimension(ISerializable, Protocol):
    """One part of the cost of a whole run."""

    async def before_run_start(self, run_config: Any) -> None:
        """The run is about to start."""
        ...

    async def calculate(self, result: Result) -> float | None:
        """This part of the cost of a finished run; None when it cannot be priced."""
        ...


class _Abstract:
    """Says which methods are missing, as Python 3.12 does, on any version."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        missing = getattr(cls, "__abstractmethods__", ())
        if missing:  # (the wording of Python 3.12's own message)
            raise TypeError(
                f"Can't instantiate abstract class {cls.__name__} without an implementation "
                f"for abstract method {', '.join(repr(m) for m in sorted(missing))}"
            )
        return super().__new__(cls)


class RequestCostDimensionBase(_Abstract, JSONableBase, ABC):
    """Base for request dimensions: implement `calculate`."""

    @abstractmethod
    async def calculate(self, response: InvocationResponse) -> float | None:
        """This part of the cost of one record; None when it cannot be priced."""


class RunCostDimensionBase(_Abstract, JSONableBase, ABC):
    """Base for run dimensions: implement `calculate` (and `before_run_start` if needed)."""

    async def before_run_start(self, run_config: Any) -> None:
        """The run is about to start (nothing to do by default)."""

    @abstractmethod
    async def calculate(self, result: Result) -> float | None:
        """This part of the cost of a finished run; None when it cannot be priced."""


def _per_million(tokens: int | None, price: float, granularity: int) -> float | None:
    """`tokens`, rounded up to whole billing increments, at `price` per million."""
    if not isinstance(tokens, int):
        return None
    return math.ceil(tokens / granularity) * granularity * price / 1_000_000


def _per_hour(seconds: float | None, price: float, granularity: float) -> float | None:
    """`seconds`, rounded up to whole billing increments, at `price` per hour."""
    if not isinstance(seconds, int | float):
        return None
    return math.ceil(seconds / granularity) * granularity * price / 3600


_price = numeric(at_least=0)
_increment = numeric(whole=True)


@attrs.define
class InputTokens(RequestCostDimensionBase):
    """Every input (prompt) token, cached or not, at `price_per_million`.

    `granularity`: tokens are billed in increments of this many.
    """

    price_per_million: float = attrs.field(validator=_price)
    granularity: int = attrs.field(default=1, validator=_increment)

    async def calculate(self, response: InvocationResponse) -> float | None:
        return _per_million(response.num_tokens_input, self.price_per_million, self.granularity)


@attrs.define
class OutputTokens(RequestCostDimensionBase):
    """Every output token (reasoning included) at `price_per_million`."""

    price_per_million: float = attrs.field(validator=_price)
    granularity: int = attrs.field(default=1, validator=_increment)

    async def calculate(self, response: InvocationResponse) -> float | None:
        return _per_million(response.num_tokens_output, self.price_per_million, self.granularity)


@attrs.define
class UncachedInputTokens(RequestCostDimensionBase):
    """Input tokens neither read from nor written to a prompt cache, at `price_per_million`."""

    price_per_million: float = attrs.field(validator=_price)
    granularity: int = attrs.field(default=1, validator=_increment)

    async def calculate(self, response: InvocationResponse) -> float | None:
        tokens = response.num_tokens_input
        if not isinstance(tokens, int):
            return None
        cached = response.num_tokens_input_cached or 0
        written = response.num_tokens_input_cache_write or 0
        uncached = max(0, tokens - cached - written)
        return _per_million(uncached, self.price_per_million, self.granularity)


@attrs.define
class CachedInputTokens(RequestCostDimensionBase):
    """Input tokens read from a prompt cache, at `price_per_million` (none reported: 0)."""

    price_per_million: float = attrs.field(validator=_price)
    granularity: int = attrs.field(default=1, validator=_increment)

    async def calculate(self, response: InvocationResponse) -> float | None:
        if not isinstance(response.num_tokens_input, int):
            return None
        cached = response.num_tokens_input_cached or 0
        return _per_million(cached, self.price_per_million, self.granularity)


@attrs.define
class CacheWriteTokens(RequestCostDimensionBase):
    """Input tokens written to a prompt cache, at `price_per_million` (none reported: 0)."""

    price_per_million: float = attrs.field(validator=_price)
    granularity: int = attrs.field(default=1, validator=_increment)

    async def calculate(self, response: InvocationResponse) -> float | None:
        if not isinstance(response.num_tokens_input, int):
            return None
        written = response.num_tokens_input_cache_write or 0
        return _per_million(written, self.price_per_million, self.granularity)


@attrs.define
class ReasoningTokens(RequestCostDimensionBase):
    """Reasoning tokens, at `price_per_million`, on top of `OutputTokens` (none reported: 0)."""

    price_per_million: float = attrs.field(validator=_price)
    granularity: int = attrs.field(default=1, validator=_increment)

    async def calculate(self, response: InvocationResponse) -> float | None:
        if not isinstance(response.num_tokens_output, int):
            return None
        reasoning = response.num_tokens_output_reasoning or 0
        return _per_million(reasoning, self.price_per_million, self.granularity)


@attrs.define
class EndpointTime(RunCostDimensionBase):
    """The run's duration (`Result.total_test_time`) at `price_per_hour`.

    `granularity_secs`: time is billed in increments of this many seconds.
    """

    price_per_hour: float = attrs.field(validator=_price)
    granularity_secs: float = attrs.field(default=1, validator=numeric())

    async def calculate(self, result: Result) -> float | None:
        return _per_hour(result.total_test_time, self.price_per_hour, self.granularity_secs)


@attrs.define
class InstanceHours(RunCostDimensionBase):
    """`instances` instances for the run's duration, at `price_per_hour` each."""

    price_per_hour: float = attrs.field(validator=_price)
    instances: int = attrs.field(default=1, validator=_increment)
    granularity_secs: float = attrs.field(default=1, validator=numeric())

    async def calculate(self, result: Result) -> float | None:
        one = _per_hour(result.total_test_time, self.price_per_hour, self.granularity_secs)
        return None if one is None else one * self.instances
