"""Where the experiments find their collaborators: on `llmeter_trio.experiments`, LLMeter's module.

LLMeter's users patch ``llmeter.experiments.Runner`` (and
``CreatePromptCollection``, ``plot_heatmap``, ``plot_load_test_results``) in
their own tests. Looking these names up on the package when they are used,
rather than binding them at import, keeps such patches working once the
import says ``llmeter_trio``.
"""

from __future__ import annotations

import sys
from types import ModuleType

__all__ = ["experiments"]


def experiments() -> ModuleType:
    """The `llmeter_trio.experiments` package, as it is now (patched names included)."""
    return sys.modules[__name__.rpartition(".")[0]]
