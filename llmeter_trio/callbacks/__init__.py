"""Callbacks: objects whose hooks a run calls; `CostModel` prices requests and runs."""

from ._base import Callback as Callback
from .cost import CostModel as CostModel

__all__ = ["Callback", "CostModel"]
