"""Callbacks: objects whose hooks a run calls; `CostModel` prices requests and runs.

`current_experiment()` tells a callback whether its run is a level of an
experiment (a LoadTest, a Sweep), and which.
"""

from ._base import Callback as Callback
from ._experiment import Experiment as Experiment
from ._experiment import current_experiment as current_experiment
from .cost import CostModel as CostModel

__all__ = ["Callback", "CostModel", "Experiment", "current_experiment"]
