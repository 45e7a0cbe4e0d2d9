"""Experiments that combine runs: `LoadTest`, `LatencyHeatmap`, `Sweep`, and their results.

Like LLMeter's ``llmeter.experiments``; charts need the ``plot`` extra.
"""

from ._heatmap import LatencyHeatmap as LatencyHeatmap
from ._heatmap import LatencyHeatmapResult as LatencyHeatmapResult
from ._load_test import LoadTest as LoadTest
from ._load_test_result import LoadTestResult as LoadTestResult
from ._sweep import Sweep as Sweep
from ._sweep import SweepResult as SweepResult
from ._sweep import SweepStep as SweepStep

__all__ = [
    "LatencyHeatmap",
    "LatencyHeatmapResult",
    "LoadTest",
    "LoadTestResult",
    "Sweep",
    "SweepResult",
    "SweepStep",
]
