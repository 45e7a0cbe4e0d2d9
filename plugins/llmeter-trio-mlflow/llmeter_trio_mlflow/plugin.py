"""The entry point llmeter-trio loads (``[project.entry-points.llmeter_trio] mlflow``).

It registers `MlflowCallback` as the "mlflow" callback, so a run takes
``{"callback_type": "mlflow", ...}`` and the command line
``--callback mlflow:{"experiment_name": "load tests"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmeter_trio import hookimpl

from ._callback import MlflowCallback

__all__ = ["register_callbacks"]


@hookimpl
def register_callbacks(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register `MlflowCallback` with llmeter-trio, as "mlflow"."""
    register(MlflowCallback.callback_type, MlflowCallback)
