"""`MlflowCallback`: each run an MLflow run; a LoadTest or Sweep a parent run with nested levels.

When a run starts (``before_run``, before its clock does) the callback opens
its MLflow run; when it ends (``after_run``) it logs the run's parameters,
statistics and folder and ends the MLflow run ``FINISHED``, or ``KILLED``
if the run was interrupted. A run that is a level of an experiment
(`llmeter_trio.callbacks.current_experiment`) is nested under one parent run
for the experiment, made at its first level and ended with it.

MLflow's calls block (a database, a server), so they run in a worker thread,
never on the run's event loop; nothing happens per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import attrs
import trio

from llmeter_trio import Callback, Result, __version__
from llmeter_trio.callbacks import Experiment, current_experiment
from llmeter_trio.storage import converter

from ._artifacts import log_experiment_files, log_run_folder
from ._values import LLMETER_RESULT_PARAMS, experiment_params, run_metrics, run_params

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = [
    "KIND_TAG",
    "OUTCOME_TAG",
    "STOP_REASON_TAG",
    "MlflowCallback",
    "MlflowLoggingError",
]

OUTCOME_TAG = "llmeter_trio.outcome"  # "finished", "stopped" (stop_run) or "interrupted"
STOP_REASON_TAG = "llmeter_trio.stop_reason"  # why stop_run stopped it
KIND_TAG = "llmeter_trio.kind"  # "run", or the experiment's kind: "load_test", "sweep"
_PARENT_TAG = "mlflow.parentRunId"  # MLflow's own: how its UI nests runs
_NOTE_TAG = "mlflow.note.content"  # MLflow's own: the run's description in its UI
_MAX_TAG_LENGTH = 5000  # MLflow's limit is 8000 (older servers: 5000)


@attrs.frozen
class _Target:
    """An MLflow run being logged to; `owned` when made here, and so ended here."""

    run_id: str
    experiment_id: str
    owned: bool


@attrs.define
class _Parent:
    """An experiment's parent run, and how many levels it has had."""

    target: _Target
    levels: int = 0


@attrs.frozen
class _Level:
    """What `before_run` opened for one run, for its `after_run`."""

    target: _Target
    parent: _Parent | None = None
    number: int = 0  # the run's place among its experiment's levels


# One llmeter-trio run's open MLflow run, per callback (by id): `before_run` and `after_run`
# run in the run's own task, so concurrent runs sharing a callback each see their own.
_OPEN: ContextVar[Mapping[int, _Level] | None] = ContextVar(
    "llmeter_trio_mlflow_open", default=None
)
_PARENTS_LOCK = threading.RLock()  # one parent run per experiment, whatever thread asks


T = TypeVar("T")


class MlflowLoggingError(RuntimeError):
    """MLflow failed, and its message named the tracking URI's credentials: masked here."""


def _credentials(tracking_uri: str | None) -> list[str]:
    """What of a tracking URI must never be shown: its ``user:password`` and password."""
    if not tracking_uri:
        return []
    parts = urlsplit(tracking_uri)
    userinfo = parts.netloc.rpartition("@")[0]
    return [text for text in (userinfo, parts.password) if text]


def _milliseconds(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _outcome(result: Result, interrupted: bool) -> dict[str, str]:
    """The tags that say how a run ended."""
    if interrupted or result.interrupted:
        return {OUTCOME_TAG: "interrupted"}
    if result.stop_reason:
        return {OUTCOME_TAG: "stopped", STOP_REASON_TAG: result.stop_reason[:_MAX_TAG_LENGTH]}
    return {OUTCOME_TAG: "finished"}


class MlflowCallback(Callback):
    """Logs each run to MLflow: parameters, every statistic as a metric, the run folder.

    - `step`: the step the metrics are logged at (LLMeter's; default 0).
    - `nested`: with an MLflow run already active (``with mlflow.start_run():``),
      False (the default) logs into that run, True logs to a new run nested
      under it, named after the llmeter-trio run (LLMeter's meaning).
    - `tracking_uri`: where to log (default: MLflow's, ``MLFLOW_TRACKING_URI``).
    - `experiment_name`: the MLflow experiment, made if missing (default:
      MLflow's current one).
    - `log_artifacts`: log the run folder's files (default True).
    - `tags`: more tags for every MLflow run this callback makes.

    An active MLflow run is used only when neither `tracking_uri` nor
    `experiment_name` is given. Each level of a LoadTest or Sweep becomes a
    run nested under one parent run for the experiment (under the active
    run, or the active run itself when `nested` is False).
    """

    callback_type = "mlflow"

    def __init__(
        self,
        step: int | None = None,
        nested: bool = False,
        *,
        tracking_uri: str | None = None,
        experiment_name: str | None = None,
        log_artifacts: bool = True,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
            raise ValueError(f"MlflowCallback: step must be a whole number >= 0, not {step!r}")
        for name, flag in (("nested", nested), ("log_artifacts", log_artifacts)):
            if not isinstance(flag, bool):
                raise TypeError(f"MlflowCallback: {name} must be true or false, not {flag!r}")
        for name, text in (("tracking_uri", tracking_uri), ("experiment_name", experiment_name)):
            if text is not None and (not isinstance(text, str) or not text.strip()):
                raise ValueError(f"MlflowCallback: {name} must be a non-empty string")
        if tags is not None and not (
            isinstance(tags, Mapping) and all(isinstance(k, str) for k in tags)
        ):
            raise TypeError("MlflowCallback: tags must map names to values, like {'team': 'ml'}")
        import mlflow  # noqa: F401  (missing MLflow shows now, as in LLMeter, not mid-run)

        self.step = step
        self.nested = nested
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.log_artifacts = log_artifacts
        self.tags = {k: str(v) for k, v in (tags or {}).items()}

    def __repr__(self) -> str:  # the tracking URI may hold credentials: never shown
        return (
            f"MlflowCallback(step={self.step!r}, nested={self.nested!r}, "
            f"experiment_name={self.experiment_name!r})"
        )

    # -- the run hooks --------------------------------------------------------------

    async def before_run(self, run_config: dict[str, Any]) -> None:
        """Open the MLflow run (and the experiment's parent run at its first level)."""
        experiment = current_experiment()
        active = self._active_run()  # MLflow keeps it per thread: ask in this one
        level = await self._in_thread(self._open, run_config, experiment, active)
        _OPEN.set({**(_OPEN.get() or {}), id(self): level})

    async def after_run(self, result: Result, interrupted: bool) -> None:
        """Log the run's parameters, statistics and folder; end its MLflow run."""
        opened = _OPEN.get() or {}
        level = opened.get(id(self))
        if level is None:  # before_run did not open one
            return
        _OPEN.set({k: v for k, v in opened.items() if k != id(self)})
        await self._in_thread(self._log, level, result, interrupted)

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Call MLflow in a worker thread; an error naming the tracking URI's credentials
        becomes an `MlflowLoggingError` with them masked, chained to nothing."""
        secrets = _credentials(self.tracking_uri)
        if not secrets:
            return await trio.to_thread.run_sync(function, *args)
        try:
            return await trio.to_thread.run_sync(function, *args)
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            if not any(secret in text for secret in secrets):
                raise
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        raise MlflowLoggingError(f"MLflow logging failed: {text}")

    # -- where to log -----------------------------------------------------------

    def _client(self) -> MlflowClient:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri)

    def _active_run(self) -> _Target | None:
        """The MLflow run the user started in this thread, when this callback logs there."""
        if self.tracking_uri is not None or self.experiment_name is not None:
            return None
        import mlflow

        run = mlflow.active_run()
        if run is None:
            return None
        return _Target(run.info.run_id, run.info.experiment_id, owned=False)

    def _experiment_id(self, client: MlflowClient) -> str:
        if self.experiment_name is None:
            if self.tracking_uri is None:
                from mlflow.tracking.fluent import _get_experiment_id

                return _get_experiment_id() or "0"  # MLflow's current (or default) experiment
            return "0"  # the default experiment of the store named
        found = client.get_experiment_by_name(self.experiment_name)
        if found is not None:
            return str(found.experiment_id)
        return str(client.create_experiment(self.experiment_name))

    def _create(
        self,
        client: MlflowClient,
        experiment_id: str,
        name: str | None,
        tags: dict[str, str],
        parent: _Target | None,
    ) -> _Target:
        tags = {**self.tags, "llmeter_trio.version": __version__, **tags}
        if parent is not None:
            tags[_PARENT_TAG] = parent.run_id
        run = client.create_run(experiment_id, run_name=name, tags=tags)
        return _Target(run.info.run_id, experiment_id, owned=True)

    def _open(
        self, run_config: dict[str, Any], experiment: Experiment | None, active: _Target | None
    ) -> _Level:
        client = self._client()
        name = run_config.get("run_name")
        tags = {KIND_TAG: "run"}
        if run_config.get("run_description"):
            tags[_NOTE_TAG] = str(run_config["run_description"])[:_MAX_TAG_LENGTH]
        if experiment is not None:
            parent = self._parent(client, experiment, active)
            with _PARENTS_LOCK:
                number = parent.levels
                parent.levels += 1
            tags.update(
                {"llmeter_trio.experiment": experiment.name, "llmeter_trio.level": str(number)}
            )
            target = self._create(client, parent.target.experiment_id, name, tags, parent.target)
            return _Level(target, parent, number)
        if active is not None and not self.nested:
            return _Level(active)
        experiment_id = active.experiment_id if active is not None else self._experiment_id(client)
        return _Level(self._create(client, experiment_id, name, tags, active))

    def _parent(
        self, client: MlflowClient, experiment: Experiment, active: _Target | None
    ) -> _Parent:
        """The experiment's parent run: made at its first level, ended with it."""
        key = ("llmeter_trio_mlflow", self.tracking_uri, self.experiment_name, self.nested)
        with _PARENTS_LOCK:
            parent = experiment.shared.get(key)
            if parent is None:
                parent = experiment.shared[key] = self._new_parent(client, experiment, active)
            assert isinstance(parent, _Parent)
            return parent

    def _new_parent(
        self, client: MlflowClient, experiment: Experiment, active: _Target | None
    ) -> _Parent:
        tags = {KIND_TAG: experiment.kind, "llmeter_trio.experiment": experiment.name}
        if experiment.parent is not None:  # an experiment inside another: nested in its run
            outer = self._parent(client, experiment.parent, active).target
            target = self._create(client, outer.experiment_id, experiment.name, tags, outer)
        elif active is not None and not self.nested:  # the user's run is the parent
            target = active
            client.set_tag(active.run_id, KIND_TAG, experiment.kind)
        else:
            experiment_id = active.experiment_id if active else self._experiment_id(client)
            target = self._create(client, experiment_id, experiment.name, tags, active)
        _log_params(client, target, experiment_params(experiment.parameters))
        parent = _Parent(target)

        async def end(interrupted: bool) -> None:
            await self._in_thread(self._end_parent, parent, experiment, interrupted)

        experiment.at_end(end)
        return parent

    # -- what to log ------------------------------------------------------------

    def _log(self, level: _Level, result: Result, interrupted: bool) -> None:
        from mlflow.entities import Metric, RunTag

        client = self._client()
        run_id = level.target.run_id
        config = converter.unstructure(result.run_config)
        fields = {name: getattr(result, name, None) for name in LLMETER_RESULT_PARAMS}
        _log_params(client, level.target, run_params(config, fields))
        metrics = run_metrics(result.stats)
        now = int(time.time() * 1000)
        tags = _outcome(result, interrupted)
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, self.step or 0) for k, v in metrics.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        if level.parent is not None:  # the experiment's curve: one step per level
            client.log_batch(
                level.parent.target.run_id,
                metrics=[Metric(k, v, now, level.number) for k, v in metrics.items()],
            )
        if self.log_artifacts:
            folder = None if result.output_path is None else str(result.output_path)
            if folder is not None and result.contributed_stats:  # a callback before this one
                result.save_stats()  # added them: the stats.json logged has them too
            log_run_folder(client, run_id, folder, config)
        if level.target.owned:
            status = "KILLED" if tags[OUTCOME_TAG] == "interrupted" else "FINISHED"
            client.set_terminated(run_id, status, end_time=_milliseconds(result.end_time))

    def _end_parent(self, parent: _Parent, experiment: Experiment, interrupted: bool) -> None:
        from mlflow.entities import Metric, RunTag

        client = self._client()
        run_id = parent.target.run_id
        now = int(time.time() * 1000)
        found = run_metrics({k: v for k, v in experiment.summary.items() if v is not None})
        tags = {OUTCOME_TAG: "interrupted" if interrupted else "finished"}
        tags.update(
            {f"llmeter_trio.{k}": "none" for k, v in experiment.summary.items() if v is None}
        )
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in found.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        if self.log_artifacts and experiment.output_path is not None:
            log_experiment_files(client, run_id, experiment.output_path)
        if parent.target.owned:
            client.set_terminated(run_id, "KILLED" if interrupted else "FINISHED")


def _log_params(client: MlflowClient, target: _Target, params: Mapping[str, str]) -> None:
    """Log parameters; into a run the user started, only those it does not have yet
    (MLflow refuses to change a parameter, and a run may log several llmeter-trio runs)."""
    from mlflow.entities import Param

    if not target.owned:
        have = client.get_run(target.run_id).data.params
        params = {k: v for k, v in params.items() if k not in have}
    if params:
        client.log_batch(target.run_id, params=[Param(k, v) for k, v in params.items()])
