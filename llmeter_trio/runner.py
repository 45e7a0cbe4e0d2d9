"""LLMeter's `llmeter.runner` path: `Runner` and the `Result` it returns.

This `Runner` is the engine's (`llmeter_trio.Runner`) with LLMeter's default
for an interrupted run: on Ctrl-C or SIGTERM, `run` saves and *returns* the
partial result (``result.interrupted`` and ``result.stats["interrupted"]``
true) instead of raising `RunInterrupted`. Pass ``on_interrupt="raise"`` to
either for the exception.
"""

from __future__ import annotations

import attrs

from .engine import Runner as _EngineRunner
from .engine._run import OnInterrupt
from .results import Result

__all__ = ["Result", "Runner"]


@attrs.define
class Runner(_EngineRunner):
    """`llmeter_trio.Runner`, returning the partial result of an interrupted run as LLMeter."""

    on_interrupt: OnInterrupt = "return"
