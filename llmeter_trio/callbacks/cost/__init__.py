"""What a run costs: `CostModel`, its dimensions, and prices as data.

Some prices apply to each request (input, cached-input, output and reasoning
tokens), others to the run as a whole (instance-hours, the time an endpoint is
up). A `CostModel` adds up the dimensions it is given: pass it as a run's
callback and each record carries its cost, `Result.stats` the run's cost
statistics, and ``max_cost`` caps what a run may spend; or price saved
results on demand with its ``calculate_*`` methods. LLMeter's design and
names (``llmeter.callbacks.cost``).
"""

from .dimensions import CachedInputTokens as CachedInputTokens
from .dimensions import CacheWriteTokens as CacheWriteTokens
from .dimensions import EndpointTime as EndpointTime
from .dimensions import InputTokens as InputTokens
from .dimensions import InstanceHours as InstanceHours
from .dimensions import OutputTokens as OutputTokens
from .dimensions import ReasoningTokens as ReasoningTokens
from .dimensions import UncachedInputTokens as UncachedInputTokens
from .model import CostModel as CostModel
from .prices import load_prices as load_prices
from .prices import preset_names as preset_names
from .results import CalculatedCostWithDimensions as CalculatedCostWithDimensions

__all__ = [
    "CacheWriteTokens",
    "CachedInputTokens",
    "CalculatedCostWithDimensions",
    "CostModel",
    "EndpointTime",
    "InputTokens",
    "InstanceHours",
    "OutputTokens",
    "ReasoningTokens",
    "UncachedInputTokens",
    "load_prices",
    "preset_names",
]
