"""`stop_run(reason)`: a run's load stopped from inside it, cleanly, with the reason saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import Callback, FakeEndpoint, InvocationResponse, Result, Runner, stop_run
from llmeter_trio.schedules import ConstantRate


class StopAfter(Callback):
    """Stops the run once `count` records have arrived."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.seen = 0

    async def after_invoke(self, response: InvocationResponse) -> None:
        self.seen += 1
        if self.seen == self.count:
            stop_run(f"enough: {self.count} records")
        if self.seen == self.count + 1:
            stop_run("a second reason is not kept")


def endpoint(ttft: float = 0.1) -> FakeEndpoint:
    return FakeEndpoint(time_to_first_token=ttft, inter_token_latency=0.01, output_tokens=5)


async def test_closed_loop_stops_sending_and_saves_why(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    runner = Runner(endpoint(), output_path=str(tmp_path))
    result = await runner.run(
        payload={"prompt": "hi"},
        clients=4,
        n_requests=1000,
        run_name="r",
        callbacks=[StopAfter(10)],
    )
    # when the 10th record is seen, up to 3 more may wait in the writer's queue and each
    # client may have one request in flight: those finish; no client sends again
    assert 10 <= result.total_requests <= 10 + 2 * 4 - 1
    assert all(not r.failed for r in result.responses)  # nothing was cut short
    assert result.stop_reason == "enough: 10 records"
    assert not result.interrupted
    again = Result.load(tmp_path / "r")
    assert again.stop_reason == "enough: 10 records" and not again.interrupted
    assert again.total_requests == result.total_requests


async def test_open_loop_sends_no_further_arrival(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    runner = Runner(endpoint(ttft=0.5), output_path=str(tmp_path))
    result = await runner.run(
        payload={"prompt": "hi"}, schedule=ConstantRate(rate=10), n_requests=1000,
        run_name="open", callbacks=[StopAfter(5)],
    )  # fmt: skip
    # each request takes ~0.55 s at 10/s: about 6 are in flight when the 5th ends
    assert 5 < result.total_requests < 5 + 10
    assert all(not r.failed for r in result.responses)
    assert result.stop_reason == "enough: 5 records"


async def test_in_flight_requests_get_the_drain_grace_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class StopFirst(Callback):
        async def before_run(self, run_config: dict[str, Any]) -> None:
            pass

        async def after_invoke(self, response: InvocationResponse) -> None:
            stop_run("stop now")

    slow = FakeEndpoint(time_to_first_token=0.0, inter_token_latency=1.0, output_tokens=100)
    quick = FakeEndpoint(time_to_first_token=0.0, inter_token_latency=0.001, output_tokens=1)

    class Mixed(FakeEndpoint):
        async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
            chosen = quick if payload["prompt"] == "quick" else slow
            return await chosen.invoke(payload)

    runner = Runner(Mixed(), drain_timeout=2.0)
    start = trio.current_time()
    result = await runner.run(
        payload=[{"prompt": "quick"}, {"prompt": "slow"}], payload_order="once", clients=2,
        callbacks=[StopFirst()],
    )  # fmt: skip
    assert trio.current_time() - start < 3  # not the slow request's 100 s
    assert result.stop_reason == "stop now"
    assert sorted(r.failed for r in result.responses) == [False, True]


def test_stop_run_outside_a_run_says_so() -> None:
    with pytest.raises(RuntimeError, match="inside a run"):
        stop_run("why")


@pytest.mark.parametrize("reason", ["", "  ", None])
def test_stop_run_needs_a_reason(reason: Any) -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        stop_run(reason)
