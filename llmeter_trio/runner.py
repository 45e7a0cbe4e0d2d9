"""LLMeter's `llmeter.runner` path: `Runner` and the `Result` it returns."""

from __future__ import annotations

from .engine import Runner
from .results import Result

__all__ = ["Result", "Runner"]
