"""Stopping a run early (signals, outer cancellation, callback errors): nothing leaks or is lost."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import (
    Callback,
    FakeEndpoint,
    InvocationResponse,
    LiveProgress,
    Result,
    RunInterrupted,
    Runner,
)
from llmeter_trio.endpoints import ErrorClass
from llmeter_trio.storage import iter_responses, resolve


def saved_records(folder: str) -> list[InvocationResponse]:
    fs, path = resolve(folder)
    return list(iter_responses(fs, path))


def living_tasks() -> int:
    return trio.lowlevel.current_statistics().tasks_living


class TestSignals:
    @pytest.mark.realtime  # a real signal, sent after real time has passed
    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
    async def test_signal_stops_load_saves_partial_and_propagates(
        self, tmp_path: Any, signum: int
    ) -> None:
        """Ctrl-C / SIGTERM: the load stops, every issued request is saved, then RunInterrupted."""
        # Requests that would take 30 s each: only cancellation ends them quickly.
        endpoint = FakeEndpoint(time_to_first_token=0.01, inter_token_latency=0.01, output_tokens=3)
        slow = {"prompt": "slow", "fake": {"time_to_first_token": 30.0}}
        progress = LiveProgress()
        tasks_before = living_tasks()
        runner = Runner(endpoint, output_path=str(tmp_path))

        async def interrupt_soon() -> None:
            while progress.started < 4:  # noqa: ASYNC110 - polling the public counters
                await trio.sleep(0.01)
            await trio.sleep(0.2)
            os.kill(os.getpid(), signum)

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(interrupt_soon)
                sent_at = trio.current_time()
                with pytest.raises(RunInterrupted) as info:
                    await runner.run(
                        payload=[{"prompt": "fast"}] * 3 + [slow],
                        clients=4,
                        run_duration=600,
                        run_name="interrupted",
                        progress=progress,
                    )
                stopped_in = trio.current_time() - sent_at
        result = info.value.result
        assert info.value.signal_name == signal.Signals(signum).name
        assert stopped_in < 10  # a slow request alone would take 30 s
        assert result.interrupted
        assert result.total_requests == progress.started
        assert any(r.error_class is ErrorClass.CANCELLED for r in result.responses)
        assert living_tasks() == tasks_before
        saved = Result.load(result.output_path)
        assert saved.interrupted
        assert saved.total_requests == progress.started == len(saved_records(result.output_path))

    async def test_clean_run_leaves_signal_handling_as_it_was(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """After a run, SIGINT handling is the process default again."""
        before = signal.getsignal(signal.SIGINT)
        await Runner(FakeEndpoint()).run(payload={"prompt": "x"}, n_requests=1)
        assert signal.getsignal(signal.SIGINT) is before


class TestOuterCancellation:
    async def test_cancelled_from_outside_saves_partial(
        self, tmp_path: Any, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A caller's cancel scope stops the run; the partial result is still saved."""
        progress = LiveProgress()
        runner = Runner(FakeEndpoint(time_to_first_token=0.25), output_path=str(tmp_path))
        with trio.move_on_after(2.0) as scope:
            await runner.run(
                payload={"prompt": "x"},
                clients=3,
                run_duration=100,
                run_name="cut",
                progress=progress,
            )
        assert scope.cancelled_caught
        saved = Result.load(str(tmp_path / "cut"))
        assert saved.interrupted
        assert saved.total_requests == progress.started == len(saved.responses) > 3
        assert sum(r.error_class is ErrorClass.CANCELLED for r in saved.responses) == 3


class Exploding(Callback):
    def __init__(self, after: int) -> None:
        self.after = after
        self.seen = 0
        self.run_ended: tuple[int, bool] | None = None

    def after_invoke(self, response: InvocationResponse) -> None:
        self.seen += 1
        if self.seen == self.after:
            raise RuntimeError("callback bug")

    def after_run(self, result: Result, interrupted: bool) -> None:
        self.run_ended = (result.total_requests, interrupted)


class TestFailures:
    async def test_failing_callback_stops_run_without_losing_records(
        self, tmp_path: Any, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The callback's error is raised after every issued record was counted and saved."""
        progress = LiveProgress()
        callback = Exploding(after=5)
        runner = Runner(FakeEndpoint(), output_path=str(tmp_path), callbacks=[callback])
        with pytest.raises(RuntimeError, match="callback bug"):
            await runner.run(
                payload={"prompt": "x"}, clients=4, n_requests=50, run_name="bug", progress=progress
            )
        saved = Result.load(str(tmp_path / "bug"))
        assert saved.interrupted
        assert saved.total_requests == progress.started < 200
        assert callback.run_ended == (progress.started, True)
        # records after the failure are still stored; the callback is not called again
        assert len(saved_records(str(tmp_path / "bug"))) == progress.started
        assert callback.seen == 5


class BadSetup(Callback):
    def before_invoke(self, payload: dict[str, Any]) -> None:
        raise KeyError("missing template field")


class TestSetupErrors:
    async def test_before_invoke_error_stops_the_run(
        self, tmp_path: Any, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A failing before_invoke is a bug in the set-up: the run stops and says why."""
        runner = Runner(FakeEndpoint(), output_path=str(tmp_path), callbacks=[BadSetup()])
        with pytest.RaisesGroup(KeyError, flatten_subgroups=True):
            await runner.run(payload={"prompt": "x"}, clients=1, n_requests=3, run_name="setup")
        saved = Result.load(str(tmp_path / "setup"))
        assert saved.interrupted and saved.total_requests == 0
