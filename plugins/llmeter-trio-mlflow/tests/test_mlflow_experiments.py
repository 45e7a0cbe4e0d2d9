"""A LoadTest or a Sweep: one parent MLflow run, one nested run per level, read back from a
real local store (conftest.py). Runs go against `FakeEndpoint` in virtual time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import pytest
import trio
import trio.testing
from conftest import Store
from llmeter_trio_mlflow import MlflowCallback
from llmeter_trio_mlflow._values import run_metrics

from llmeter_trio import Callback, FakeEndpoint, Runner
from llmeter_trio.callbacks._experiment import open_experiment
from llmeter_trio.experiments import LoadTest, Sweep

PAYLOAD = {"prompt": "one two three"}


def endpoint() -> FakeEndpoint:
    """One request at a time, like a server of capacity 1: TTFT grows with clients."""
    return FakeEndpoint(time_to_first_token=0.1, inter_token_latency=0.01, max_concurrency=1)


def load_test(callbacks: list[Any], **options: Any) -> LoadTest:
    return LoadTest(endpoint(), PAYLOAD, options.pop("levels", [1, 2, 4]), test_name="lt",
                    callbacks=callbacks, progress_bar_stats={}, min_requests_per_run=4,
                    **options)  # fmt: skip


async def test_a_load_test_is_a_parent_run_with_a_nested_run_per_level(
    store: Store, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """The parent has the test's name and settings and, per metric, one step per level
    (the load test's curve); each level is a nested run with its own statistics."""
    callback = MlflowCallback(**store.callback_options())
    result = await load_test([callback]).run(output_path=tmp_path)
    parent = store.run_named("lt")
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["llmeter_trio.kind"] == "load_test"
    assert parent.data.tags["llmeter_trio.outcome"] == "finished"
    assert json.loads(parent.data.params["sequence_of_clients"]) == [1, 2, 4]
    assert "mlflow.parentRunId" not in parent.data.tags
    children = store.children(parent)
    assert [c.info.run_name for c in children] == ["00001-clients", "00002-clients",
                                                   "00004-clients"]  # fmt: skip
    for child, clients in zip(children, [1, 2, 4], strict=True):
        assert child.info.status == "FINISHED"
        assert child.data.metrics == run_metrics(result.results[clients].stats)
        assert child.data.params["clients"] == str(clients)
        assert "run_config.json" in store.artifacts(child)
    curve = store.client.get_metric_history(parent.info.run_id, "time_to_first_token-p50")
    p50s = [result.results[c].stats["time_to_first_token-p50"] for c in (1, 2, 4)]
    assert [(m.step, m.value) for m in curve] == list(zip([0, 1, 2], p50s, strict=True))
    assert p50s[0] < p50s[1] < p50s[2]  # queueing at capacity 1: a curve worth drawing
    assert len(store.runs()) == 4


async def test_levels_made_from_a_configuration_share_one_parent(
    store: Store, autojump_clock: trio.testing.MockClock, installed_plugin: None
) -> None:
    """Given as ``{"callback_type": "mlflow"}`` (as the command line does), each level gets a
    new callback object: the levels still share one parent run."""
    config = {"callback_type": "mlflow", **store.callback_options()}
    await load_test([config], levels=[1, 2]).run()
    parent = store.run_named("lt")
    assert len(store.children(parent)) == 2
    assert len(store.runs()) == 3


class FailsOnLevel(Callback):
    """Fails the run of the n-th level once it has sent a request."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.runs = 0

    def before_run(self, run_config: dict[str, Any]) -> None:
        self.runs += 1

    def after_invoke(self, response: Any) -> None:
        if self.runs == self.level:
            raise RuntimeError("level failed")


async def test_an_interrupted_load_test_is_killed_with_its_level(
    store: Store, autojump_clock: trio.testing.MockClock
) -> None:
    """A level that fails ends KILLED, and so does the parent; the levels before it
    finished and stay FINISHED."""
    callback = MlflowCallback(**store.callback_options())
    with pytest.raises(RuntimeError, match="level failed"):
        await load_test([FailsOnLevel(2), callback]).run()
    parent = store.run_named("lt")
    assert parent.info.status == "KILLED"
    assert parent.data.tags["llmeter_trio.outcome"] == "interrupted"
    first, second = store.children(parent)
    assert (first.info.status, second.info.status) == ("FINISHED", "KILLED")
    assert second.data.tags["llmeter_trio.outcome"] == "interrupted"


async def test_a_sweep_is_a_parent_run_with_its_knee(
    store: Store, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Each step is a nested run; the parent has the knee as a metric and sweep.json."""
    callback = MlflowCallback(**store.callback_options())
    sweep = Sweep(FakeEndpoint(time_to_first_token=0.1, max_concurrency=2), PAYLOAD,
                  slos=["ttft_p99<=150ms"], mode="concurrency", requests_per_step=8,
                  test_name="sw", callbacks=[callback])  # fmt: skip
    result = await sweep.run(output_path=tmp_path)
    parent = store.run_named("sw")
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["llmeter_trio.kind"] == "sweep"
    assert parent.data.metrics["knee"] == result.knee == 2
    assert parent.data.params["mode"] == "concurrency"
    assert store.artifacts(parent) == {"sweep.json"}
    steps = store.children(parent)
    assert [s.info.run_name for s in steps] == [s.result.run_name for s in result.steps]


async def test_a_sweep_without_a_knee_says_so(
    store: Store, autojump_clock: trio.testing.MockClock
) -> None:
    """No knee found (every step met the SLOs): no knee metric, a tag saying none."""
    callback = MlflowCallback(**store.callback_options())
    sweep = Sweep(FakeEndpoint(time_to_first_token=0.1), PAYLOAD, slos=["ttft_p99<=1s"],
                  mode="concurrency", max_load=2, requests_per_step=4, test_name="sw",
                  callbacks=[callback])  # fmt: skip
    assert (await sweep.run()).knee is None
    parent = store.run_named("sw")
    assert "knee" not in parent.data.metrics
    assert parent.data.tags["llmeter_trio.knee"] == "none"


async def test_inside_an_active_run_the_load_test_nests_under_it(
    store: Store, autojump_clock: trio.testing.MockClock
) -> None:
    """Inside ``mlflow.start_run()``, the user's run is the parent (nested=False) and stays
    theirs to end; with nested=True a new parent run goes under it."""
    mlflow.set_experiment(experiment_id=store.experiment_id)
    with mlflow.start_run(run_name="mine") as mine:
        await load_test([MlflowCallback()], levels=[1, 2]).run()
        assert store.client.get_run(mine.info.run_id).info.status == "RUNNING"
    user_run = store.client.get_run(mine.info.run_id)
    assert [c.info.run_name for c in store.children(user_run)] == ["00001-clients",
                                                                   "00002-clients"]  # fmt: skip
    assert user_run.data.tags["llmeter_trio.kind"] == "load_test"

    with mlflow.start_run(run_name="mine too") as mine_too:
        await load_test([MlflowCallback(nested=True)], levels=[1]).run()
    (parent,) = store.children(store.client.get_run(mine_too.info.run_id))
    assert (parent.info.run_name, parent.info.status) == ("lt", "FINISHED")
    assert [c.info.run_name for c in store.children(parent)] == ["00001-clients"]


async def test_an_experiment_inside_another_nests_its_parent_run(
    store: Store, autojump_clock: trio.testing.MockClock
) -> None:
    """An experiment run by another (as a quota search may run sweeps) has its parent
    run nested under the outer experiment's."""
    callback = MlflowCallback(**store.callback_options())
    async with open_experiment("search", "outer", parameters={"budget": 3}):
        await Runner(endpoint(), callbacks=[callback]).run(payload=PAYLOAD, n_requests=1,
                                                           run_name="probe")  # fmt: skip
        await load_test([callback], levels=[1]).run()
    outer = store.run_named("outer")
    assert outer.data.params == {"budget": "3"}
    assert [c.info.run_name for c in store.children(outer)] == ["probe", "lt"]
    inner = store.run_named("lt")
    assert [c.info.run_name for c in store.children(inner)] == ["00001-clients"]
    assert {r.info.status for r in store.runs()} == {"FINISHED"}
