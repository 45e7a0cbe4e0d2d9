"""Splitting a run across workers: the shards' arrivals, clients and counts add up to the run's."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from llmeter_trio import FakeEndpoint, Runner
from llmeter_trio.callbacks.cost import CostModel
from llmeter_trio.cli import main
from llmeter_trio.distributed import ShardSpec
from llmeter_trio.distributed._split import shard_plan, split_run, worker_callbacks, worker_count
from llmeter_trio.engine._payloads import client_payloads
from llmeter_trio.engine._plan import RunPlan, plan_run
from llmeter_trio.schedules import (
    Arrival,
    ConstantRate,
    Gamma,
    OpenLoopSchedule,
    Poisson,
    Ramp,
    TokenRate,
    TraceReplay,
)

PAYLOADS = [{"prompt": word} for word in ("a", "b", "c", "d", "e")]


def plan(**options: Any) -> RunPlan:
    options.setdefault("payload", PAYLOADS)
    return plan_run(Runner(FakeEndpoint(), **options), run_folder="memory://split/run")


def one_process(run: RunPlan) -> Iterator[tuple[float, int]]:
    """(due time, payload index) of each arrival of one process's run, as its open loop sends."""
    stream = client_payloads(run.payloads, run.config.seed, 0)
    for arrival in run.arrivals():
        payload = arrival.payload
        if payload is None:
            payload = next(stream)
        yield arrival.time, _index(run, payload)


def sharded(spec: ShardSpec) -> Iterator[tuple[float, int]]:
    run = shard_plan(spec)
    for arrival in run.arrivals():
        assert arrival.payload is not None  # dealt with the payload one process would send
        yield arrival.time, _index(run, arrival.payload)


def _index(run: RunPlan, payload: int | dict[str, Any]) -> int:
    return payload if isinstance(payload, int) else run.payloads.index(payload)


def until(arrivals: Iterator[tuple[float, int]], horizon: float) -> list[tuple[float, int]]:
    return list(itertools.takewhile(lambda a: a[0] < horizon, arrivals))


SCHEDULES = st.one_of(
    st.builds(ConstantRate, rate=st.floats(1, 500)),
    st.builds(Poisson, rate=st.floats(1, 500)),
    st.builds(Gamma, rate=st.floats(1, 500), burstiness=st.floats(0.2, 5)),
    st.builds(
        Ramp, start_rate=st.floats(0, 100), end_rate=st.floats(1, 500), duration=st.just(2.0)
    ),
)


class TestOpenLoopArrivals:
    """Every shard draws the run's arrival stream and keeps its share: the union is the run's."""

    @settings(max_examples=40, deadline=None)
    @given(SCHEDULES, st.integers(1, 6), st.integers(0, 2**32 - 1))
    def test_the_union_is_the_one_process_stream(
        self, schedule: OpenLoopSchedule, count: int, seed: int
    ) -> None:
        """Same due times, same payloads, each arrival in exactly one shard."""
        run = plan(schedule=schedule, run_duration=2.0, seed=seed)
        specs = split_run(run, count, "memory://split/run")
        union = sorted(a for spec in specs for a in until(sharded(spec), 2.0))
        assert union == sorted(until(one_process(run), 2.0))

    @settings(max_examples=40, deadline=None)
    @given(SCHEDULES, st.integers(1, 6), st.integers(0, 2**32 - 1), st.integers(1, 300))
    def test_a_bounded_run_sends_exactly_its_requests(
        self, schedule: OpenLoopSchedule, count: int, seed: int, n_requests: int
    ) -> None:
        """The shards' `n_requests` add up to the run's, and their first arrivals are the run's."""
        run = plan(schedule=schedule, n_requests=n_requests, seed=seed)
        specs = split_run(run, count, "memory://split/run")
        counts = [spec.run_config.n_requests for spec in specs]
        assert sum(c or 0 for c in counts) == n_requests
        union = sorted(
            a
            for spec, n in zip(specs, counts, strict=True)
            for a in itertools.islice(sharded(spec), n)
        )
        assert union == sorted(itertools.islice(one_process(run), n_requests))

    def test_constant_rates_are_interleaved_by_phase(self) -> None:
        run = plan(schedule=ConstantRate(rate=10), n_requests=9)
        specs = split_run(run, 3, "memory://split/run")
        times = [[round(t, 9) for t, _ in itertools.islice(sharded(s), 3)] for s in specs]
        assert times == [[0.0, 0.3, 0.6], [0.1, 0.4, 0.7], [0.2, 0.5, 0.8]]

    def test_a_trace_is_dealt_out_in_order(self, tmp_path: Path) -> None:
        trace = tmp_path / "trace.jsonl"
        trace.write_text(
            "".join(f'{{"timestamp": {t / 10}, "payload": {t % 5}}}\n' for t in range(7))
        )
        run = plan(schedule=TraceReplay(path=str(trace)))
        specs = split_run(run, 2, "memory://split/run")
        assert [s.run_config.n_requests for s in specs] == [4, 3]
        assert list(sharded(specs[1])) == [(0.1, 1), (0.3, 3), (0.5, 0)]


def ks_distance(sample: list[float], cdf: Callable[[float], float]) -> float:
    """The Kolmogorov-Smirnov statistic of `sample` against the distribution `cdf`."""
    ordered = sorted(sample)
    n = len(ordered)
    return max(max((i + 1) / n - cdf(x), cdf(x) - i / n) for i, x in enumerate(ordered))


class TestPoissonSplitsIntoPoissonStreams:
    @settings(max_examples=15, deadline=None)
    @given(st.floats(20, 400), st.integers(2, 4), st.integers(0, 2**32 - 1))
    def test_each_shard_has_exponential_gaps_of_rate_over_count(
        self, rate: float, count: int, seed: int
    ) -> None:
        """KS: a shard's gaps are those of a Poisson process of rate/count (alpha 1e-6), and its
        count over the run is that process's (mean rate/count per second)."""
        seconds = 2000 / rate * count  # about 2000 arrivals a shard
        run = plan(schedule=Poisson(rate=rate), run_duration=seconds, seed=seed)
        spec = split_run(run, count, "memory://split/run")[seed % count]
        times = [t for t, _ in until(sharded(spec), seconds)]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        own = rate / count
        critical = math.sqrt(-math.log(1e-6 / 2) / 2) / math.sqrt(len(gaps))
        assert ks_distance(gaps, lambda x: 1 - math.exp(-own * x)) < critical
        expected = own * seconds
        assert abs(len(times) - expected) < 5 * math.sqrt(expected)

    def test_the_shards_are_not_the_same_stream(self) -> None:
        run = plan(schedule=Poisson(rate=50), run_duration=1.0, seed=7)
        first, second = (until(sharded(s), 1.0) for s in split_run(run, 2, "memory://x"))
        assert first and second and not set(first) & set(second)


class TestClosedLoop:
    @given(st.integers(1, 50), st.integers(1, 8))
    def test_clients_are_split_keeping_their_numbers(self, clients: int, count: int) -> None:
        run = plan(clients=clients, n_requests=2)
        specs = split_run(run, count, "memory://split/run")
        assert len(specs) == min(count, clients)
        numbers = [
            n for s in specs for n in range(s.first_client, s.first_client + s.run_config.clients)
        ]
        assert numbers == list(range(clients))
        assert {s.run_config.n_requests for s in specs} == {2}  # per client, as in one process
        assert {s.run_config.seed for s in specs} == {run.config.seed}

    def test_each_payload_once_goes_to_one_shard(self) -> None:
        run = plan(clients=3, payload_order="once")
        specs = split_run(run, 2, "memory://split/run")
        sent = [
            s.payload_offset + s.payload_stride * i
            for s in specs
            for i in range(len(s.run_config.payload))
        ]
        assert sorted(sent) == list(range(len(PAYLOADS)))
        assert all(
            s.run_config.payload[i] == PAYLOADS[s.payload_offset + s.payload_stride * i]
            for s in specs
            for i in range(len(s.run_config.payload))
        )


class TestSessions:
    """Every shard runs the run's sessions; each session has a number of its own in the run."""

    @settings(max_examples=30, deadline=None)
    @given(st.sampled_from(["closed", "constant", "poisson"]), st.integers(1, 5))
    def test_session_numbers_are_unique_and_follow_the_arrivals(
        self, kind: str, count: int
    ) -> None:
        """Open loop: a session's number is its arrival's place in the run's stream (as one
        process numbers it); closed loop: shard i of n numbers i, i + n, ..."""
        schedules = {"closed": None, "constant": ConstantRate(rate=5), "poisson": Poisson(rate=5)}
        run = plan(schedule=schedules[kind], clients=7, n_requests=200, sessions=3)
        specs = split_run(run, count, "memory://split/run")
        numbers = {
            s.index: list(itertools.islice(shard_plan(s).session_numbers(), 200)) for s in specs
        }
        every = sorted(n for shard in numbers.values() for n in shard if n < 200)
        assert every == list(range(200))  # each number once, none left out
        if kind == "closed":
            assert all(shard[:3] == [i, i + count, i + 2 * count] for i, shard in numbers.items())
            return
        one = [a.time for a in itertools.islice(run.arrivals(), 200)]  # distinct times
        for spec in specs:
            arrivals = shard_plan(spec).arrivals()
            kept = [a.time for a in itertools.takewhile(lambda a: a.time <= one[-1], arrivals)]
            assert numbers[spec.index][: len(kept)] == [one.index(t) for t in kept]

    def test_each_shard_runs_the_sessions_and_n_requests_counts_sessions(self) -> None:
        run = plan(schedule=ConstantRate(rate=10), n_requests=7, sessions=3)
        assert (run.total_sent, run.total_requests) == (7, 21)
        specs = split_run(run, 3, "memory://split/run")
        assert sum(s.run_config.n_requests or 0 for s in specs) == 7  # sessions, not requests
        assert {shard_plan(s).sessions for s in specs} == {run.sessions}
        assert sum(shard_plan(s).total_requests or 0 for s in specs) == 21
        two_sessions = plan(schedule=ConstantRate(rate=10), n_requests=2, sessions=3)
        assert len(split_run(two_sessions, 3, "memory://split/run")) == 2  # a shard per session

    def test_follow_ups_per_payload_go_with_their_payloads(self) -> None:
        """Each payload once: a shard's list of conversations pairs with its payloads."""
        follow_ups = [[f"after {p['prompt']}"] for p in PAYLOADS]
        run = plan(clients=3, payload_order="once", sessions={"turns": 2, "follow_ups": follow_ups})
        for spec in split_run(run, 2, "memory://split/run"):
            sessions = shard_plan(spec).sessions
            assert sessions is not None
            assert sessions.follow_ups == tuple(
                (f"after {p['prompt']}",) for p in spec.run_config.payload
            )


class TestShares:
    @given(st.integers(1, 40), st.integers(1, 8))
    def test_concurrency_caps_add_up(self, cap: int, count: int) -> None:
        run = plan(schedule=Poisson(rate=10, max_concurrency=cap), n_requests=100)
        specs = split_run(run, count, "memory://split/run")
        assert len(specs) == min(cap, count)
        caps = [shard_plan(s).schedule.max_concurrency for s in specs]  # type: ignore[union-attr]
        assert sum(c or 0 for c in caps) == cap and min(c or 0 for c in caps) >= 1

    def test_a_quota_is_divided(self) -> None:
        run = plan(schedule=TokenRate(tokens_per_minute=9000), n_requests=10)
        specs = split_run(run, 3, "memory://split/run")
        quotas = [shard_plan(s).schedule for s in specs]
        assert [q.tokens_per_minute for q in quotas] == [3000] * 3  # type: ignore[union-attr]
        assert sum(s.run_config.n_requests or 0 for s in specs) == 10
        assert len({s.run_config.seed for s in specs}) == 3  # each its own payload order

    def test_warmup_requests_are_divided(self) -> None:
        run = plan(clients=4, n_requests=10, warmup_requests=5)
        specs = split_run(run, 2, "memory://split/run")
        assert [s.run_config.warmup_requests for s in specs] == [3, 2]

    def test_each_shard_has_its_folder_and_returns_when_interrupted(self) -> None:
        specs = split_run(plan(clients=2), 2, "memory://split/run")
        assert [s.run_config.output_path for s in specs] == [
            "memory://split/run/workers/worker-000",
            "memory://split/run/workers/worker-001",
        ]
        assert {s.run_config.on_interrupt for s in specs} == {"return"}


class TestWorkerOptions:
    def test_auto_is_the_cores_available(self) -> None:
        assert worker_count("auto") >= 1
        assert worker_count(3) == 3

    @pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True])
    def test_a_bad_count_is_refused(self, bad: object) -> None:
        with pytest.raises(ValueError, match="workers must be"):
            worker_count(bad)

    @pytest.mark.parametrize("bad", ["0", "two", "-3"])
    def test_a_bad_count_at_the_command_line_is_one_line_and_status_2(
        self, bad: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["run", "--endpoint", "fake", "--prompt", "x", "--workers", bad]) == 2
        error = capsys.readouterr().err.strip()
        assert error.count("\n") == 0 and "--workers must be" in error

    def test_an_endpoint_workers_cannot_rebuild_is_refused_before_the_run(
        self, tmp_path: Path
    ) -> None:
        """A class of the user's own, not registered: its configuration would rebuild its
        parent in each worker; refused at once, no folder made."""

        class Mine(FakeEndpoint):
            pass

        runner = Runner(Mine(), output_path=tmp_path, run_name="never", workers=2)
        with pytest.raises(ValueError, match="makes a FakeEndpoint, not a Mine"):
            trio.run(partial(runner.run, payload=PAYLOADS))
        assert not (tmp_path / "never").exists()

    def test_callbacks_go_as_configurations_or_copies(self) -> None:
        assert worker_callbacks([{"callback_type": "x"}]) == [{"callback_type": "x"}]
        with pytest.raises(ValueError, match="cannot be copied to another process"):
            worker_callbacks([lambda: None])

    def test_a_cost_cap_is_divided_between_workers(self) -> None:
        model = CostModel.from_prices({"input": 1.0}, max_cost=3.0)
        specs = split_run(plan(clients=3), 3, "memory://x", worker_callbacks([model]))
        assert [s.callbacks[0].max_cost for s in specs] == [1.0, 1.0, 1.0]
        assert model.max_cost == 3.0


def test_random_is_not_used_unseeded() -> None:
    """Splitting is deterministic: the same run splits the same way."""
    run = plan(schedule=Poisson(rate=100), run_duration=1.0, seed=3)
    again = [until(sharded(s), 1.0) for s in split_run(run, 3, "memory://x")]
    random.seed(99)
    assert again == [until(sharded(s), 1.0) for s in split_run(run, 3, "memory://x")]
    assert isinstance(Arrival(0.0), Arrival)
