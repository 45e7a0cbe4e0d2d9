"""Callbacks: objects whose hooks a run calls (cost and MLflow callbacks come later).

`current_experiment()` tells a callback whether its run is a level of an
experiment (a LoadTest, a Sweep), and which.
"""

from ._base import Callback as Callback
from ._experiment import Experiment as Experiment
from ._experiment import current_experiment as current_experiment

__all__ = ["Callback", "Experiment", "current_experiment"]
