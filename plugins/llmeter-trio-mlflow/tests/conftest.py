"""A real MLflow tracking store for each test, read back with MLflow's own client.

One SQLite database per test session (making its tables takes seconds), in a
temporary folder; each test logs to an experiment of its own in it, whose
artifacts go to the test's own folder. Nothing of the machine's MLflow
settings (``MLFLOW_*`` variables, an active run) reaches a test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import attrs
import fsspec
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Run

from llmeter_trio import plugins

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@attrs.frozen
class Store:
    """The test's tracking store and its experiment, and ways to read them back."""

    uri: str
    experiment_name: str
    experiment_id: str
    client: MlflowClient

    def runs(self) -> list[Run]:
        """Every run of the test's experiment, oldest first."""
        found = self.client.search_runs(
            [self.experiment_id], order_by=["attributes.start_time ASC"], max_results=1000
        )
        return list(found)

    def run_named(self, name: str) -> Run:
        (run,) = [r for r in self.runs() if r.info.run_name == name]
        return run

    def children(self, parent: Run) -> list[Run]:
        """The runs nested under `parent`, oldest first."""
        nested = [
            r for r in self.runs() if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id
        ]
        return sorted(
            nested, key=lambda r: (r.info.start_time, r.data.tags.get("llmeter_trio.level", ""))
        )

    def artifacts(self, run: Run) -> set[str]:
        """The paths of a run's artifacts, files only, at any depth."""
        paths: set[str] = set()
        pending: list[Any] = [None]
        while pending:
            for entry in self.client.list_artifacts(run.info.run_id, pending.pop()):
                if entry.is_dir:
                    pending.append(entry.path)
                else:
                    paths.add(entry.path)
        return paths

    def callback_options(self) -> dict[str, str]:
        """What an `MlflowCallback` needs to log to this store and experiment."""
        return {"tracking_uri": self.uri, "experiment_name": self.experiment_name}


def saved_files(folder: str | Path) -> set[str]:
    """The paths of every file in a run folder (any fsspec URL), relative to it."""
    fs, _, (root,) = fsspec.get_fs_token_paths(str(folder))
    return {path.removeprefix(root.rstrip("/") + "/") for path in fs.find(root)}


@pytest.fixture(autouse=True)
def _no_mlflow_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test logs where the machine's settings point, nor leaves a run active."""
    for name in list(os.environ):
        if name.startswith("MLFLOW_"):
            monkeypatch.delenv(name)
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite tracking database for the session, its tables made once."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"
    MlflowClient(tracking_uri=uri).search_experiments()  # makes the tables
    return uri


@pytest.fixture
def store(database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The test's own experiment in the session's store, its artifacts in the test's folder;
    MLflow's default tracking URI points at the store too."""
    monkeypatch.chdir(tmp_path)  # anything MLflow would write by default stays here
    client = MlflowClient(tracking_uri=database)
    name = f"test-{uuid.uuid4().hex[:12]}"
    experiment_id = client.create_experiment(
        name, artifact_location=(tmp_path / "artifacts").as_uri()
    )
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(database)
    yield Store(database, name, experiment_id, client)
    mlflow.set_tracking_uri(previous)


@pytest.fixture
def installed_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The plugin as installed: the entry point its pyproject declares, nothing else."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    declared = tomllib.loads(PYPROJECT.read_text())
    group = declared["project"]["entry-points"][plugins.ENTRY_POINT_GROUP]
    points = [
        EntryPoint(name=n, value=v, group=plugins.ENTRY_POINT_GROUP) for n, v in group.items()
    ]
    monkeypatch.setattr(plugins, "entry_points", lambda group: points)
    monkeypatch.setattr(plugins, "_manager", None)
    yield
    plugins._manager = None
