"""Experiments that combine runs: `LoadTest` and its `LoadTestResult`.

Like LLMeter's ``llmeter.experiments``; charts need the ``plot`` extra.
"""

from ._load_test import LoadTest as LoadTest
from ._load_test_result import LoadTestResult as LoadTestResult

# -- LatencyHeatmap (llmeter_trio/experiments/_heatmap.py): the lead adds its re-export here --

__all__ = ["LoadTest", "LoadTestResult"]
