"""One run across worker processes on this host, against the simulated server: one start,
one stop (deadline, Ctrl-C, SIGTERM, a killed worker), one result folder, one set of statistics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio

from llmeter_trio import Callback, InvocationResponse, LiveProgress, Runner, stop_run
from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.experiments import LoadTest
from llmeter_trio.results import Result
from llmeter_trio.schedules import ConstantRate, Poisson
from llmeter_trio.sim import SimConfig
from llmeter_trio.slo import parse_slos
from llmeter_trio.stats import RunStats
from llmeter_trio.workloads import Sessions

from ._support.same_stats import same
from ._support.shards import polls, recorded, shard_records
from ._support.threaded_sim import served, served_in_thread

pytestmark = pytest.mark.realtime  # worker processes on the real clock

SIM = SimConfig(ttft_base=0.005, itl=0.001, output_tokens=4)
SLOW = SimConfig(ttft_base=0.05, itl=0.005, output_tokens=8)
PAYLOADS = [{"messages": [{"role": "user", "content": f"question {n}"}]} for n in range(6)]
ROOT = Path(__file__).resolve().parents[1]


def endpoint(origin: str) -> OpenAIChatEndpoint:
    return OpenAIChatEndpoint(base_url=f"{origin}/v1", model_id="sim-model", api_key="sim")


def run(runner: Runner, **options: Any) -> Result:
    return trio.run(partial(runner.run, payload=PAYLOADS, **options))


class TestOneResult:
    def test_two_workers_give_the_statistics_of_their_records(self, tmp_path: Path) -> None:
        """Every request the server took is recorded once in the run folder; the result's
        statistics are exactly those of its records, and load back the same."""
        with served_in_thread(SIM) as origin:
            runner = Runner(endpoint(origin), output_path=tmp_path, run_name="two", workers=2)
            result = run(runner, clients=4, n_requests=5, seed=1)
            count = served(origin)
        assert result.total_requests == count == 20 == len(result.responses)
        assert not result.interrupted and result.stats["failed_requests"] == 0
        by_client = sorted(r.client for r in result.responses if r.client is not None)
        assert by_client == sorted(list(range(4)) * 5)  # run-wide client numbers
        config = result.run_config
        assert config is not None and config.workers == 2
        recount = RunStats.of(result.responses, config.parsed_slos())
        counted = recount.to_dict(result.total_test_time)
        same({k: result.stats[k] for k in counted}, counted)  # the mean ITL: within 1e-12
        loaded = Result.load(tmp_path / "two")
        same(loaded.stats, result.stats)
        assert loaded.total_requests == 20
        assert shard_records(tmp_path / "two") == 20  # each worker's folder kept too
        workers = result.generator["workers"]
        assert [w["worker"] for w in workers] == [0, 1] and {w["requests"] for w in workers} == {10}

    def test_low_memory_reads_no_record_back(self, tmp_path: Path) -> None:
        """The statistics come from the workers' counts; the folder holds every record."""
        with served_in_thread(SIM) as origin:
            runner = Runner(endpoint(origin), output_path=tmp_path, run_name="lean", workers=2)
            result = run(runner, clients=3, n_requests=4, low_memory=True, slos=["ttft<=1s"])
            count = served(origin)
        assert result.responses == [] and result.total_requests == count == 12
        loaded = Result.load(tmp_path / "lean")
        assert loaded.total_requests == 12 and len(loaded.responses) == 12
        counted = RunStats.of(loaded.responses, parse_slos(["ttft<=1s"])).to_dict(
            result.total_test_time
        )
        same({k: result.stats[k] for k in counted}, counted)

    def test_sessions_across_worker_processes(self, tmp_path: Path) -> None:
        """Multi-turn sessions over 2 worker processes: each session numbered once in the run,
        its turns in order from one client; the merged session statistics (by turn too) are
        the records', and load back the same."""
        with served_in_thread(SIM) as origin:
            runner = Runner(endpoint(origin), output_path=tmp_path, run_name="turns", workers=2)
            sessions = Sessions(turns=3, think_time=0.01)
            result = run(runner, clients=3, n_requests=2, seed=4, sessions=sessions)
            count = served(origin)
        assert result.total_requests == count == 18 and not result.interrupted
        assert len(result.generator["workers"]) == 2
        turns: dict[int | None, list[tuple[float, int | None, int | None]]] = {}
        for r in result.responses:
            turns.setdefault(r.session, []).append((r.send_time or 0.0, r.turn, r.client))
        assert len(turns) == 6 and None not in turns
        for sent in turns.values():
            assert [turn for _, turn, _ in sorted(sent)] == [1, 2, 3]
            assert len({client for _, _, client in sent}) == 1
        assert result.stats["sessions_completed"] == 6 == result.stats["sessions_started"]
        counted = RunStats.of(result.responses).to_dict(result.total_test_time)
        same({k: result.stats[k] for k in counted}, counted)
        loaded = Result.load(tmp_path / "turns")
        same(loaded.stats, result.stats)
        same(loaded.stats_by_turn(), result.stats_by_turn())

    def test_a_split_schedule_sends_what_one_process_sends(self, tmp_path: Path) -> None:
        """The same intended times and payloads, on one time base, as one process."""
        schedule = ConstantRate(rate=40)
        with served_in_thread(SIM) as origin:
            options = {"schedule": schedule, "n_requests": 12, "seed": 5}
            alone = run(Runner(endpoint(origin)), **options)
            split = run(Runner(endpoint(origin), workers=3), **options)
            count = served(origin)
        assert count == 24 and split.total_requests == 12

        def sent(result: Result) -> list[tuple[float, int | None]]:
            return sorted(
                (round(r.intended_send_time or 0, 6), r.payload_index) for r in result.responses
            )

        assert sent(split) == sent(alone)
        assert split.start_time is not None
        assert all(r.request_time and r.request_time >= split.start_time for r in split.responses)

    def test_a_timed_open_loop_across_workers(self, tmp_path: Path) -> None:
        """Also: the run folder holds the workers' generator series (a `worker` column, on
        the run's time base) and the server metrics worker 0 alone scraped; its timeline
        draws each worker."""
        with served_in_thread(SIM) as origin:
            runner = Runner(endpoint(origin), output_path=tmp_path, run_name="timed")
            result = run(
                runner, schedule=Poisson(rate=30), run_duration=1.5, workers=2, seed=2,
                server_metrics=f"{origin}/metrics", server_metrics_interval=0.25,
            )  # fmt: skip
            count = served(origin)
        assert result.total_requests == count > 0
        intended = [r.intended_send_time for r in result.responses]
        assert all(t is not None and 0 <= t < 1.5 for t in intended)
        folder = tmp_path / "timed"
        loaded = Result.load(folder)
        same(loaded.stats, result.stats)
        # the generator's series: each worker's samples, merged in time order
        series = loaded.generator_series
        assert series == result.generator_series
        assert {row["worker"] for row in series} == {0, 1}
        assert [row["time"] for row in series] == sorted(row["time"] for row in series)
        for worker in (0, 1):
            own = (folder / "workers" / f"worker-{worker:03d}" / "generator.jsonl").read_text()
            assert len(own.splitlines()) == sum(row["worker"] == worker for row in series)
        # the server's metrics: scraped once (worker 0), found in the run folder
        assert not (folder / "workers" / "worker-001" / "server_metrics.jsonl").exists()
        scraped = (folder / "workers" / "worker-000" / "server_metrics.jsonl").read_bytes()
        assert (folder / "server_metrics.jsonl").read_bytes() == scraped != b""
        assert loaded.server_metrics == result.server_metrics
        assert result.server_metrics["scrapes"] > 0, result.server_metrics
        # one host: no clock offset
        assert result.generator["largest_clock_offset"] == 0.0
        # the run's timeline: one line per worker, and the server's, from the run folder
        from llmeter_trio.plotting.monitoring import run_timeline_fig

        names = {trace.name for trace in run_timeline_fig(loaded).data}
        assert {"Generator CPU (worker 0)", "Generator CPU (worker 1)"} <= names
        assert "Server: requests running" in names


def test_a_load_test_runs_each_level_across_workers(tmp_path: Path) -> None:
    with served_in_thread(SIM) as origin:
        load_test = LoadTest(
            endpoint(origin), PAYLOADS, [1, 3], min_requests_per_client=2, min_requests_per_run=1,
            progress_bar_stats={}, workers=2, test_name="levels", output_path=tmp_path,
        )  # fmt: skip
        outcome = trio.run(load_test.run)
        count = served(origin)
    assert {c: r.total_requests for c, r in outcome.results.items()} == {1: 2, 3: 6}
    assert count == 8
    workers = [len(r.generator["workers"]) for r in outcome.results.values()]
    assert workers == [1, 2]  # one client cannot be shared


class StopWorkerZero(Callback):
    """Stops the load (as a cost cap does) after client 0's third record."""

    def __init__(self) -> None:
        self.seen = 0

    async def after_invoke(self, response: InvocationResponse) -> None:
        if response.client == 0:
            self.seen += 1
            if self.seen == 3:
                stop_run("client 0 is done")


def worker_pids() -> list[int]:
    """This process's worker processes (children running the worker module)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"llmeter_trio.distributed._worker" in cmdline:
            pids.append(int(entry.name))
    return sorted(pids)


class TestStops:
    def test_a_killed_worker_is_reported_and_the_rest_is_kept(self, tmp_path: Path) -> None:
        """SIGKILL of one worker part-way: the other finishes the run, every record either
        saved reaches the result, the run says which worker died and is marked interrupted."""
        progress = LiveProgress()
        outcome: dict[str, Result] = {}
        with served_in_thread(SLOW) as origin:
            runner = Runner(endpoint(origin), output_path=tmp_path, run_name="killed")

            async def main() -> None:
                async def go() -> None:
                    outcome["result"] = await runner.run(
                        payload=PAYLOADS, clients=2, run_duration=2.5, workers=2, progress=progress
                    )

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(go)
                    while progress.finished < 6:  # noqa: ASYNC110 (counters summed by the run)
                        await trio.sleep(0.05)
                    os.kill(worker_pids()[-1], signal.SIGKILL)

            trio.run(main)
            count = served(origin)
        result = outcome["result"]
        assert result.interrupted
        assert any("killed by SIGKILL" in w for w in result.generator["warnings"])
        # at most the killed worker's one request in flight was never recorded
        assert count - 1 <= result.total_requests <= count
        assert result.total_requests == shard_records(tmp_path / "killed")
        survivor = [r for r in result.responses if r.send_time is not None]
        assert max(r.send_time or 0 for r in survivor) > 2.0  # the other went on to the end
        assert Result.load(tmp_path / "killed").total_requests == result.total_requests

    def test_a_stop_in_one_worker_stops_them_all(self, tmp_path: Path) -> None:
        """`stop_run` in worker 0 (a cost cap) reaches worker 1 at once: the run, due to last
        60 s, ends soon after, with that reason, not interrupted, nothing lost."""
        with served_in_thread(SLOW) as origin:
            runner = Runner(endpoint(origin), output_path=tmp_path, run_name="capped")
            began = time.monotonic()
            result = run(
                runner, clients=2, run_duration=60, workers=2, callbacks=[StopWorkerZero()]
            )
            took = time.monotonic() - began
            count = served(origin)
        assert result.stop_reason == "client 0 is done" and not result.interrupted
        assert result.total_requests == count
        assert took < 30  # compared with what the machine showed: the run was to last 60 s
        assert Result.load(tmp_path / "capped").stop_reason == "client 0 is done"

    def test_a_cancelled_coordinator_leaves_a_folder_that_loads(self, tmp_path: Path) -> None:
        """Cancelled from outside (no summary written): the workers are interrupted, save
        their folders, and the run folder loads from their records, marked interrupted."""
        with served_in_thread(SLOW) as origin:
            runner = Runner(endpoint(origin), output_path=tmp_path, run_name="cancelled")

            async def cancel_once_served(scope: trio.CancelScope) -> None:
                # once the workers are sending (however long starting them took on a busy
                # machine), cancel the coordinator from outside; at most 30 s of waiting
                with trio.fail_after(30):
                    while True:
                        if await trio.to_thread.run_sync(served, origin) >= 2:
                            break
                        await trio.sleep(0.05)
                scope.cancel()

            async def main() -> None:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(cancel_once_served, nursery.cancel_scope)
                    await runner.run(payload=PAYLOADS, clients=2, run_duration=60, workers=2)

            trio.run(main)
            count = served(origin)
        loaded = Result.load(tmp_path / "cancelled")
        assert loaded.interrupted and loaded.total_requests == count > 0
        assert not worker_pids()
        assert (loaded.total_test_time or 0) < 30  # stopped, not killed after the 60 s

    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
    def test_the_coordinator_stopped_by_a_signal_keeps_everything(
        self, tmp_path: Path, signum: signal.Signals
    ) -> None:
        """Ctrl-C or SIGTERM of `llmeter-trio run --workers 2`: every worker stops within a
        second, each request issued is recorded, the folder loads, exit status 130."""
        folder = tmp_path / "stopped"
        with served_in_thread(SLOW) as origin:
            command = [
                sys.executable, "-m", "llmeter_trio", "run", "--endpoint", "openai-chat",
                "--base-url", f"{origin}/v1", "--model", "sim-model", "--prompt", "hello",
                "--clients", "4", "--duration", "60", "--workers", "2", "--output", str(folder),
            ]  # fmt: skip
            env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sim"}
            process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
            try:
                for _ in polls(30):
                    if recorded(folder) >= 8:
                        break
                sent_at = time.monotonic()
                process.send_signal(signum)
                assert process.wait(30) == 130
                stopped_within = time.monotonic() - sent_at
            finally:
                process.kill()
                process.wait()
            count = served(origin)
        result = Result.load(folder)
        assert result.interrupted
        assert result.total_requests == count == shard_records(folder)
        # compared with what the machine showed: the run was to last 60 s
        assert stopped_within < 30
