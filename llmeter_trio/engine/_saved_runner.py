"""`Runner.save` / `Runner.load`: a Runner's settings as a JSON document, as LLMeter keeps them.

The document has LLMeter's keys (``endpoint``, ``tokenizer``, ``payload`` as
the path of a ``payload.jsonl`` saved beside it, ``clients``, ...) and this
project's settings beside them. `load` also reads the ``run_config.json`` of a
run folder, saved by LLMeter or by llmeter-trio (``endpoint_config``,
payloads inline), so a saved run can be run again.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ..endpoints import Endpoint
from ..endpoints._base import _unmask_url, mask_url
from ..plugins import schedule_from_config, tokenizer_from_config
from ..prompts import save_payloads
from ..storage import read_json, resolve, write_json
from ..tokenizers import tokenizer_to_config
from ..workloads import Sessions
from ._retry import Retry

if TYPE_CHECKING:
    from ._runner import Runner

__all__ = ["load_runner", "save_runner"]

R = TypeVar("R", bound="Runner")

# Runner fields not saved: code (callbacks) or saved under LLMeter's key
_NOT_SAVED = ("callbacks", "endpoint", "tokenizer", "payload", "schedule", "run_duration")
# a run's own record of its settings, not a Runner setting
_RUN_ONLY = ("schema_version", "endpoint_config", "tokenizer_config", "callbacks")


def save_runner(runner: Runner, output_path: str | os.PathLike[str] | None, file_name: str) -> str:
    """Write `runner`'s settings to ``{output_path}/{file_name}``; return that path."""
    folder = output_path if output_path is not None else runner.output_path
    if folder is None:
        raise ValueError("no output path: pass one to save(), or set the Runner's output_path")
    fs, path = resolve(os.fspath(folder))
    fs.makedirs(path, exist_ok=True)
    payload: Any = runner.payload
    if payload is not None and not isinstance(payload, str | os.PathLike):
        payload = save_payloads(payload, folder)  # as LLMeter: the file's path is saved
    endpoint = runner.endpoint
    document: dict[str, Any] = {
        "endpoint": endpoint.to_dict() if isinstance(endpoint, Endpoint) else endpoint,
        "tokenizer": tokenizer_to_config(runner.tokenizer),
        "payload": None if payload is None else os.fspath(payload),
        "run_duration": _seconds(runner.run_duration),
        "schedule": runner.schedule.to_config() if runner.schedule is not None else None,
    }
    for field in attrs.fields(type(runner)):
        if field.name not in _NOT_SAVED:
            value = getattr(runner, field.name)
            if isinstance(value, Retry | Sessions):  # saved as their options, taken back
                value = value.to_config()
            document[field.name] = os.fspath(value) if isinstance(value, os.PathLike) else value
    document["server_metrics"] = mask_url(document.get("server_metrics"))  # never credentials
    if document["slos"] is not None:
        document["slos"] = list(document["slos"])
    target = posixpath.join(path, file_name)
    write_json(fs, target, document)
    return target


def load_runner(cls: type[R], load_path: str | os.PathLike[str], file_name: str) -> R:
    """A Runner of class `cls` with the settings saved at ``{load_path}/{file_name}``."""
    fs, path = resolve(os.fspath(load_path))
    document = read_json(fs, posixpath.join(path, file_name))
    endpoint = document.get("endpoint", document.get("endpoint_config"))
    tokenizer = document.get("tokenizer", document.get("tokenizer_config"))
    schedule = document.get("schedule")
    fields = attrs.fields_dict(cls)
    settings = {
        key: value
        for key, value in document.items()
        if key in fields and key not in _RUN_ONLY and key not in ("endpoint", "tokenizer")
    }
    if isinstance(settings.get("server_metrics"), str):  # saved masked: the masks are no values
        settings["server_metrics"] = _unmask_url(settings["server_metrics"])
    if isinstance(settings.get("slos"), list) and not settings["slos"]:
        settings["slos"] = None
    saved_in, name = settings.get("output_path"), settings.get("run_name")
    if isinstance(saved_in, str) and name and posixpath.basename(saved_in.rstrip("/")) == name:
        settings["output_path"] = posixpath.dirname(saved_in.rstrip("/"))  # a run's own folder
    settings.update(
        endpoint=Endpoint.load(endpoint) if isinstance(endpoint, Mapping) else None,
        tokenizer=tokenizer_from_config(tokenizer) if isinstance(tokenizer, Mapping) else None,
        schedule=schedule_from_config(schedule) if isinstance(schedule, Mapping) else None,
    )
    return cls(**settings)


def _seconds(duration: float | timedelta | None) -> float | None:
    return duration.total_seconds() if isinstance(duration, timedelta) else duration
