"""One llmeter-trio run, one MLflow run: its parameters, every statistic, its folder, how it ended.

Each test logs to a real SQLite tracking store (conftest.py) and reads it back
with MLflow's client. The runs go against `FakeEndpoint` in virtual time.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import attrs
import fsspec
import mlflow
import pytest
import trio
import trio.testing
from conftest import Store, saved_files
from llmeter_trio_mlflow import MlflowCallback, MlflowLoggingError
from llmeter_trio_mlflow._values import run_metrics

from llmeter_trio import Callback, FakeEndpoint, InvocationResponse, Result, Runner, stop_run
from llmeter_trio.callbacks import CostModel
from llmeter_trio.endpoints import secret_field

PAYLOAD = {"prompt": "one two three"}
RUN_FILES = {"run_config.json", "responses.jsonl", "stats.json", "summary.json"}  # at least


def endpoint(**options: Any) -> FakeEndpoint:
    return FakeEndpoint(time_to_first_token=0.2, inter_token_latency=0.05, output_tokens=5,
                        **options)  # fmt: skip


async def test_a_run_logs_its_settings_every_statistic_and_its_folder(
    store: Store, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Parameters are the run's settings, metrics every numeric statistic at its value,
    artifacts the run folder's files; the MLflow run is named after it and FINISHED."""
    callback = MlflowCallback(**store.callback_options())
    result = await Runner(endpoint(), output_path=tmp_path / "out", callbacks=[callback]).run(
        payload=PAYLOAD, clients=2, n_requests=3, run_name="first", run_description="a try"
    )
    (run,) = store.runs()
    assert (run.info.run_name, run.info.status) == ("first", "FINISHED")
    params = run.data.params
    assert params["clients"] == "2" and params["n_requests"] == "3"
    assert params["endpoint.endpoint_type"] == "fake"
    assert params["endpoint.time_to_first_token"] == "0.2"
    assert params["model_id"] == "fake-model" and params["total_requests"] == "6"
    assert params["payload_count"] == "1" and "payload" not in params
    assert run.data.metrics == run_metrics(result.stats)
    assert run.data.metrics["time_to_first_token-p50"] == pytest.approx(0.2)
    assert run.data.metrics["total_requests"] == 6
    assert run.data.metrics["interrupted"] == 0
    assert run.data.tags["llmeter_trio.outcome"] == "finished"
    assert run.data.tags["mlflow.note.content"] == "a try"
    assert RUN_FILES <= store.artifacts(run) == saved_files(tmp_path / "out" / "first")
    assert run.info.end_time == int(result.end_time.timestamp() * 1000)  # type: ignore[union-attr]


def test_metrics_are_every_number_among_the_statistics() -> None:
    """Numbers and true/false are metrics (nested ones by a dotted name); text, times,
    unset values and NaN are not; names MLflow refuses are made safe."""
    stats = {"a-p99.9": 1.5, "n": 3, "met": True, "model_id": "m", "none": None,
             "nan": float("nan"), "errors_by_class": {"throttled": 2}, "slos": ["x<1"],
             "slo:ttft<=1s": 0.5}  # fmt: skip
    assert run_metrics(stats) == {"a-p99.9": 1.5, "n": 3.0, "met": 1.0, "slo_ttft__1s": 0.5,
                                  "errors_by_class.throttled": 2.0}  # fmt: skip


@attrs.define
class KeyedEndpoint(FakeEndpoint):
    """A fake endpoint with a credential, as a provider's endpoint has."""

    endpoint_type = "keyed-fake"
    api_key: str = secret_field(default="")


async def test_no_secret_reaches_the_store(
    store: Store, database: str, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """An endpoint's secret is in no parameter, tag or artifact: not anywhere in the
    database or the artifact folder, byte for byte."""
    secret = "sk-do-not-log-0123456789"
    callback = MlflowCallback(**store.callback_options())
    await Runner(
        KeyedEndpoint(api_key=secret, time_to_first_token=0.1),
        output_path=tmp_path / "out",
        callbacks=[callback],
    ).run(payload=PAYLOAD, n_requests=2)
    assert store.runs()[0].info.status == "FINISHED"
    database_file = Path(database.removeprefix("sqlite:///"))
    written = [database_file, *(tmp_path / "artifacts").rglob("*")]
    assert any(p.name == "responses.jsonl" for p in written)
    for path in written:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert secret not in repr(callback)


class FailsAfter(Callback):
    """An `after_invoke` that fails at the n-th record (the run stops, interrupted)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0

    def after_invoke(self, response: InvocationResponse) -> None:
        self.seen += 1
        if self.seen == self.n:
            raise RuntimeError("a callback failed")


async def test_an_interrupted_run_is_killed_and_tagged(
    store: Store, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """A run stopped by an error ends KILLED, tagged interrupted, its partial statistics
    and folder logged all the same."""
    callback = MlflowCallback(**store.callback_options())
    runner = Runner(endpoint(), output_path=tmp_path / "out", callbacks=[FailsAfter(2), callback])
    with pytest.raises(RuntimeError, match="a callback failed"):
        await runner.run(payload=PAYLOAD, n_requests=10, run_name="broken")
    run = store.run_named("broken")
    assert run.info.status == "KILLED"
    assert run.data.tags["llmeter_trio.outcome"] == "interrupted"
    assert run.data.metrics["interrupted"] == 1
    assert 2 <= run.data.metrics["total_requests"] < 10
    assert RUN_FILES <= store.artifacts(run) == saved_files(tmp_path / "out" / "broken")


async def test_a_cancelled_run_is_killed(
    store: Store, autojump_clock: trio.testing.MockClock
) -> None:
    """Cancelled from outside mid-run (as Ctrl-C does), the MLflow run still ends KILLED."""
    callback = MlflowCallback(**store.callback_options())
    slow = FakeEndpoint(time_to_first_token=60)
    with trio.move_on_after(5):
        await Runner(slow, callbacks=[callback]).run(payload=PAYLOAD, n_requests=3, run_name="c")
    run = store.run_named("c")
    assert run.info.status == "KILLED"
    assert run.data.tags["llmeter_trio.outcome"] == "interrupted"
    assert store.artifacts(run) == {"run_config.json"}  # saved nowhere: its settings only


class StopsAfter(Callback):
    """Stops the run cleanly (`stop_run`) at the n-th record."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0

    def after_invoke(self, response: InvocationResponse) -> None:
        self.seen += 1
        if self.seen == self.n:
            stop_run("budget reached")


async def test_a_stopped_run_is_finished_and_says_why(
    store: Store, autojump_clock: trio.testing.MockClock
) -> None:
    """A run that `stop_run` ended is FINISHED (nothing cut it short), tagged stopped with
    the reason."""
    callback = MlflowCallback(**store.callback_options())
    result = await Runner(endpoint(), callbacks=[StopsAfter(3), callback]).run(
        payload=PAYLOAD, n_requests=50, run_name="capped"
    )
    assert result.stop_reason == "budget reached"
    run = store.run_named("capped")
    assert run.info.status == "FINISHED"
    assert run.data.tags["llmeter_trio.outcome"] == "stopped"
    assert run.data.tags["llmeter_trio.stop_reason"] == "budget reached"


async def test_an_active_run_is_logged_into(
    store: Store, autojump_clock: trio.testing.MockClock
) -> None:
    """LLMeter's default: inside ``mlflow.start_run()``, the run logs into that MLflow run,
    which stays the user's to end; a second run adds its metrics to the history."""
    mlflow.set_experiment(experiment_id=store.experiment_id)
    with mlflow.start_run(run_name="mine") as mine:
        runner = Runner(endpoint(), callbacks=[MlflowCallback(step=1)])
        await runner.run(payload=PAYLOAD, n_requests=2)
        assert store.client.get_run(mine.info.run_id).info.status == "RUNNING"
        await runner.run(payload=PAYLOAD, n_requests=4)
    (run,) = store.runs()
    assert run.info.run_id == mine.info.run_id
    assert run.data.params["n_requests"] == "2"  # parameters are kept as first logged
    history = store.client.get_metric_history(run.info.run_id, "total_requests")
    assert [(m.step, m.value) for m in history] == [(1, 2.0), (1, 4.0)]


async def test_nested_logs_to_a_new_run_under_the_active_one(
    store: Store, autojump_clock: trio.testing.MockClock
) -> None:
    """LLMeter's `nested=True`: a new MLflow run under the active one, named after the run."""
    mlflow.set_experiment(experiment_id=store.experiment_id)
    with mlflow.start_run(run_name="mine") as mine:
        await Runner(endpoint(), callbacks=[MlflowCallback(nested=True)]).run(
            payload=PAYLOAD, n_requests=2, run_name="inner"
        )
    (child,) = store.children(store.client.get_run(mine.info.run_id))
    assert (child.info.run_name, child.info.status) == ("inner", "FINISHED")
    assert child.data.metrics["total_requests"] == 2


async def test_a_folder_fsspec_keeps_elsewhere_is_logged_too(
    store: Store, autojump_clock: trio.testing.MockClock
) -> None:
    """A run saved to an fsspec URL (here memory://) has its files logged as artifacts."""
    folder = f"memory://mlflow-test-{store.experiment_id}"
    callback = MlflowCallback(**store.callback_options())
    await Runner(endpoint(), output_path=folder, callbacks=[callback]).run(
        payload=PAYLOAD, n_requests=2, run_name="remote"
    )
    run = store.run_named("remote")
    saved = saved_files(f"{folder}/remote")
    assert "responses/segment-00000.jsonl" in saved  # object stores: records in segments
    assert store.artifacts(run) == saved
    logged = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/stats.json")
    with fsspec.open(f"{folder}/remote/stats.json") as saved_stats:
        assert json.loads(logged) == json.loads(saved_stats.read())


def test_bad_options_are_one_clear_error() -> None:
    """Each option is checked when the callback is made, naming it."""
    with pytest.raises(ValueError, match="step must be a whole number"):
        MlflowCallback(step=-1)
    with pytest.raises(TypeError, match="nested must be true or false"):
        MlflowCallback(nested="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="experiment_name must be a non-empty string"):
        MlflowCallback(experiment_name=" ")


def test_result_is_unchanged_by_logging(store: Store, tmp_path: Path) -> None:
    """Logging adds nothing to the run's own statistics (MLflow only reads them)."""

    async def both() -> tuple[Result, Result]:
        plain = await Runner(endpoint()).run(payload=PAYLOAD, n_requests=2, seed=1)
        logged = await Runner(
            endpoint(), callbacks=[MlflowCallback(**store.callback_options())]
        ).run(payload=PAYLOAD, n_requests=2, seed=1)
        return plain, logged

    plain, logged = trio.run(both, clock=trio.testing.MockClock(autojump_threshold=0))
    assert set(plain.stats) == set(logged.stats)


class AddsCost(Callback):
    """Contributes a statistic of its own in `after_run`, as the cost callback does."""

    def after_run(self, result: Result, interrupted: bool) -> None:
        result.contribute_stats({"total_cost": 1.25})


async def test_statistics_other_callbacks_add_are_logged(
    store: Store, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Placed after a callback that contributes statistics, the MLflow callback logs them:
    as metrics, and in the stats.json it logs."""
    callbacks = [AddsCost(), MlflowCallback(**store.callback_options())]
    await Runner(endpoint(), output_path=tmp_path / "out", callbacks=callbacks).run(
        payload=PAYLOAD, n_requests=2, run_name="costed"
    )
    run = store.run_named("costed")
    assert run.data.metrics["total_cost"] == 1.25
    logged = json.loads(mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/stats.json"))
    assert logged["total_cost"] == 1.25


async def test_concurrent_runs_sharing_a_callback_each_get_their_own_run(
    store: Store, autojump_clock: trio.testing.MockClock
) -> None:
    """Two runs at once with one callback object: two MLflow runs, each with its numbers."""
    callback = MlflowCallback(**store.callback_options())
    runner = Runner(endpoint(), callbacks=[callback])
    async with trio.open_nursery() as nursery:
        for n in (2, 5):
            nursery.start_soon(lambda n=n: runner.run(payload=PAYLOAD, n_requests=n,
                                                      run_name=f"r{n}"))  # fmt: skip
    for n in (2, 5):
        run = store.run_named(f"r{n}")
        assert (run.info.status, run.data.metrics["total_requests"]) == ("FINISHED", n)


async def test_credentials_in_the_tracking_uri_never_show_in_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tracking server that does not answer fails the run before its first request, with
    an error that masks the URI's user and password (MLflow's own message shows them)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    with socket.socket() as probe:  # a port on 127.0.0.1 that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "s3cret-pass-0123"
    callback = MlflowCallback(tracking_uri=f"http://perf:{secret}@127.0.0.1:{port}",
                              experiment_name="x")  # fmt: skip
    sent = FailsAfter(10**6)
    with pytest.raises(MlflowLoggingError) as caught:
        await Runner(endpoint(), callbacks=[sent, callback]).run(payload=PAYLOAD, n_requests=1)
    assert sent.seen == 0
    assert "MLflow logging failed: MlflowException" in str(caught.value)
    assert "***@127.0.0.1" in str(caught.value)
    for shown in (str(caught.value), repr(caught.value), repr(callback)):
        assert secret not in shown and "perf:" not in shown
    assert caught.value.__context__ is None and caught.value.__cause__ is None


async def test_a_run_the_cost_cap_stopped(
    store: Store, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """With the cost model before it: its statistics are metrics, and a run its `max_cost`
    stopped is FINISHED, tagged stopped, with the cap's reason."""
    capped = CostModel.from_prices({"output": 1000.0}, max_cost=0.01)  # 0.005 a request
    callbacks = [capped, MlflowCallback(**store.callback_options())]
    result = await Runner(endpoint(), output_path=tmp_path, callbacks=callbacks).run(
        payload=PAYLOAD, n_requests=100, run_name="capped-cost"
    )
    assert result.stop_reason is not None and result.stop_reason.startswith("max_cost reached")
    run = store.run_named("capped-cost")
    assert run.info.status == "FINISHED"
    assert run.data.tags["llmeter_trio.outcome"] == "stopped"
    assert run.data.tags["llmeter_trio.stop_reason"] == result.stop_reason
    assert run.data.metrics["cost_total"] == pytest.approx(result.stats["cost_total"])
    assert run.data.metrics["cost_when_stopped"] >= 0.01
