"""LLMeter's ``llmeter.callbacks.base`` path: the `Callback` base class."""

from ._base import Callback as Callback

__all__ = ["Callback"]
