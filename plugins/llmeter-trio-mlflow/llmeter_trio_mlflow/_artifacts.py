"""A run's folder as MLflow artifacts, wherever fsspec keeps it (a local path, s3://, memory://)."""

from __future__ import annotations

import json
import posixpath
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmeter_trio.results import RUN_CONFIG_FILE
from llmeter_trio.storage import resolve

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["log_experiment_files", "log_run_folder"]


def _is_local(fs: Any) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    return "file" in protocols or "local" in protocols


def log_run_folder(
    client: MlflowClient, run_id: str, folder: str | None, run_config: dict[str, Any]
) -> None:
    """Every file of the run folder, at the artifacts' root; a run saved nowhere logs its
    configuration (``run_config.json``, which holds no secret) instead."""
    if folder is None:
        text = json.dumps(run_config, indent=2, sort_keys=True, default=str)
        client.log_text(run_id, text, RUN_CONFIG_FILE)
        return
    fs, path = resolve(folder)
    if _is_local(fs):
        client.log_artifacts(run_id, path)
        return
    with tempfile.TemporaryDirectory() as copy:
        fs.get(path.rstrip("/") + "/", copy, recursive=True)
        client.log_artifacts(run_id, copy)


def log_experiment_files(client: MlflowClient, run_id: str, folder: str) -> None:
    """The files directly in an experiment's folder (a sweep's ``sweep.json``); its levels'
    folders are their own runs' artifacts."""
    fs, path = resolve(folder)
    if not fs.exists(path):
        return
    files = [entry["name"] for entry in fs.ls(path, detail=True) if entry["type"] == "file"]
    if _is_local(fs):
        for name in files:
            client.log_artifact(run_id, name)
        return
    with tempfile.TemporaryDirectory() as copy:
        for name in files:
            local = Path(copy) / posixpath.basename(name)
            fs.get_file(name, str(local))
            client.log_artifact(run_id, str(local))
