"""The run plan: one place for a run's size and checks, a start-up that yields, one clock."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import FakeEndpoint, InvocationResponse, LiveProgress, Runner, StreamRecorder
from llmeter_trio._checks import check_number
from llmeter_trio.engine._load import START_BATCH
from llmeter_trio.engine._plan import MAX_CLIENTS, RunPlan, plan_run
from llmeter_trio.schedules import ClosedLoop, ConstantRate, TraceReplay

PAYLOADS = [{"prompt": "a"}, {"prompt": "b"}, {"prompt": "c"}]


def plan(**settings: Any) -> RunPlan:
    settings.setdefault("payload", PAYLOADS)
    return plan_run(Runner(FakeEndpoint(), **settings))


class TestRunSize:
    """`RunPlan.total_requests`: how many requests a run sends, computed once."""

    @pytest.mark.parametrize(
        ("settings", "total"),
        [
            ({"clients": 4, "n_requests": 3}, 12),  # n_requests is per client
            ({"schedule": ClosedLoop(clients=4), "n_requests": 3}, 12),
            ({"clients": 2}, 6),  # each client sends len(payload)
            ({"schedule": ConstantRate(rate=5), "n_requests": 3}, 3),  # open loop: in all
            ({"schedule": ConstantRate(rate=5)}, 3),
            ({"clients": 2, "payload_order": "once"}, 3),  # the clients share one pass
            ({"clients": 2, "run_duration": 5.0}, None),  # only time bounds it
            ({"schedule": ConstantRate(rate=5), "run_duration": 5.0}, None),
        ],
    )
    def test_total_requests(self, settings: dict[str, Any], total: int | None) -> None:
        """Closed loops multiply by clients, open loops do not, time-bound runs have no size."""
        assert plan(**settings).total_requests == total

    def test_a_trace_is_as_long_as_its_arrivals(self, tmp_path: Path) -> None:
        """A replayed trace is read once, when planned; its length bounds the run."""
        trace = tmp_path / "trace.txt"
        trace.write_text("0\n0.5\n1\n1.5\n")
        replay = TraceReplay(path=str(trace))
        assert plan(schedule=replay).total_requests == 4
        assert plan(schedule=replay, n_requests=2).total_requests == 2

    def test_a_trace_asking_for_a_missing_payload_is_refused_before_the_run(
        self, tmp_path: Path
    ) -> None:
        """An index past the payloads fails when planned, naming the file and arrival."""
        trace = tmp_path / "trace.jsonl"
        trace.write_text('{"timestamp": 0, "payload": 1}\n{"timestamp": 1, "payload": 3}\n')
        with pytest.raises(ValueError, match=r"trace.jsonl: arrival #2 asks for payload #3"):
            plan(schedule=TraceReplay(path=str(trace)))

    async def test_the_progress_line_reads_the_plan(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The run hands its planned size to the progress counters (closed loop of 4 x 3)."""
        progress = LiveProgress()
        result = await Runner(FakeEndpoint()).run(
            payload=PAYLOADS, schedule=ClosedLoop(clients=4), n_requests=3, progress=progress
        )
        assert progress.total_requests == result.total_requests == 12

    async def test_cooldown_by_count_works_for_a_trace(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The window takes the run's size from the plan, so a trace can have a cool-down."""
        trace = tmp_path / "trace.txt"
        trace.write_text("\n".join(str(t) for t in range(5)))
        result = await Runner(FakeEndpoint()).run(
            payload=PAYLOADS, schedule=TraceReplay(path=str(trace)), cooldown_requests=2
        )
        ordered = sorted(result.responses, key=lambda r: r.send_time or 0)
        assert [r.excluded for r in ordered] == [None, None, None, "cooldown", "cooldown"]


class TestCheckNumber:
    """One validator for every numeric setting."""

    @given(st.floats() | st.integers())
    def test_positive_means_finite_and_above_zero(self, value: float) -> None:
        """NaN, infinities, zero and negatives are refused; everything else passes."""
        if math.isfinite(value) and value > 0:
            check_number("x", value)
        else:
            with pytest.raises(ValueError, match="x must be"):
                check_number("x", value)

    @pytest.mark.parametrize(
        ("value", "kwargs", "error", "message"),
        [
            (1.5, {"whole": True}, TypeError, "n must be a whole number, not 1.5"),
            (True, {}, TypeError, "n must be a number, not True"),
            ("3", {}, TypeError, "n must be a number, not '3'"),
            (0, {"whole": True}, ValueError, "n must be at least 1, not 0"),
            (-1, {"at_least": 0}, ValueError, "n must be at least 0, not -1"),
            (1, {"above": 1}, ValueError, "n must be greater than 1, not 1"),
            (5, {"at_most": 4, "hint": "; use less"}, ValueError, "n must be at most 4, not 5;"),
        ],
    )
    def test_messages(
        self, value: Any, kwargs: dict[str, Any], error: type[Exception], message: str
    ) -> None:
        with pytest.raises(error, match=message):
            check_number("n", value, **kwargs)

    def test_none_means_unset(self) -> None:
        check_number("n", None, whole=True)


class TestRunnerChecks:
    """Every numeric setting of a run is refused when NaN or infinite, before any request."""

    @pytest.mark.parametrize(
        "name",
        [
            "run_duration",
            "timeout",
            "drain_timeout",
            "warmup_seconds",
            "cooldown_seconds",
            "lag_tolerance",
            "rate_tolerance",
        ],
    )
    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
    def test_non_finite(self, name: str, value: float) -> None:
        with pytest.raises(ValueError, match=f"{name} must be a finite number"):
            plan(**{name: value})

    @pytest.mark.parametrize(
        ("settings", "message"),
        [
            ({"clients": MAX_CLIENTS + 1}, "clients must be at most 100000"),
            (
                {"schedule": ConstantRate(rate=1, max_concurrency=MAX_CLIENTS + 1)},
                "max_concurrency must be at most 100000",
            ),
            ({"n_requests": 0}, "n_requests must be at least 1"),
            ({"warmup_requests": -1}, "warmup_requests must be at least 0"),
            ({"rate_tolerance": 1.5}, "rate_tolerance must be at most 1"),
        ],
    )
    def test_limits(self, settings: dict[str, Any], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            plan(**settings)

    def test_too_many_clients_points_at_scaling_out(self) -> None:
        with pytest.raises(ValueError, match="scale out over several processes"):
            plan(clients=10**9)

    def test_max_clients_is_allowed(self) -> None:
        assert plan(clients=MAX_CLIENTS).config.clients == MAX_CLIENTS


@attrs.define
class CountingEndpoint(FakeEndpoint):
    """Counts the requests that reached it."""

    invoked: int = 0

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        self.invoked += 1
        return await super().invoke(payload)


class TestStartUp:
    async def test_cancelling_while_many_clients_start_stops_promptly(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Starting clients yields every START_BATCH, so a cancellation (as Ctrl-C makes)
        stops the start-up after a batch or two instead of after every client."""
        progress = LiveProgress()
        endpoint = CountingEndpoint(time_to_first_token=1.0)

        async def stop_once_started(scope: trio.CancelScope) -> None:
            while progress.started == 0:
                await trio.lowlevel.checkpoint()
            scope.cancel()

        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(stop_once_started, scope)
                await Runner(endpoint).run(
                    payload={"prompt": "x"}, clients=MAX_CLIENTS, n_requests=1, progress=progress
                )
        assert scope.cancelled_caught
        assert 0 < progress.started <= 3 * START_BATCH
        assert progress.finished == progress.started  # each one recorded, as cancelled


class TestOneClock:
    async def test_send_time_is_on_the_run_clock_from_the_moment_it_is_set(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The recorder's send_time is run-relative when taken, and the record keeps it as is."""
        seen: list[float] = []

        @attrs.define
        class Watching(FakeEndpoint):
            async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
                recorder = StreamRecorder()
                seen.append(recorder.send_time)
                await trio.sleep(0.25)
                recorder.chunk(1)
                return recorder.finish(InvocationResponse(response_text="x"))

        await trio.sleep(100)  # the trio clock is far from the run's start
        result = await Runner(Watching()).run(payload={"prompt": "x"}, n_requests=3)
        assert seen == [0.0, 0.25, 0.5]
        assert [r.send_time for r in result.responses] == seen
        assert [r.time_to_first_token for r in result.responses] == [0.25] * 3

    async def test_outside_a_run_the_recorder_reads_the_trio_clock(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        await trio.sleep(7)
        assert StreamRecorder().send_time == trio.current_time()
