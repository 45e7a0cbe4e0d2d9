"""`current_experiment()`: a run's callbacks know the LoadTest or Sweep it is a level of."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import Callback, FakeEndpoint, Result, Runner
from llmeter_trio.callbacks import Experiment, current_experiment
from llmeter_trio.callbacks._experiment import open_experiment
from llmeter_trio.experiments import LoadTest, Sweep


class Seen(Callback):
    """Remembers the experiment each hook saw, and what its `at_end` hooks were told."""

    def __init__(self, fail_at_level: int | None = None) -> None:
        self.before: list[Experiment | None] = []
        self.after: list[Experiment | None] = []
        self.ends: list[tuple[str, bool]] = []
        self.fail_at_level = fail_at_level

    def before_run(self, run_config: dict[str, Any]) -> None:
        experiment = current_experiment()
        self.before.append(experiment)
        if experiment is not None and not experiment.shared.get("seen"):
            experiment.shared["seen"] = True
            experiment.at_end(lambda interrupted: self.ends.append((experiment.name, interrupted)))
        if self.fail_at_level == len(self.before):
            raise RuntimeError("this level fails")

    def after_run(self, result: Result, interrupted: bool) -> None:
        self.after.append(current_experiment())


def endpoint() -> FakeEndpoint:
    return FakeEndpoint(time_to_first_token=0.01, inter_token_latency=0.001, output_tokens=4)


async def test_a_run_on_its_own_is_in_no_experiment(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Outside an experiment both hooks see None."""
    seen = Seen()
    await Runner(endpoint(), callbacks=[seen]).run(payload={"prompt": "a"}, n_requests=1)
    assert (seen.before, seen.after) == ([None], [None])


async def test_load_test_levels_see_one_experiment(autojump_clock: trio.testing.MockClock) -> None:
    """Every level's hooks see the same LoadTest, with its name and settings; its
    `at_end` hook runs once, after the last level, not interrupted."""
    seen = Seen()
    test = LoadTest(endpoint(), {"prompt": "a"}, [1, 3], test_name="lt", callbacks=[seen],
                    progress_bar_stats={}, seed=5)  # fmt: skip
    await test.run()
    (experiment,) = set(seen.before)
    assert seen.after == seen.before == [experiment, experiment]
    assert experiment is not None
    assert (experiment.kind, experiment.name, experiment.output_path) == ("load_test", "lt", None)
    assert experiment.parameters["sequence_of_clients"] == [1, 3]
    assert experiment.parameters["seed"] == 5
    assert seen.ends == [("lt", False)]
    assert current_experiment() is None  # and nothing leaks out of it


async def test_a_failing_level_ends_the_experiment_interrupted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The at_end hooks run when a level fails too, told the experiment was interrupted."""
    seen = Seen(fail_at_level=2)
    test = LoadTest(endpoint(), {"prompt": "a"}, [1, 2, 4], test_name="lt", callbacks=[seen],
                    progress_bar_stats={})  # fmt: skip
    with pytest.raises(RuntimeError, match="this level fails"):
        await test.run()
    assert seen.ends == [("lt", True)]


async def test_sweep_steps_take_its_callbacks(autojump_clock: trio.testing.MockClock) -> None:
    """A Sweep gives its `callbacks` to every step's run, and says what it found."""
    seen = Seen()
    sweep = Sweep(FakeEndpoint(time_to_first_token=0.1, max_concurrency=2), {"prompt": "a"},
                  slos=["ttft_p99<=150ms"], mode="concurrency", requests_per_step=8,
                  test_name="sw", callbacks=[seen])  # fmt: skip
    result = await sweep.run()
    assert len(seen.before) == len(result.steps) > 1
    experiment = seen.before[0]
    assert experiment is not None and set(seen.before) == {experiment}
    assert (experiment.kind, experiment.name) == ("sweep", "sw")
    assert experiment.parameters["slos"] == ["ttft_p99<=150ms"]
    assert experiment.summary == {"knee": result.knee, "highest_met": result.highest_met}
    assert result.knee == 2
    assert seen.ends == [("sw", False)]


async def test_an_experiment_inside_another_knows_its_parent() -> None:
    """Nested experiments: the inner one's `parent` is the outer one; each is current
    only within itself."""
    async with open_experiment("outer", "a") as outer:
        async with open_experiment("inner", "b") as inner:
            assert current_experiment() is inner
            assert inner.parent is outer
        assert current_experiment() is outer
    assert current_experiment() is None


async def test_an_end_hook_error_is_raised_after_every_hook() -> None:
    """A failing at_end hook does not keep the others from running; its error is raised."""
    calls: list[str] = []

    def fails(interrupted: bool) -> None:
        calls.append("fails")
        raise OSError("store unreachable")

    async def later(interrupted: bool) -> None:
        await trio.lowlevel.checkpoint()
        calls.append("later")

    with pytest.raises(OSError, match="store unreachable"):
        async with open_experiment("load_test", "x") as experiment:
            experiment.at_end(fails)
            experiment.at_end(later)
    assert calls == ["fails", "later"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes are Python 3.11+")
async def test_the_experiments_own_error_wins_over_an_end_hook_error() -> None:
    """When the experiment failed, its error propagates and the hook's is noted on it."""

    def fails(interrupted: bool) -> None:
        raise OSError("store unreachable")

    with pytest.raises(KeyError) as caught:
        async with open_experiment("load_test", "x") as experiment:
            experiment.at_end(fails)
            raise KeyError("level failed")
    assert "then, ending the experiment: OSError: store unreachable" in caught.value.__notes__


async def test_quota_steps_see_one_experiment(autojump_clock: trio.testing.MockClock) -> None:
    """A `Quota` search's steps are one experiment (kind "quota"), as a LoadTest's levels."""
    from llmeter_trio.experiments import Quota

    seen = Seen()
    quota = Quota(endpoint(), {"prompt": "a"}, start_requests_per_minute=60, growth=2,
                  max_requests_per_minute=240, step_duration=2, test_name="q",
                  callbacks=[seen])  # fmt: skip
    await quota.run()
    (experiment,) = set(seen.before)
    assert experiment is not None and experiment.kind == "quota" and experiment.name == "q"
    assert len(seen.before) >= 2 and seen.ends == [("q", False)]
