"""Multi-turn sessions: each turn sends the history with the real answers, after a think time.

Against the simulated server in virtual time (a MockClock that jumps ahead whenever every
task waits), whose time to first token is ``ttft_base + ttft_per_input_token * input
words``: every measured time is the truth, so each turn's TTFT is checked exactly against
what the server's prefill cost predicts from that turn's input (history + real answers).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import Callback, InvocationResponse, Result, Runner, stop_run
from llmeter_trio.endpoints import (
    AnthropicMessagesEndpoint,
    ErrorClass,
    FakeEndpoint,
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
)
from llmeter_trio.engine import LiveProgress
from llmeter_trio.engine._sessions import SessionLoop
from llmeter_trio.engine._stop import LoadStop
from llmeter_trio.live_display import progress_parts
from llmeter_trio.schedules import Poisson, TokenRate
from llmeter_trio.sim import SimConfig, simulated_server
from llmeter_trio.sim._requests import Prompt
from llmeter_trio.stats import RunStats
from llmeter_trio.workloads import Fixed, Sessions, Uniform

TIME_LIMIT = 600  # seconds of trio time any one test may take
PROMPT_WORDS = 20
PROMPT = " ".join(["word"] * PROMPT_WORDS)
FOLLOW_UP = "and then what"  # 3 words
OUTPUT = 5  # the server answers 5 words ("tok tok tok tok tok")
CONFIG = SimConfig(ttft_base=0.1, ttft_per_input_token=0.01, itl=0.01, output_tokens=OUTPUT)

Cls = type[OpenAIChatEndpoint] | type[OpenAIResponsesEndpoint] | type[AnthropicMessagesEndpoint]


def endpoint_for(cls: Cls, base_url: str) -> Any:
    if cls is AnthropicMessagesEndpoint:
        return cls(base_url=base_url.removesuffix("/v1"), model_id="sim-model", api_key="k")
    return cls(base_url=base_url, model_id="sim-model")


def payload_for(cls: Cls, text: str = PROMPT) -> dict[str, Any]:
    if cls is AnthropicMessagesEndpoint:
        return cls.create_payload(text, 64)  # the answer stays the server's 5 words
    return cls.create_payload(text, None)


def input_words(payload: dict[str, Any]) -> int:
    """What the simulated server counts as a request's input tokens."""
    items = payload.get("messages", payload.get("input"))
    if isinstance(items, str):
        return len(items.split())
    prompt = Prompt()
    for item in items:
        prompt.add(item.get("content"))
    return prompt.words


async def run_sessions(cls: Cls = OpenAIChatEndpoint, **options: Any) -> Result:
    config = options.pop("sim", CONFIG)
    payload = options.pop("payload", [payload_for(cls)])
    async with simulated_server(config) as base_url:
        with trio.fail_after(TIME_LIMIT):
            return await Runner(endpoint_for(cls, base_url)).run(
                payload=payload, seed=7, timeout=30, show_progress=False, **options
            )


class TestTurns:
    @pytest.mark.parametrize(
        "cls", [OpenAIChatEndpoint, OpenAIResponsesEndpoint, AnthropicMessagesEndpoint]
    )
    async def test_ttft_grows_with_turn_as_the_prefill_cost_predicts(
        self, cls: Cls, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Turn k sends the prompt, k-1 real answers and k-1 follow-ups: its input and
        TTFT are exactly what the server's model says, and grow with the turn."""
        sessions = Sessions(turns=4, think_time=2.0, follow_ups=[FOLLOW_UP])
        result = await run_sessions(cls, clients=2, n_requests=3, sessions=sessions)
        records = result.responses
        assert len(records) == 2 * 3 * 4
        assert all(not r.failed for r in records), [r.error for r in records]
        for record in records:
            assert record.turn is not None
            expected_input = PROMPT_WORDS + (record.turn - 1) * (OUTPUT + 3)
            assert record.num_tokens_input == expected_input
            assert input_words(record.input_payload or {}) == expected_input
            assert record.time_to_first_token == pytest.approx(
                CONFIG.ttft(expected_input), abs=1e-9
            )
        by_turn = result.stats_by_turn()
        ttfts = [by_turn[turn]["time_to_first_token-average"] for turn in (1, 2, 3, 4)]
        assert ttfts == sorted(ttfts) and ttfts[0] < ttfts[-1]
        for turn in (1, 2, 3, 4):
            expected = CONFIG.ttft(PROMPT_WORDS + (turn - 1) * (OUTPUT + 3))
            assert by_turn[turn]["time_to_first_token-p50"] == pytest.approx(expected)
            assert by_turn[turn]["requests"] == 6
        stats = result.stats
        assert stats["sessions_started"] == 6
        assert stats["sessions_completed"] == 6
        assert stats["sessions_cut"] == 0

    async def test_the_real_answer_is_sent_back(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Turn 2 holds turn 1's answer as the assistant message, then the follow-up."""
        sessions = Sessions(turns=2, follow_ups=[FOLLOW_UP])
        result = await run_sessions(n_requests=1, sessions=sessions)
        first, second = sorted(result.responses, key=lambda r: r.turn or 0)
        messages = (second.input_payload or {})["messages"]
        assert messages[-2] == {"role": "assistant", "content": first.response_text}
        assert messages[-1] == {"role": "user", "content": FOLLOW_UP}
        assert (
            first.response_text == "tok " * OUTPUT
            or first.response_text.split() == ["tok"] * OUTPUT
        )

    async def test_default_follow_ups_are_seeded_text(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Without follow-ups, later turns say short texts from the sample text; the same
        seed says the same ones, and each turn's TTFT follows its own input."""
        sessions = Sessions(turns=3)
        first = await run_sessions(n_requests=2, sessions=sessions)
        again = await run_sessions(n_requests=2, sessions=sessions)
        said = [r.input_payload["messages"][-1]["content"] for r in first.responses]  # type: ignore[index]
        assert said == [r.input_payload["messages"][-1]["content"] for r in again.responses]  # type: ignore[index]
        assert len(set(said[1:])) > 1
        for record in first.responses:
            words = input_words(record.input_payload or {})
            assert record.num_tokens_input == words
            assert record.time_to_first_token == pytest.approx(CONFIG.ttft(words), abs=1e-9)

    async def test_per_payload_conversations(self, autojump_clock: trio.testing.MockClock) -> None:
        """One follow-up list per payload: its session says them in order, and has as many
        turns as the list allows."""
        payloads = [
            payload_for(OpenAIChatEndpoint, "first"),
            payload_for(OpenAIChatEndpoint, "second"),
        ]
        sessions = Sessions(turns=5, follow_ups=[["a1", "a2"], ["b1"]])
        result = await run_sessions(
            payload=payloads, n_requests=2, payload_order="shuffle", sessions=sessions
        )
        by_session: dict[int, list[Any]] = {}
        for record in result.responses:
            by_session.setdefault(record.session or 0, []).append(record)
        for records in by_session.values():
            records.sort(key=lambda r: r.turn)
            said = [r.input_payload["messages"][-1]["content"] for r in records]
            assert said in (["first", "a1", "a2"], ["second", "b1"])
            assert records[-1].session_end == "completed"
        assert result.stats["sessions_completed"] == 2


class TestCuts:
    async def test_a_deadline_cuts_sessions_and_says_so(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Sessions the run's time ends before their last turn end with a record marked
        cut; every sent turn has its record; started = completed + failed + cut."""
        sessions = Sessions(turns=10, think_time=1.0, follow_ups=[FOLLOW_UP])
        result = await run_sessions(clients=3, run_duration=5.0, sessions=sessions)
        records = result.responses
        by_session: dict[int, list[Any]] = {}
        for record in records:
            by_session.setdefault(record.session or 0, []).append(record)
        assert by_session and all(
            sorted(r.turn for r in rs) == list(range(1, len(rs) + 1)) for rs in by_session.values()
        )
        for rs in by_session.values():
            last = max(rs, key=lambda r: r.turn)
            assert last.session_end == "cut"
            assert last.turn < 10
            assert all(r.session_end is None for r in rs if r is not last)
        stats = result.stats
        assert stats["sessions_started"] == len(by_session) >= 3  # a client starts another
        assert stats["sessions_cut"] == len(by_session)  # session until the run's time ends
        assert stats["sessions_completed"] == 0
        assert stats["total_requests"] == len(records)

    async def test_a_request_in_flight_at_the_end_is_cut(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A turn still streaming when the drain time ends is cancelled: its record is the
        session's last, marked cut."""
        slow = SimConfig(ttft_base=3.0, itl=0.01, output_tokens=OUTPUT)
        sessions = Sessions(turns=3, follow_ups=[FOLLOW_UP])
        result = await run_sessions(
            sim=slow, clients=1, run_duration=4.0, drain_timeout=0.5, sessions=sessions
        )
        last = max(result.responses, key=lambda r: r.turn or 0)
        assert last.turn == 2 and last.failed and last.session_end == "cut"
        assert result.stats["sessions_cut"] == 1
        assert result.stats["sessions_failed"] == 0

    async def test_a_failed_turn_ends_its_session(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A turn that fails ends its session as failed; the next session starts."""
        from llmeter_trio.sim import Faults

        faulty = SimConfig(
            ttft_base=0.1, itl=0.01, output_tokens=OUTPUT, faults=Faults(server_error_rate=1.0)
        )
        sessions = Sessions(turns=3, follow_ups=[FOLLOW_UP])
        result = await run_sessions(sim=faulty, clients=1, n_requests=2, sessions=sessions)
        assert [(r.turn, r.session_end) for r in result.responses] == [(1, "failed")] * 2
        assert result.stats["sessions_failed"] == 2
        assert result.stats["sessions_started"] == 2


class TestThinkTime:
    async def test_think_times_follow_their_distribution(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The gap between a turn's end and the next turn's send is a think-time draw:
        the run's seed gives exactly the draws `Sessions` makes, and they fall in range."""
        think = Uniform(1.0, 3.0)
        sessions = Sessions(turns=6, think_time=think, follow_ups=[FOLLOW_UP])
        result = await run_sessions(clients=2, n_requests=2, sessions=sessions)
        gaps: dict[int, list[float]] = {}
        by_session: dict[int, list[Any]] = {}
        for record in result.responses:
            by_session.setdefault(record.session or 0, []).append(record)
        for number, records in by_session.items():
            records.sort(key=lambda r: r.turn)
            gaps[number] = [
                later.send_time - (earlier.send_time + earlier.time_to_last_token)
                for earlier, later in itertools.pairwise(records)
            ]
        assert len(gaps) == 4
        for number, measured in gaps.items():
            script = sessions.conversation(7, number, None, None)
            expected = [script.think_time() for _ in measured]
            assert measured == pytest.approx(expected, abs=1e-6)
            assert all(1.0 <= gap <= 3.0 for gap in measured)

    async def test_think_time_is_no_requests_latency(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A later turn is intended when its think time ends: no schedule lag, no TTFT
        from intended above the TTFT."""
        sessions = Sessions(turns=3, think_time=Fixed(5.0), follow_ups=[FOLLOW_UP])
        result = await run_sessions(n_requests=1, sessions=sessions)
        for record in result.responses:
            assert record.send_time == pytest.approx(record.intended_send_time, abs=1e-9)
        assert result.stats["time_to_first_token_from_intended-max"] == pytest.approx(
            result.stats["time_to_first_token-max"]
        )


class TestOpenLoop:
    async def test_each_arrival_starts_a_session(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An open-loop run's arrivals start sessions: n_requests counts sessions."""
        sessions = Sessions(turns=3, think_time=0.5, follow_ups=[FOLLOW_UP])
        result = await run_sessions(schedule=Poisson(rate=2.0), n_requests=5, sessions=sessions)
        assert result.stats["sessions_started"] == 5
        assert result.stats["sessions_completed"] == 5
        assert len(result.responses) == 15
        assert sorted({r.session for r in result.responses}) == [0, 1, 2, 3, 4]


class TestSettings:
    async def test_an_endpoint_without_conversations_is_refused(self) -> None:
        endpoint = OpenAICompletionsEndpoint(base_url="http://127.0.0.1:9/v1", model_id="m")
        with pytest.raises(ValueError, match="cannot hold a conversation"):
            await Runner(endpoint).run(payload={"prompt": "hi"}, sessions=2)

    async def test_a_payload_that_cannot_start_a_conversation_is_refused(self) -> None:
        """Checked before anything is sent: a chat endpoint given a payload with no messages."""
        endpoint = OpenAIChatEndpoint(base_url="http://127.0.0.1:9/v1", model_id="m")
        payloads = [endpoint.create_payload("hi"), {"prompt": "no messages"}]
        with pytest.raises(ValueError, match="payload #1 cannot start a conversation"):
            await Runner(endpoint).run(payload=payloads, sessions=2)

    @pytest.mark.parametrize("workers", [None, 2])
    async def test_a_token_quota_is_refused(self, workers: int | None) -> None:
        """Sessions are paced by clients or arrivals (split across workers or not)."""
        endpoint = OpenAIChatEndpoint(base_url="http://127.0.0.1:9/v1", model_id="m")
        with pytest.raises(ValueError, match="token quota"):
            await Runner(endpoint).run(
                payload={"messages": []}, sessions=2, workers=workers,
                schedule=TokenRate(tokens_per_minute=1000),
            )  # fmt: skip

    def test_sessions_round_trip_their_config(self) -> None:
        sessions = Sessions(turns=3, think_time="lognormal:2,0.5", follow_ups=[["a"], ["b", "c"]])
        from llmeter_trio.workloads import sessions_from_config

        assert sessions_from_config(sessions.to_config()) == sessions
        assert sessions_from_config(4) == Sessions(turns=4)

    def test_a_saved_runner_keeps_its_sessions(self, tmp_path: Any) -> None:
        """`Runner.save` writes the sessions' options; `Runner.load` runs the same ones."""
        sessions = Sessions(turns=3, think_time=Uniform(1.0, 2.0), follow_ups=["more"])
        Runner(FakeEndpoint(), sessions=sessions).save(str(tmp_path))
        loaded = Runner.load(str(tmp_path))
        assert loaded.sessions == sessions.to_config()

    @pytest.mark.parametrize(
        "options",
        [{"turns": 0}, {"turns": 2, "think_time": "normal:1"}, {"turns": 2, "follow_ups": []}],
    )
    def test_bad_sessions_are_refused(self, options: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            Sessions(**options)

    async def test_the_run_config_saves_sessions_and_replays(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Any
    ) -> None:
        """`run_config.json` keeps the sessions; a reloaded result has the same per-turn
        statistics; `Runner.load` runs the same sessions again."""
        sessions = Sessions(turns=3, think_time=Uniform(0.1, 0.5), follow_ups=[FOLLOW_UP])
        result = await run_sessions(
            n_requests=2, sessions=sessions, output_path=str(tmp_path / "run")
        )
        assert result.run_config.sessions == sessions.to_config()
        loaded = Result.load(str(tmp_path / "run"))
        assert loaded.stats_by_turn() == result.stats_by_turn()
        assert loaded.stats["sessions_completed"] == result.stats["sessions_completed"] == 2
        runner = Runner.load(str(tmp_path / "run"))
        assert runner.sessions == sessions.to_config() or runner.sessions == sessions


class StopAfter(Callback):
    """Stops the run once `count` records were written."""

    def __init__(self, count: int) -> None:
        self.count = count

    def after_invoke(self, response: InvocationResponse) -> None:
        self.count -= 1
        if self.count == 0:
            stop_run("enough")


class TestStop:
    async def test_a_stop_during_a_think_time_counts_the_session_cut(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A session stopped while thinking sends no more turns; it is counted cut."""
        sessions = Sessions(turns=5, think_time=10.0, follow_ups=[FOLLOW_UP])
        result = await run_sessions(
            n_requests=3, sessions=sessions, callbacks=[StopAfter(1)], on_interrupt="return"
        )
        assert [(r.turn, r.session_end) for r in result.responses] == [(1, None)]
        stats = result.stats
        assert (stats["sessions_started"], stats["sessions_cut"]) == (1, 1)
        assert result.stop_reason == "enough"


def record(session: int, turn: int, ttft: float, **fields: Any) -> InvocationResponse:
    return InvocationResponse(
        "tok",
        time_to_first_token=ttft,
        time_to_last_token=ttft + 1,
        num_tokens_input=10 * turn,
        session=session,
        turn=turn,
        **fields,
    )


RECORDS = [
    record(0, 1, 0.1),
    record(0, 2, 0.2, session_end="completed"),
    record(1, 1, 0.3),
    record(1, 2, 0.4, session_end="cut", error="cancelled", error_class=ErrorClass.CANCELLED),
    record(2, 1, 0.5, session_end="failed", error="boom", error_class=ErrorClass.SERVER),
    record(3, 1, 0.7, excluded="warmup"),
]


class TestStats:
    def test_counts_and_per_turn_statistics(self) -> None:
        """Sessions are counted from their records; per-turn metrics use the successful,
        measured requests only."""
        stats = RunStats.of(RECORDS).to_dict(total_test_time=60.0)
        assert stats["sessions_started"] == 4
        assert stats["sessions_completed"] == 1
        assert stats["sessions_failed"] == 1
        assert stats["sessions_cut"] == 2  # one marked, one (excluded) never ended
        # completed sessions per minute (over the run's time: no warm-up left out here)
        assert RunStats.of(RECORDS[:5]).to_dict(30.0)["sessions_per_minute"] == 2.0
        by_turn = stats["by_turn"]
        assert sorted(by_turn) == ["1", "2"]
        assert by_turn["1"]["requests"] == 2
        assert by_turn["1"]["time_to_first_token-average"] == pytest.approx(0.2)
        assert by_turn["1"]["time_to_last_token-p50"] == pytest.approx(1.2)
        assert by_turn["2"]["num_tokens_input-average"] == 20
        assert by_turn["2"]["requests"] == 1

    def test_merge_is_counting_all_in_one(self) -> None:
        merged = RunStats.of(RECORDS[:3])
        merged.merge(RunStats.of(RECORDS[3:]))
        assert merged.to_dict(60.0) == RunStats.of(RECORDS).to_dict(60.0)

    def test_a_run_without_sessions_has_no_session_statistics(self) -> None:
        stats = RunStats.of([InvocationResponse("x", time_to_first_token=0.1)]).to_dict(1.0)
        assert not any(key.startswith(("sessions_", "by_turn")) for key in stats)
        assert Result(responses=[], total_requests=0).stats_by_turn() == {}

    def test_a_live_snapshot_counts_sessions_only(self) -> None:
        stats = RunStats.of(RECORDS).to_dict(60.0, metrics=("time_to_first_token",))
        assert stats["sessions_started"] == 4 and "by_turn" not in stats

    async def test_a_result_loaded_without_records_keeps_them(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Any
    ) -> None:
        sessions = Sessions(turns=3, follow_ups=[FOLLOW_UP])
        result = await run_sessions(
            n_requests=2, sessions=sessions, output_path=str(tmp_path / "r")
        )
        summary_only = Result.load(str(tmp_path / "r"), load_responses=False)
        assert summary_only.stats_by_turn() == result.stats_by_turn()
        assert summary_only.stats["sessions_completed"] == 2


class TestLiveDisplay:
    def test_the_progress_line_shows_sessions(self) -> None:
        progress = LiveProgress()
        progress.sessions = SessionLoop(
            None,  # type: ignore[arg-type]
            Sessions(turns=2),
            FakeEndpoint(),
            0,
            LoadStop(),
            lambda payload: None,
            started=5,
            active=3,
        )
        assert "5 sessions (3 active)" in progress_parts(progress, 1.0).figures
        assert not any("session" in f for f in progress_parts(LiveProgress(), 1.0).figures)


class TestReport:
    async def test_the_html_report_charts_ttft_by_turn(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Any
    ) -> None:
        """A multi-turn run's report has the TTFT-by-turn chart, one point per turn."""
        pytest.importorskip("plotly")
        from llmeter_trio.report import read_content, report_html

        sessions = Sessions(turns=3, follow_ups=[FOLLOW_UP])
        folder = str(tmp_path / "talk")
        result = await run_sessions(n_requests=2, sessions=sessions, output_path=folder)
        figure = read_content(folder).figures["Time to first token by turn"]
        p50 = next(trace for trace in figure.data if trace.name == "TTFT p50")
        assert list(p50.x) == [1, 2, 3]
        by_turn = result.stats_by_turn()
        assert list(p50.y) == [by_turn[t]["time_to_first_token-p50"] for t in (1, 2, 3)]
        assert "Time to first token by turn" in report_html(folder)


class TestLoadTest:
    async def test_each_level_runs_sessions(self, autojump_clock: trio.testing.MockClock) -> None:
        """`LoadTest(sessions=...)`: every level's clients hold conversations."""
        from llmeter_trio.experiments import LoadTest

        test = LoadTest(
            FakeEndpoint(time_to_first_token=0.01, inter_token_latency=0.001, output_tokens=3),
            {"prompt": "hello"},
            [1, 2],
            min_requests_per_client=2,
            min_requests_per_run=0,
            sessions=Sessions(turns=3, think_time=0.5),
            show_progress=False,
        )
        result = await test.run()
        for clients, level in result.results.items():
            assert level.stats["sessions_completed"] == 2 * clients
            assert len(level.responses) == 3 * 2 * clients
            assert level.run_config is not None and level.run_config.sessions is not None


class TestDatasetConversations:
    async def test_a_sharegpt_conversation_gives_its_session_its_turns(
        self, tmp_path: Any, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A dataset row's later user messages are its session's follow-ups: the session says
        them in order and has as many turns as the conversation; a single-message row
        continues with the sessions' own follow-ups."""
        import json

        from llmeter_trio.workloads import Dataset

        rows = [
            {"conversations": [
                {"from": "human", "value": "Name three rivers"},
                {"from": "gpt", "value": "Nile Amazon Danube"},
                {"from": "human", "value": "And two lakes?"},
                {"from": "gpt", "value": "Baikal Victoria"},
                {"from": "human", "value": "Which is deepest?"},
            ]},
            {"conversations": [{"from": "human", "value": "Say hello"}]},
        ]  # fmt: skip
        path = tmp_path / "chats.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        payloads = Dataset.load(str(path), "sharegpt").payloads(OpenAIChatEndpoint, max_tokens=8)
        sessions = Sessions(turns=4, follow_ups=[FOLLOW_UP])
        result = await run_sessions(
            payload=payloads, clients=2, payload_order="once", sessions=sessions
        )
        said: dict[str, list[str]] = {}
        for record in sorted(result.responses, key=lambda r: (r.session or 0, r.turn or 0)):
            messages = (record.input_payload or {})["messages"]
            said.setdefault(messages[0]["content"], []).append(messages[-1]["content"])
            assert record.workload is not None and "follow_ups" not in record.workload
        assert said == {
            "Name three rivers": ["Name three rivers", "And two lakes?", "Which is deepest?"],
            "Say hello": ["Say hello", FOLLOW_UP, FOLLOW_UP, FOLLOW_UP],
        }
        assert result.stats["sessions_completed"] == 2
