"""LLMeter's ``llmeter.callbacks.mlflow`` path: `MlflowCallback`.

The class comes from the llmeter-trio-mlflow plugin distribution.
"""

from __future__ import annotations

from ..endpoints._provider_module import import_provider

_mlflow = import_provider(
    "llmeter_trio_mlflow", "llmeter-trio-mlflow", "MlflowCallback and MLflow logging"
)
MlflowCallback = _mlflow.MlflowCallback

__all__ = ["MlflowCallback"]
