"""The Runner against FakeEndpoint in virtual time: known latencies give exact stats."""

from __future__ import annotations

import math
import statistics
from typing import Any

import attrs
import pytest
import trio
import trio.lowlevel
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import Callback, FakeEndpoint, InvocationResponse, Result, Runner
from llmeter_trio.endpoints import ErrorClass, TokenCountSource
from llmeter_trio.stats import LogHistogram

from ._support.fakes import CountingEndpoint
from ._support.reference import reference_quantile
from ._support.virtual import run_virtual
from .strategies import fake_spec

CLIENTS = 50
PAYLOAD_COUNT = 40


def known_payloads() -> list[dict[str, Any]]:
    """40 payloads whose latencies are exact binary fractions."""
    payloads = []
    for i in range(PAYLOAD_COUNT):
        spec = fake_spec(
            ttft=(i % 4 + 1) / 8, itl=1 / (32 * (1 + i % 2)), tokens=4 + i % 5, per_chunk=1 + i % 2
        )
        payloads.append({"prompt": "word " * (i % 7 + 1), "fake": spec})
    return payloads


def expected_latencies(payload: dict[str, Any]) -> tuple[float, float, float]:
    """(time to first token, time to last token, time per output token) by construction."""
    spec = payload["fake"]
    first_chunk = min(spec["tokens_per_chunk"], spec["output_tokens"])
    ttft = spec["time_to_first_token"]
    ttlt = ttft + spec["inter_token_latency"] * (spec["output_tokens"] - first_chunk)
    return ttft, ttlt, (ttlt - ttft) / (spec["output_tokens"] - 1)


async def run_known(tmp_path: Any, **kwargs: Any) -> Result:
    runner = Runner(FakeEndpoint(), output_path=str(tmp_path), seed=7)
    return await runner.run(
        payload=known_payloads(),
        clients=CLIENTS,
        n_requests=PAYLOAD_COUNT,
        run_name="known",
        **kwargs,
    )


class TestKnownLatencies:
    """2,000 requests from 50 clients: the stats are exactly what the latencies imply."""

    async def test_exact_stats_live_reloaded_and_low_memory(
        self, tmp_path: Any, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Each client sends each payload once, so every latency appears exactly 50 times."""
        result = await run_known(tmp_path / "live")
        payloads = known_payloads()
        truth = [expected_latencies(p) for p in payloads] * CLIENTS
        stats = result.stats

        assert stats["total_requests"] == CLIENTS * PAYLOAD_COUNT == len(result.responses)
        assert stats["failed_requests"] == 0
        # every client runs the same 40 requests back to back: the run lasts their sum
        total_time = sum(ttlt for _, ttlt, _ in truth[:PAYLOAD_COUNT])
        assert result.total_test_time == total_time
        assert stats["requests_per_minute"] == 2000 / total_time * 60
        for index, metric in enumerate(
            ("time_to_first_token", "time_to_last_token", "time_per_output_token")
        ):
            column = sorted(t[index] for t in truth)
            assert stats[f"{metric}-min"] == column[0]
            assert stats[f"{metric}-max"] == column[-1]
            assert stats[f"{metric}-average"] == pytest.approx(statistics.fmean(column), rel=1e-12)
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)):
                assert stats[f"{metric}-{name}"] == pytest.approx(
                    reference_quantile(column, q), rel=1e-12
                )
        tokens = sum(p["fake"]["output_tokens"] for p in payloads) * CLIENTS
        assert stats["total_output_tokens"] == tokens
        gaps = sorted(
            p["fake"]["inter_token_latency"]
            for p in payloads * CLIENTS
            for _ in range(p["fake"]["output_tokens"] - min(p["fake"]["tokens_per_chunk"], 4))
        )
        assert stats["inter_token_latency-average"] == pytest.approx(statistics.fmean(gaps))
        exact_p90 = gaps[math.floor(0.9 * (len(gaps) - 1))]
        assert (
            abs(stats["inter_token_latency-p90"] - exact_p90)
            <= LogHistogram.RELATIVE_ERROR * exact_p90
        )

        reloaded = Result.load(result.output_path)
        assert reloaded.stats == stats
        assert [attrs.asdict(r) for r in reloaded.responses] == [
            attrs.asdict(r) for r in result.responses
        ]
        assert Result.load(result.output_path, load_responses=False).stats == stats

        low = await run_known(tmp_path / "low", low_memory=True)
        assert low.responses == []
        low_stats = low.stats
        for key in (
            "output_path",
            "start_time",
            "first_request_time",
            "last_request_time",
            "end_time",
            "generator",
        ):
            low_stats.pop(key)
            stats.pop(key)
        assert low_stats == stats

    async def test_each_client_has_its_own_seeded_order(
        self, tmp_path: Any, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Clients draw different orders; the same seed gives the same orders again."""
        first = await run_known(tmp_path / "a")
        second = await run_known(tmp_path / "b")

        def orders(result: Result) -> dict[int, list[str]]:
            by_client: dict[int, list[str]] = {}
            for r in sorted(result.responses, key=lambda r: (r.client, r.send_time)):
                assert r.client is not None and r.input_payload is not None
                by_client.setdefault(r.client, []).append(
                    repr(r.input_payload["fake"]) + r.input_payload["prompt"]
                )
            return by_client

        a, b = orders(first), orders(second)
        assert a == b
        assert len({tuple(v) for v in a.values()}) > 1
        assert all(sorted(v) == sorted(a[0]) for v in a.values())


class TestClosedLoopInvariants:
    @given(
        clients=st.integers(1, 12),
        n_requests=st.integers(1, 6),
        ttft=st.integers(1, 16).map(lambda n: n / 16),
        tokens=st.integers(1, 8),
    )
    def test_counts_and_concurrency(
        self, clients: int, n_requests: int, ttft: float, tokens: int
    ) -> None:
        """clients * n_requests records, n per client, at most `clients` in flight."""
        endpoint = CountingEndpoint(
            time_to_first_token=ttft, inter_token_latency=1 / 64, output_tokens=tokens
        )

        async def main() -> Result:
            runner = Runner(endpoint, seed=1)
            return await runner.run(
                payload={"prompt": "hi"}, clients=clients, n_requests=n_requests
            )

        result = run_virtual(main)
        assert result.total_requests == clients * n_requests == len(result.responses)
        per_client = [sum(1 for r in result.responses if r.client == c) for c in range(clients)]
        assert per_client == [n_requests] * clients
        assert endpoint.peak == clients
        assert endpoint.in_flight == 0
        per_request = ttft + (tokens - 1) / 64
        assert result.total_test_time == pytest.approx(n_requests * per_request)

    @given(duration=st.integers(1, 40).map(lambda n: n / 8), clients=st.integers(1, 5))
    def test_time_bound_deadline_held(self, duration: float, clients: int) -> None:
        """No request starts after run_duration; in-flight ones finish within the grace."""
        endpoint = FakeEndpoint(
            time_to_first_token=0.25, inter_token_latency=1 / 16, output_tokens=5
        )

        async def main() -> Result:
            return await Runner(endpoint).run(
                payload={"prompt": "x"}, clients=clients, run_duration=duration
            )

        result = run_virtual(main)
        assert all(r.send_time is not None and r.send_time < duration for r in result.responses)
        per_client = math.ceil(duration / 0.5)  # each request takes 0.25 + 4/16 = 0.5 s
        assert result.total_requests == clients * per_client
        assert result.total_test_time == per_client * 0.5
        assert all(not r.failed for r in result.responses)


class TestDeadlinesAndTimeouts:
    async def test_drain_grace_then_cancelled_records(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Requests still running when the grace ends are cancelled and recorded as such."""
        endpoint = FakeEndpoint(time_to_first_token=0.5, inter_token_latency=0.25, output_tokens=8)
        start = trio.current_time()
        result = await Runner(endpoint).run(
            payload={"prompt": "x"}, clients=3, run_duration=1.0, drain_timeout=0.375
        )
        # each request takes 2.25 s: one per client, all cut at 1.0 + 0.375
        assert trio.current_time() - start == 1.375
        assert result.total_requests == 3
        assert {r.error_class for r in result.responses} == {ErrorClass.CANCELLED}
        assert result.stats["errors_by_class"] == {"cancelled": 3}
        assert all(r.time_to_first_token == 0.5 for r in result.responses)
        assert all(len(r.chunks) == 4 for r in result.responses)  # 0.5, 0.75, 1.0, 1.25 s

    async def test_timeout_is_a_deadline_over_the_whole_request(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A stream that keeps sending but runs past `timeout` is cut at `timeout`."""
        endpoint = FakeEndpoint(
            time_to_first_token=0.125, inter_token_latency=0.125, output_tokens=50
        )
        start = trio.current_time()
        result = await Runner(endpoint).run(
            payload={"prompt": "x"}, clients=2, n_requests=1, timeout=0.9375
        )
        assert trio.current_time() - start == 0.9375
        assert [r.error_class for r in result.responses] == [ErrorClass.TIMEOUT] * 2
        for record in result.responses:  # what arrived before the deadline is kept
            assert record.time_to_first_token == 0.125
            assert [c.time for c in record.chunks] == [k / 8 for k in range(1, 8)]

    async def test_endpoint_errors_are_classified(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An endpoint exception becomes a record with its class and status code."""
        payloads = [
            {"prompt": "a", "fake": {"error": "throttled", "status_code": 429}},
            {"prompt": "b"},
        ]
        result = await Runner(FakeEndpoint()).run(payload=payloads, clients=1, n_requests=2)
        failed = [r for r in result.responses if r.failed]
        assert len(failed) == 1
        assert (failed[0].error_class, failed[0].status_code) == (ErrorClass.THROTTLED, 429)
        assert result.stats["failed_requests_rate"] == 0.5


class TestTokenizerCounting:
    async def test_missing_counts_come_from_the_tokenizer(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Missing counts are counted locally and marked so; missing text is not 'None'."""

        @attrs.define
        class NoUsage(FakeEndpoint):
            async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
                response = await super().invoke(payload)
                response.num_tokens_input = response.num_tokens_output = None
                if payload.get("no_text"):
                    response.input_prompt = response.response_text = None
                return response

        result = await Runner(NoUsage(output_tokens=6)).run(
            payload=[{"prompt": "three little words"}, {"prompt": "x", "no_text": True}],
            clients=1,
            n_requests=2,
        )
        counted = next(r for r in result.responses if r.input_prompt)
        assert (counted.num_tokens_input, counted.num_tokens_output) == (3, 6)
        assert counted.num_tokens_output_source is TokenCountSource.TOKENIZER
        assert counted.time_per_output_token is not None
        blank = next(r for r in result.responses if not r.input_prompt)
        assert (blank.num_tokens_input, blank.num_tokens_output) == (None, None)


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def before_run(self, run_config: dict[str, Any]) -> None:
        self.calls.append(f"before_run:{run_config['clients']}")

    def before_invoke(self, payload: dict[str, Any]) -> None:
        payload["prompt"] = "changed by callback"
        self.calls.append("before_invoke")

    async def after_invoke(self, response: InvocationResponse) -> None:
        await trio.lowlevel.checkpoint()
        self.calls.append("after_invoke")

    def after_run(self, result: Result, interrupted: bool) -> None:
        self.calls.append(f"after_run:{result.total_requests}:{interrupted}")


class TestCallbacks:
    async def test_hooks_called_in_order_sync_and_async(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Every hook runs, sync or async; before_invoke may change the payload."""
        recorder = Recorder()
        result = await Runner(FakeEndpoint(), callbacks=[recorder]).run(
            payload={"prompt": "original"}, clients=1, n_requests=2
        )
        assert recorder.calls == [
            "before_run:1",
            "before_invoke",
            "before_invoke",
            "after_invoke",
            "after_invoke",
            "after_run:2:False",
        ] or recorder.calls == [
            "before_run:1",
            "before_invoke",
            "after_invoke",
            "before_invoke",
            "after_invoke",
            "after_run:2:False",
        ]
        assert all(r.input_prompt == "changed by callback" for r in result.responses)


class TestValidation:
    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"clients": 0}, ValueError, "clients must be at least 1"),
            ({"clients": 1.5}, TypeError, "clients must be a whole number"),
            ({"n_requests": 2, "run_duration": 3}, ValueError, "not both"),
            ({"timeout": -1}, ValueError, "timeout must be greater than 0"),
            ({"low_memory": True}, ValueError, "needs an output_path"),
            ({"payload": []}, ValueError, "payload list is empty"),
            ({"payload": ["text"]}, TypeError, "payload #0 is a str"),
        ],
    )
    async def test_bad_arguments_are_explained(
        self, kwargs: dict[str, Any], error: type, message: str
    ) -> None:
        """Bad input fails before any request, saying what was wrong."""
        kwargs.setdefault("payload", {"prompt": "x"})
        with pytest.raises(error, match=message):
            await Runner(FakeEndpoint()).run(**kwargs)

    async def test_refuses_to_mix_two_runs_in_one_folder(
        self, tmp_path: Any, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A second run with the same run folder is refused, keeping the first intact."""
        runner = Runner(FakeEndpoint(), output_path=str(tmp_path))
        await runner.run(payload={"prompt": "x"}, run_name="same")
        with pytest.raises(FileExistsError, match="already holds"):
            await runner.run(payload={"prompt": "x"}, run_name="same")
