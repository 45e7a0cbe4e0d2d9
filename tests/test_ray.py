"""The Ray executor on a local two-node Ray cluster (127.0.0.1 only) against the simulator."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trio

from llmeter_trio import FakeEndpoint
from llmeter_trio.cli import main
from llmeter_trio.distributed._ray import (
    RayExecutor,
    _Actor,
    check_ray_settings,
    check_reachable,
    clock_offset,
    ray_options,
)
from llmeter_trio.experiments import LoadTest, Quota, Sweep
from llmeter_trio.results import Result
from llmeter_trio.sim import SimConfig
from llmeter_trio.slo import parse_slos
from llmeter_trio.stats import RunStats

from ._support.ray_cluster import RayCluster, local_ray_cluster, non_loopback_listeners
from ._support.same_stats import same
from ._support.shards import polls, recorded, shard_records
from ._support.threaded_sim import served, served_in_thread

ROOT = Path(__file__).resolve().parents[1]
# this checkout, no installed plugin, and the endpoint's key: for the driver and every node
# (secrets reach the actors through their nodes' environment, never through Ray)
ISOLATED = {"PYTHONPATH": str(ROOT), "LLMETER_TRIO_PLUGINS": "", "OPENAI_API_KEY": "sim"}
SIM = SimConfig(ttft_base=0.005, itl=0.001, output_tokens=4)
SLOW = SimConfig(ttft_base=0.05, itl=0.005, output_tokens=8)


# -- what needs no cluster ------------------------------------------------------------------


def test_resources_per_worker_become_ray_options() -> None:
    assert ray_options(None) == {"num_cpus": 1.0}
    options = ray_options({"CPU": 2, "GPU": 1, "memory": 2**30, "accelerator": 0.5})
    assert options == {
        "num_cpus": 2,
        "num_gpus": 1,
        "memory": 2**30,
        "resources": {"accelerator": 0.5},
    }
    with pytest.raises(ValueError, match="CPU must be a number >= 0"):
        ray_options({"CPU": -1})


def test_a_run_on_ray_needs_a_worker_count() -> None:
    with pytest.raises(ValueError, match="needs a number of workers"):
        check_ray_settings("ray", None, None)
    with pytest.raises(ValueError, match="executor must be 'local' or 'ray'"):
        check_ray_settings("dask", 2, None)


def _experiments(**ray: Any) -> list[Any]:
    """A LoadTest, a Sweep and a Quota on a fake endpoint, each given the Ray settings `ray`."""
    fake, prompt = FakeEndpoint(), {"prompt": "x"}
    return [
        LoadTest(fake, prompt, [2], progress_bar_stats={}, **ray),
        Sweep(fake, prompt, slos=["ttft<=1s"], max_load=2, **ray),
        Quota(fake, prompt, step_duration=1, **ray),
    ]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["LoadTest", "Sweep", "Quota"])
def test_the_experiments_pass_the_ray_settings_to_their_runs(index: int) -> None:
    """`executor`, `ray_address` and `ray_resources` reach every run an experiment makes:
    each is checked by the run (before anything is sent) and refused there."""
    without_workers = _experiments(executor="ray")[index]
    with pytest.raises(ValueError, match="a run on Ray needs a number of workers"):
        trio.run(without_workers.run)
    bad = _experiments(workers=2, ray_address="127.0.0.1:9", ray_resources={"CPU": -1})[index]
    with pytest.raises(ValueError, match="ray resources: CPU must be a number >= 0"):
        trio.run(bad.run)


def test_an_address_where_nothing_answers_is_one_line() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(ValueError, match=f"no Ray cluster answers at 127.0.0.1:{port}"):
            check_reachable(f"127.0.0.1:{port}")


def test_the_command_line_refuses_ray_without_workers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMETER_TRIO_PLUGINS", "")  # the built-in endpoints only
    code = main(
        [
            "run", "--endpoint", "openai-chat", "--base-url", "http://127.0.0.1:9/v1",
            "--model", "m", "--prompt", "hi", "--ray", "127.0.0.1:6379",
        ]
    )  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "llmeter-trio run: error: a run on Ray needs a number of workers (workers=N, --workers N)"
    ]


def test_a_clock_offset_comes_from_the_shortest_round_trip() -> None:
    """A remote clock 5 s ahead, read with round trips of varying length: the offset is
    taken from the shortest, whose error bound is half of it."""
    delays = iter([0.02, 0.0, 0.01])

    def read() -> float:
        delay = next(delays)
        time.sleep(delay)
        return time.time() + 5.0 - delay / 2  # read in the middle of its round trip

    offset, error = clock_offset(read, readings=3)
    assert abs(offset - 5.0) <= error + 0.005
    assert error < 0.01  # the 0 s delay reading was kept


class _Method:
    def __init__(self, calls: list[tuple[str, object]], name: str) -> None:
        self.calls, self.name = calls, name

    def remote(self, argument: object) -> None:
        self.calls.append((self.name, argument))


class _Handle:
    """An actor handle that records the calls made through it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def __getattr__(self, name: str) -> _Method:
        return _Method(self.calls, name)


async def test_each_actor_gets_the_start_instant_on_its_own_clock() -> None:
    """The coordinator's instant, translated by each actor's measured offset: an actor whose
    clock is 5 s ahead starts at its own at + 5, one 2 s behind at its own at - 2; stop and
    interrupt reach each actor still running."""
    async with trio.open_nursery() as nursery:
        executor = RayExecutor(nursery)
        ahead, behind = _Handle(), _Handle()
        executor.actors = [
            _Actor(SimpleNamespace(index=0), ahead, offset=5.0),  # type: ignore[arg-type]
            _Actor(SimpleNamespace(index=1), behind, offset=-2.0),  # type: ignore[arg-type]
        ]
        await executor.start(1000.0)
        executor.actors[1].ended.set()  # this one is done: nothing more reaches it
        executor.stop("cost cap")
        executor.interrupt("SIGINT")
    assert ahead.calls == [("start", 1005.0), ("stop", "cost cap"), ("interrupt", "SIGINT")]
    assert behind.calls == [("start", 998.0)]


# -- on a local cluster ---------------------------------------------------------------------

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="the Ray tests need the `ray` extra"
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    before = non_loopback_listeners()
    folder = tmp_path_factory.mktemp("ray")
    with local_ray_cluster(folder, extra=ISOLATED) as c:
        yield c
        assert non_loopback_listeners() - before == set(), "Ray listened beyond loopback"


def ray_run(cluster: RayCluster, origin: str, folder: Path, *more: str) -> list[str]:
    return [
        sys.executable, "-m", "llmeter_trio", "run", "--endpoint", "openai-chat",
        "--base-url", f"{origin}/v1", "--model", "sim-model", "--prompt", "hello",
        "--workers", "2", "--ray", cluster.address, "--output", str(folder), *more,
    ]  # fmt: skip


def driver_environment(cluster: RayCluster) -> dict[str, str]:
    return {**os.environ, **cluster.environment, **ISOLATED}


def run_driver(cluster: RayCluster, command: list[str]) -> None:
    """Run a driver on the cluster to its end; it must succeed (else its stderr's tail)."""
    done = subprocess.run(
        command, env=driver_environment(cluster), capture_output=True, timeout=240
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]


@needs_ray
@pytest.mark.realtime
class TestOnALocalCluster:
    def test_a_run_across_both_nodes_counts_what_the_server_counted(
        self, cluster: RayCluster, tmp_path: Path
    ) -> None:
        """`--workers 2 --ray ADDRESS`: one actor on each node, every request the simulator
        took up is in the result once, which loads back with exactly the statistics one
        process computes from those records; each worker's clock offset is measured (one
        host: well under a second) and the largest saved; the server metrics worker 0
        scraped are in the run folder."""
        folder = tmp_path / "on-ray"
        with served_in_thread(SIM) as origin:
            command = ray_run(
                cluster, origin, folder, "--clients", "4", "--n-requests", "5",
                "--slo", "ttft<=1s", "--server-metrics", f"{origin}/metrics",
            )  # fmt: skip
            run_driver(cluster, command)
            count = served(origin)
        result = Result.load(folder)
        assert result.total_requests == count == 20 == shard_records(folder)
        assert not result.interrupted
        # the statistics the coordinator merged from the actors' counts (saved in stats.json)
        # are those one process computes from the saved records
        saved = json.loads((folder / "stats.json").read_bytes())
        counted = RunStats.of(result.responses, parse_slos(["ttft<=1s"]))
        recount = counted.to_dict(result.total_test_time)
        assert recount["total_requests"] == 20 and "slo_attainment" in recount
        same({k: saved[k] for k in recount}, recount)  # the mean ITL: within 1e-12
        workers = result.generator["workers"]
        assert len(workers) == 2
        assert all(abs(w["clock_offset"]) < 1.0 for w in workers)
        largest = max(abs(w["clock_offset"]) for w in workers)
        assert result.generator["largest_clock_offset"] == largest
        # worker 0 alone scraped the server; its samples are the run folder's
        assert result.server_metrics["scrapes"] > 0
        assert (folder / "server_metrics.jsonl").read_bytes() == (
            folder / "workers" / "worker-000" / "server_metrics.jsonl"
        ).read_bytes()
        assert not (folder / "workers" / "worker-001" / "server_metrics.jsonl").exists()
        # placement spread: one actor on each node
        assert len({w["host"] for w in workers}) == 2
        assert all("(Ray node " in w["host"] for w in workers)

    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
    def test_ctrl_c_of_the_driver_stops_every_actor_and_keeps_everything(
        self, cluster: RayCluster, tmp_path: Path, signum: signal.Signals
    ) -> None:
        """Ctrl-C (or SIGTERM) of `llmeter-trio run --ray`: every actor stops, each request
        issued is recorded in the folders on both nodes, the folder loads, exit status 130."""
        folder = tmp_path / "stopped"
        with served_in_thread(SLOW) as origin:
            command = ray_run(cluster, origin, folder, "--clients", "4", "--duration", "120")
            process = subprocess.Popen(  # its own session: nothing it signals reaches pytest
                command,
                env=driver_environment(cluster),
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            try:
                for _ in polls(120):
                    if recorded(folder) >= 8:
                        break
                sent_at = time.monotonic()
                process.send_signal(signum)
                assert process.wait(60) == 130
                stopped_within = time.monotonic() - sent_at
                print(f"driver {signum.name}: all stopped and saved in {stopped_within:.2f} s")
            finally:
                process.kill()
                process.wait()
            count = served(origin)
        result = Result.load(folder)
        assert result.interrupted
        assert result.total_requests == count == shard_records(folder)
        assert stopped_within < 60  # compared with what the machine showed: the run was 120 s

    def test_a_killed_actor_is_reported_and_the_rest_is_kept(
        self, cluster: RayCluster, tmp_path: Path
    ) -> None:
        folder = tmp_path / "killed"
        with served_in_thread(SLOW) as origin:
            command = ray_run(cluster, origin, folder, "--clients", "2", "--duration", "6")
            process = subprocess.Popen(  # its own session: nothing it signals reaches pytest
                command,
                env=driver_environment(cluster),
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            try:
                for _ in polls(120):
                    if recorded(folder) >= 6:
                        break
                actors = _actor_pids(cluster)
                assert len(actors) == 2
                os.kill(actors[-1], signal.SIGKILL)
                process.communicate(timeout=120)
            finally:
                process.kill()
                process.wait()
            count = served(origin)
        result = Result.load(folder)
        assert result.interrupted
        assert any("died" in w for w in result.generator["warnings"]), result.generator
        # at most the killed actor's one request in flight was never recorded
        assert count - 1 <= result.total_requests <= count
        assert result.total_requests == shard_records(folder)
        survivor = [r for r in result.responses if r.send_time is not None]
        assert max(r.send_time or 0 for r in survivor) > 5.0  # the other went on to the end

    def test_a_load_test_runs_its_levels_on_the_cluster(
        self, cluster: RayCluster, tmp_path: Path
    ) -> None:
        """`LoadTest(..., workers=2, executor="ray", ray_address=...)`: each level's run is
        spread over actors on both nodes, and counts what the server counted."""
        script = f"""
import trio
from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.experiments import LoadTest
endpoint = OpenAIChatEndpoint(base_url=ORIGIN + "/v1", model_id="sim-model")
test = LoadTest(
    endpoint, OpenAIChatEndpoint.create_payload("hello"), [4],
    min_requests_per_client=3, min_requests_per_run=12,
    progress_bar_stats={{}}, output_path={str(tmp_path)!r}, test_name="levels",
    workers=2, executor="ray", ray_address={cluster.address!r},
)
trio.run(test.run)
"""
        with served_in_thread(SIM) as origin:
            run_driver(cluster, [sys.executable, "-c", f"ORIGIN = {origin!r}\n{script}"])
            count = served(origin)
        (level,) = (tmp_path / "levels").glob("*4*")
        result = Result.load(level)
        assert result.total_requests == count == 12 and not result.interrupted
        assert result.stats["failed_requests"] == 0
        hosts = {w["host"] for w in result.generator["workers"]}
        assert len(hosts) == 2 and all("(Ray node " in host for host in hosts)

    def test_sessions_run_across_both_nodes(self, cluster: RayCluster, tmp_path: Path) -> None:
        """`--turns 3 --workers 2 --ray ADDRESS`: each session is numbered once in the run,
        its turns in order from one actor; the session statistics the coordinator merged
        are those of the saved records."""
        folder = tmp_path / "turns"
        with served_in_thread(SIM) as origin:
            command = ray_run(
                cluster, origin, folder, "--clients", "2", "--n-requests", "2",
                "--turns", "3", "--think-time", "0.01",
            )  # fmt: skip
            run_driver(cluster, command)
            count = served(origin)
        result = Result.load(folder)
        assert result.total_requests == count == 12 and not result.interrupted
        assert len({w["host"] for w in result.generator["workers"]}) == 2
        turns: dict[int | None, list[tuple[float, int | None]]] = {}
        for r in result.responses:
            turns.setdefault(r.session, []).append((r.send_time or 0.0, r.turn))
        assert len(turns) == 4 and None not in turns
        assert all([turn for _, turn in sorted(sent)] == [1, 2, 3] for sent in turns.values())
        saved = json.loads((folder / "stats.json").read_bytes())
        recount = RunStats.of(result.responses).to_dict(result.total_test_time)
        assert recount["sessions_completed"] == 4
        same({k: saved[k] for k in recount}, recount)

    def test_the_cluster_refuses_a_driver_without_its_token(self, cluster: RayCluster) -> None:
        assert cluster.environment["RAY_AUTH_TOKEN"] not in repr(cluster)
        """Token authentication is on for the test cluster: a driver with another token is
        refused (and says why) instead of running code on it."""
        address = cluster.address
        connect = f"import ray; ray.init(address={address!r}, _node_ip_address='127.0.0.1')"
        environment = {**driver_environment(cluster), "RAY_AUTH_TOKEN": "not-the-token"}
        done = subprocess.run(
            [sys.executable, "-c", connect], env=environment, capture_output=True, timeout=120
        )
        assert done.returncode != 0
        assert b"Authentication" in done.stderr or b"InvalidAuthToken" in done.stderr


def _actor_pids(cluster: RayCluster) -> list[int]:
    """The cluster's processes running a shard actor (Ray names them after the actor)."""
    found = []
    for pid in cluster.pids():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"ShardActor" in title:
            found.append(pid)
    return sorted(found)
