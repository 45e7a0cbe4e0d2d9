"""The load engine: `Runner` and one run's nurseries, deadline and writer."""

from ._run import RunInterrupted as RunInterrupted
from ._runner import Runner as Runner
from ._writer import LiveProgress as LiveProgress

__all__ = ["LiveProgress", "RunInterrupted", "Runner"]
