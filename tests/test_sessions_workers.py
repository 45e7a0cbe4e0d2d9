"""Multi-turn sessions split across workers: one run, as one process runs it.

The shards run as tasks of the test's trio run (`InProcessExecutor`: what a worker process
runs, without the process), against the simulated server, in virtual time: every time is
exact, so a split run is compared with the one-process run of the same settings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import Callback, InvocationResponse, Result, Runner, stop_run
from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.engine import LiveProgress
from llmeter_trio.live_display import progress_parts
from llmeter_trio.schedules import Poisson
from llmeter_trio.sim import SimConfig, simulated_server
from llmeter_trio.stats import RunStats
from llmeter_trio.workloads import Sessions, Uniform

from ._support.inprocess_executor import InProcessExecutor, shards_in_process
from ._support.same_stats import same

TIME_LIMIT = 3600  # seconds of trio time any one test may take
CONFIG = SimConfig(ttft_base=0.1, ttft_per_input_token=0.01, itl=0.01, output_tokens=5)
FOLLOW_UP = "and then what"
PAYLOADS = [
    OpenAIChatEndpoint.create_payload(f"question {n} " + "word " * (4 * n), None) for n in range(5)
]


@pytest.fixture(autouse=True)
def executors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[InProcessExecutor]]:
    """Split runs run in process; the executors made, in order."""
    with shards_in_process(monkeypatch) as made:
        yield made


async def run(**options: Any) -> Result:
    async with simulated_server(CONFIG) as base_url:
        endpoint = OpenAIChatEndpoint(base_url=base_url, model_id="sim-model")
        with trio.fail_after(TIME_LIMIT):
            return await Runner(endpoint).run(
                payload=options.pop("payload", PAYLOADS), seed=11, timeout=30,
                show_progress=False, **options,
            )  # fmt: skip


def by_session(records: list[InvocationResponse]) -> dict[int, list[InvocationResponse]]:
    """Each session's records, in the order they were sent (checked to be turn order)."""
    sessions: dict[int, list[InvocationResponse]] = defaultdict(list)
    for record in records:
        assert record.session is not None
        sessions[record.session].append(record)
    for number, turns in sessions.items():
        turns.sort(key=lambda r: r.intended_send_time or 0.0)
        assert [r.turn for r in turns] == list(range(1, len(turns) + 1)), number
        assert len({r.client for r in turns}) == 1, number  # one client holds a conversation
        ends = [r.session_end for r in turns]
        assert all(end is None for end in ends[:-1]), (number, ends)
    return sessions


def check_statistics(result: Result) -> None:
    """The merged statistics are those one process computes from the same records, and the
    merged folder loads back with them."""
    config = result.run_config
    assert config is not None
    counted = RunStats.of(
        result.responses, config.parsed_slos(), percentile_method=config.percentile_method
    ).to_dict(result.total_test_time)
    assert "by_turn" in counted
    same({k: result.stats[k] for k in counted}, counted)
    if config.output_path is not None:
        loaded = Result.load(config.output_path)
        same(loaded.stats, result.stats)  # (float sums in another order: to 1e-12)
        same(loaded.stats_by_turn(), result.stats_by_turn())
        assert sorted(str(r.id) for r in loaded.responses) == sorted(
            str(r.id) for r in result.responses
        )


class TestOneRun:
    async def test_closed_loop_sessions_are_numbered_once_in_the_run(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """Clients split over 2 workers: every session has its own number, all its turns in
        order; the merged statistics (sessions, by turn) are the records' and load back."""
        sessions = Sessions(turns=3, think_time=Uniform(0.5, 2.0))
        result = await run(
            clients=3, n_requests=2, sessions=sessions, workers=2,
            output_path=tmp_path, run_name="split",
        )  # fmt: skip
        assert len(result.generator["workers"]) == 2
        assert result.total_requests == 3 * 2 * 3 and not result.interrupted
        assert all(not r.failed for r in result.responses), [r.error for r in result.responses]
        numbered = by_session(result.responses)
        assert len(numbered) == 6  # two sessions per client, each its own number
        assert all(len(turns) == 3 for turns in numbered.values())
        stats = result.stats
        assert (stats["sessions_started"], stats["sessions_completed"]) == (6, 6)
        assert stats["sessions_cut"] == stats["sessions_failed"] == 0
        assert {turn: row["requests"] for turn, row in result.stats_by_turn().items()} == {
            1: 6, 2: 6, 3: 6,
        }  # fmt: skip
        assert result.n_requests == 2  # sessions per client, as in one process
        check_statistics(result)

    async def test_open_loop_sessions_are_those_one_process_runs(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Arrivals dealt over 3 workers: each session has the number one process gives it,
        so the same first payload, follow-ups and think times, at the same times."""
        options: dict[str, Any] = {
            "schedule": Poisson(rate=2.0), "n_requests": 9,
            "sessions": Sessions(turns=3, think_time=Uniform(0.5, 3.0)),
        }  # fmt: skip
        alone = await run(**options)
        split = await run(**options, workers=3)
        assert len(split.generator["workers"]) == 3

        def sent(result: Result) -> list[tuple[Any, ...]]:
            return sorted(
                (
                    r.session, r.turn, round(r.intended_send_time or 0.0, 6), r.payload_index,
                    str((r.input_payload or {}).get("messages")), r.session_end,
                )
                for r in result.responses
            )  # fmt: skip

        assert sent(split) == sent(alone)
        assert sorted(by_session(split.responses)) == list(range(9))
        assert split.stats["sessions_started"] == 9 == split.stats["sessions_completed"]
        assert split.n_requests == 9  # sessions
        check_statistics(split)

    async def test_each_payload_once_keeps_its_own_conversation(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """`payload_order="once"` with one list of follow-ups per payload: a worker sending
        payloads 1, 3, ... says their follow-ups, not those of payloads 0, 1, ..."""
        follow_ups = [[f"follow-up {n}.{k}" for k in (1, 2)] for n in range(len(PAYLOADS))]
        result = await run(
            clients=2, payload_order="once", workers=2,
            sessions=Sessions(turns=3, think_time=0.5, follow_ups=follow_ups),
        )  # fmt: skip
        assert result.stats["sessions_completed"] == len(PAYLOADS)
        for turns in by_session(result.responses).values():
            index = turns[0].payload_index
            assert index is not None
            said = [str((r.input_payload or {})["messages"][-1]["content"]) for r in turns[1:]]
            assert said == follow_ups[index]


async def test_the_progress_line_counts_every_workers_sessions(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The coordinator's live progress sums the workers' sessions started and active."""
    progress = LiveProgress()
    seen: list[tuple[int, int]] = []

    async def watch() -> None:
        await trio.sleep(5.0)  # mid-run: each of the 4 clients is in a session
        assert progress.sessions is not None
        seen.append((progress.sessions.started, progress.sessions.active))
        assert "sessions (4 active)" in " ".join(progress_parts(progress, 5.0).figures)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        result = await run(
            clients=4, run_duration=20.0, workers=2, progress=progress,
            sessions=Sessions(turns=3, think_time=1.0, follow_ups=[FOLLOW_UP]),
        )  # fmt: skip
    assert seen and seen[0][0] >= 4 and seen[0][1] == 4
    assert progress.sessions is not None
    assert progress.sessions.started == result.stats["sessions_started"]
    assert progress.sessions.active == 0


class StopAfter(Callback):
    """Stops the load (as a cost cap does) after client 0's `count`-th record."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.seen = 0

    async def after_invoke(self, response: InvocationResponse) -> None:
        if response.client == 0:
            self.seen += 1
            if self.seen == self.count:
                stop_run("enough")


class TestCuts:
    async def test_a_deadline_cuts_sessions_as_in_one_process(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A timed closed loop over 2 workers: each client runs, turn by turn, what it runs
        in one process, and the deadline cuts the same sessions at the same turns."""
        options: dict[str, Any] = {
            "clients": 4, "run_duration": 7.0,
            "sessions": Sessions(turns=4, think_time=1.5, follow_ups=[FOLLOW_UP]),
        }  # fmt: skip
        alone = await run(**options)
        split = await run(**options, workers=2)

        def by_client(result: Result) -> dict[int | None, list[tuple[Any, ...]]]:
            clients: dict[int | None, list[tuple[Any, ...]]] = defaultdict(list)
            for turns in by_session(result.responses).values():
                for r in turns:
                    key = (round(r.intended_send_time or 0.0, 6), r.turn, r.session_end)
                    clients[r.client].append(key)
            return {client: sorted(sent) for client, sent in clients.items()}

        assert by_client(split) == by_client(alone)
        for key in ("sessions_started", "sessions_completed", "sessions_failed", "sessions_cut"):
            assert split.stats[key] == alone.stats[key], key
        assert split.stats["sessions_cut"] > 0
        check_statistics(split)

    async def test_a_stop_in_one_worker_ends_every_session(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """`stop_run` in worker 0 reaches worker 1: no session goes on in either, those not
        finished count as cut, and the statistics are the records'."""
        result = await run(
            clients=4, run_duration=600, workers=2, callbacks=[StopAfter(4)],
            sessions=Sessions(turns=5, think_time=2.0, follow_ups=[FOLLOW_UP]),
            output_path=tmp_path, run_name="stopped",
        )  # fmt: skip
        assert result.stop_reason == "enough" and not result.interrupted
        assert (result.total_test_time or 0) < 60  # stopped, not run for its 600 s
        sessions = by_session(result.responses)
        clients = {turns[0].client for turns in sessions.values()}
        assert clients == {0, 1, 2, 3}  # both workers' clients
        stats = result.stats
        assert stats["sessions_cut"] == stats["sessions_started"] - stats["sessions_completed"]
        assert stats["sessions_cut"] >= 4  # each client's session in progress was cut
        check_statistics(result)

    async def test_an_interrupt_cuts_the_turns_in_flight(
        self, autojump_clock: trio.testing.MockClock, executors: list[InProcessExecutor]
    ) -> None:
        """Every worker interrupted (as Ctrl-C does) mid-turn: the turns in flight are
        recorded cancelled and end their sessions as cut, in both workers."""
        outcome: list[Result] = []

        async def go() -> None:
            outcome.append(
                await run(
                    clients=4,
                    run_duration=600,
                    workers=2,
                    on_interrupt="return",
                    sessions=Sessions(turns=5, think_time=0.5, follow_ups=[FOLLOW_UP]),
                )
            )

        async with trio.open_nursery() as nursery:
            nursery.start_soon(go)
            with trio.fail_after(TIME_LIMIT):
                while not executors or sum(p.finished for p in executors[0].progress()) < 10:  # noqa: ASYNC110
                    await trio.sleep(0.05)
            # mid-turn: past a turn's send, before its first token (0.1 s and more)
            await trio.sleep(0.01)
            executors[0].interrupt("SIGINT")
        result = outcome[0]
        assert result.interrupted
        cancelled = [r for r in result.responses if r.failed]
        assert cancelled and all(r.session_end == "cut" for r in cancelled)
        assert {(r.client or 0) // 2 for r in cancelled} == {0, 1}  # in both workers' clients
        by_session(result.responses)
        assert result.stats["sessions_cut"] >= len(cancelled)
        check_statistics(result)
