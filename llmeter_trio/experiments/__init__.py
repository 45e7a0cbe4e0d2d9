"""Experiments that combine runs: `LoadTest`, `LatencyHeatmap`, `Sweep`, `Quota`, and their
results.

LLMeter's ``llmeter.experiments``; charts need the ``plotting`` extra. The
experiments look up `Runner`, `CreatePromptCollection`, `plot_heatmap` and
`plot_load_test_results` here when they use them, so patching these names on
this module (as LLMeter users' tests do) takes effect.
"""

from ..engine import Runner as Runner
from ..plotting.plotting import color_sequences as color_sequences
from ..plotting.plotting import plot_heatmap as plot_heatmap
from ..plotting.plotting import plot_load_test_results as plot_load_test_results
from ..prompts import CreatePromptCollection as CreatePromptCollection
from ..results import Result as Result
from ._heatmap import LatencyHeatmap as LatencyHeatmap
from ._heatmap import LatencyHeatmapResult as LatencyHeatmapResult
from ._load_test import LoadTest as LoadTest
from ._load_test_result import LoadTestResult as LoadTestResult
from ._quota import Quota as Quota
from ._quota import QuotaResult as QuotaResult
from ._quota import QuotaStep as QuotaStep
from ._sweep import Sweep as Sweep
from ._sweep import SweepResult as SweepResult
from ._sweep import SweepStep as SweepStep

__all__ = [
    "LatencyHeatmap",
    "LatencyHeatmapResult",
    "LoadTest",
    "LoadTestResult",
    "Quota",
    "QuotaResult",
    "QuotaStep",
    "Sweep",
    "SweepResult",
    "SweepStep",
]
