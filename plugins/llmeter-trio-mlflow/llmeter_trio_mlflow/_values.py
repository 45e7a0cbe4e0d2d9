"""What of a run MLflow gets: parameters from its settings, metrics from its statistics.

Pure functions of llmeter-trio's values (no MLflow here), so that what is
logged can be read and tested on its own.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_PARAM_LENGTH",
    "experiment_params",
    "metric_name",
    "run_metrics",
    "run_params",
]

MAX_NAME_LENGTH = 250  # MLflow's limit on a parameter, metric or tag name
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a parameter's value (older servers: 500)

# A run configuration's nested settings, under a shorter prefix.
_PREFIXES = {"endpoint_config": "endpoint", "tokenizer_config": "tokenizer"}
# Not parameters: the payloads are data (the run folder's run_config.json keeps them).
_LEFT_OUT = frozenset({"payload"})
# LLMeter's MlflowCallback logs these result fields as parameters too.
LLMETER_RESULT_PARAMS = ("model_id", "endpoint_name", "provider", "total_requests")
_NOT_A_NAME = re.compile(r"[^\w./\- ]")


def metric_name(name: str) -> str:
    """`name` as MLflow accepts it: letters, digits, ``_ - . / space``; others become ``_``."""
    return _NOT_A_NAME.sub("_", name).strip("/")[:MAX_NAME_LENGTH] or "_"


def _text(value: Any) -> str:
    """A parameter's value as text: JSON for lists and mappings, cut to MLflow's limit."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if len(text) > MAX_PARAM_LENGTH:
        text = text[: MAX_PARAM_LENGTH - 1] + "…"
    return text


def _flatten(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{name}.")
        else:
            yield name, value


def run_params(run_config: Mapping[str, Any], result_fields: Mapping[str, Any]) -> dict[str, str]:
    """The parameters of a run: its saved settings (``run_config.json``, which holds no
    secret), flattened (``endpoint.model_id``), without the payloads; then LLMeter's
    parameters from the result. Settings left unset (None) are left out."""
    params: dict[str, Any] = {}
    for key, value in run_config.items():
        if key in _LEFT_OUT:
            continue
        if isinstance(value, Mapping) and value:
            prefix = _PREFIXES.get(key, key)
            params.update((f"{prefix}.{k}", v) for k, v in _flatten(value) if v is not None)
        elif value is not None:
            params[key] = value
    payloads = run_config.get("payload")
    if isinstance(payloads, list):
        params["payload_count"] = len(payloads)
    for key in LLMETER_RESULT_PARAMS:
        if result_fields.get(key) is not None:
            params.setdefault(key, result_fields[key])
    return {metric_name(k): _text(v) for k, v in params.items()}


def experiment_params(parameters: Mapping[str, Any]) -> dict[str, str]:
    """The parameters of an experiment's parent run: its settings, unset ones left out."""
    return {metric_name(k): _text(v) for k, v in _flatten(parameters) if v is not None}


def run_metrics(stats: Mapping[str, Any]) -> dict[str, float]:
    """Every statistic that is a number, as a metric: true/false as 1/0, nested ones
    (``generator``, ``errors_by_class``) as ``generator.cpu_utilization``; text,
    times and unset values are not metrics, nor NaN or infinity."""
    metrics: dict[str, float] = {}
    for name, value in _flatten(stats):
        if isinstance(value, (bool, int, float)) and math.isfinite(value):
            metrics[metric_name(name)] = float(value)
    return metrics
