"""Runs awaited from asyncio (a trio guest run on the asyncio loop) equal runs under trio;
cancelling the asyncio task or Ctrl-C saves the partial result; `run_sync`; a notebook."""

from __future__ import annotations

import asyncio
import gc
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio
import trio.testing

from llmeter_trio import (
    Callback,
    Endpoint,
    FakeEndpoint,
    LiveProgress,
    Result,
    RunInterrupted,
    Runner,
    run_sync,
)
from llmeter_trio._loops import run_on_any_loop
from llmeter_trio.endpoints import ErrorClass, OpenAIChatEndpoint
from llmeter_trio.experiments import LatencyHeatmap, LoadTest, LoadTestResult, Sweep
from llmeter_trio.prompts import SAMPLE_TEXT_FILE
from llmeter_trio.sim import SimConfig, simulated_server

ROOT = Path(__file__).resolve().parent.parent
TIME_LIMIT = 60  # seconds; each run here takes well under one
SIM = SimConfig(ttft_base=0.005, itl=0.001, output_tokens=4)
SLOW = {"prompt": "slow", "fake": {"time_to_first_token": 30.0}}  # ends only by cancellation

T = TypeVar("T")
Summary = tuple[int, int, int, int]
Experiment = Callable[[Endpoint, str], Awaitable[Any]]


def summary(result: Result) -> Summary:
    """What must not depend on the loop: counts and token totals."""
    stats = result.stats
    return (
        stats["total_requests"],
        stats["failed_requests"],
        stats["total_input_tokens"],
        stats["total_output_tokens"],
    )


def payload(endpoint: Endpoint) -> dict[str, Any]:
    if isinstance(endpoint, OpenAIChatEndpoint):
        return OpenAIChatEndpoint.create_payload("one two three", max_tokens=4)
    return {"prompt": "one two three"}


async def runner(endpoint: Endpoint, folder: str) -> Summary:
    result = await Runner(endpoint, output_path=folder).run(
        payload=payload(endpoint), clients=3, n_requests=4, run_name="run", seed=1
    )
    return summary(result)


async def load_test(endpoint: Endpoint, folder: str) -> list[tuple[int, Summary]]:
    test = LoadTest(
        endpoint, payload(endpoint), [1, 3], min_requests_per_client=2, min_requests_per_run=3,
        progress_bar_stats={}, test_name="test", seed=2,
    )  # fmt: skip
    result = await test.run(output_path=folder)
    return [(clients, summary(level)) for clients, level in result.results.items()]


async def heatmap(endpoint: Endpoint, folder: str) -> Summary:
    experiment = LatencyHeatmap(
        endpoint, SAMPLE_TEXT_FILE, 2, folder, input_lengths=[3, 6], output_lengths=[2, 4],
        seed=3, run_name="heatmap",
    )  # fmt: skip
    return summary((await experiment.run()).result)


async def sweep(endpoint: Endpoint, folder: str) -> list[tuple[float, bool, Summary]]:
    experiment = Sweep(
        endpoint, payload(endpoint), slos=["ttft_p50<=20s"], mode="concurrency", start=1,
        max_load=2, requests_per_step=4, output_path=folder, test_name="sweep",
    )  # fmt: skip
    result = await experiment.run()
    return [(step.load, step.passed, summary(step.result)) for step in result.steps]


EXPERIMENTS = [runner, load_test, heatmap, sweep]


def fake() -> FakeEndpoint:
    return FakeEndpoint(time_to_first_token=0.005, inter_token_latency=0.001, output_tokens=4)


@contextmanager
def sim_in_a_thread() -> Iterator[str]:
    """The simulated server, in-process, on a trio run of its own in a thread; its base URL."""
    started: queue.Queue[tuple[str, trio.lowlevel.TrioToken, trio.Event]] = queue.Queue()

    async def serve() -> None:
        stop = trio.Event()
        async with simulated_server(SIM) as base_url:
            started.put((base_url, trio.lowlevel.current_trio_token(), stop))
            await stop.wait()

    thread = threading.Thread(target=trio.run, args=(serve,), daemon=True)
    thread.start()
    base_url, token, stop = started.get(timeout=TIME_LIMIT)
    try:
        yield base_url
    finally:
        trio.from_thread.run_sync(stop.set, trio_token=token)
        thread.join(TIME_LIMIT)


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    with sim_in_a_thread() as base_url:
        yield base_url


def under_asyncio(experiment: Experiment, endpoint: Endpoint, folder: Path) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(experiment(endpoint, str(folder)), TIME_LIMIT)

    return run_asyncio(main())


def run_asyncio(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, checking that no trio guest run was left unfinished when the
    loop closed (trio only warns, once the abandoned run is collected)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        returned = asyncio.run(main)
        gc.collect()  # an abandoned guest run says so when collected
    assert [w.message for w in caught if "guest run" in str(w.message)] == []
    return returned


def under_trio(experiment: Experiment, endpoint: Endpoint, folder: Path) -> Any:
    async def main() -> Any:
        with trio.fail_after(TIME_LIMIT):
            return await experiment(endpoint, str(folder))

    return trio.run(main)


@pytest.mark.realtime
@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda e: e.__name__)
class TestSameAsUnderTrio:
    def test_fake_endpoint(self, experiment: Experiment, tmp_path: Path) -> None:
        """Each entry point awaited under asyncio.run counts what it counts under trio."""
        on_asyncio = under_asyncio(experiment, fake(), tmp_path / "asyncio")
        assert on_asyncio == under_trio(experiment, fake(), tmp_path / "trio")
        assert on_asyncio  # something was measured

    def test_simulated_server(self, experiment: Experiment, tmp_path: Path, sim_url: str) -> None:
        """The same over real HTTP, against the simulated server."""

        def endpoint() -> OpenAIChatEndpoint:
            return OpenAIChatEndpoint(base_url=sim_url, model_id="sim-model", api_key="sim")

        on_asyncio = under_asyncio(experiment, endpoint(), tmp_path / "asyncio")
        assert on_asyncio == under_trio(experiment, endpoint(), tmp_path / "trio")


@pytest.mark.realtime
def test_runs_side_by_side_on_one_asyncio_loop(tmp_path: Path) -> None:
    """Several runs awaited at once on one loop (trio allows one guest run per thread: they
    share it), then one more after them (a new guest run), which ends before it returns."""

    async def main() -> list[Summary]:
        side_by_side = await asyncio.wait_for(
            asyncio.gather(
                runner(fake(), str(tmp_path / "a")), runner(fake(), str(tmp_path / "b"))
            ),
            TIME_LIMIT,
        )
        # awaited in the main task itself: asyncio.run closes the loop as soon as it returns
        after = await runner(fake(), str(tmp_path / "c"))
        return [*side_by_side, after]

    assert run_asyncio(main()) == [under_trio(runner, fake(), tmp_path / "trio")] * 3


class TestSignalsOfOverlappingRuns:
    """Runs that overlap share the process's Ctrl-C handler, whatever order they end in."""

    async def test_handler_put_back_after_the_last(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The first run ends before the second: the handler from before both is back after
        both (each used to put back what it found, leaving the first run's behind)."""
        before = signal.getsignal(signal.SIGINT)
        first = Runner(FakeEndpoint(time_to_first_token=1.0), n_requests=2)
        second = Runner(FakeEndpoint(time_to_first_token=10.0), n_requests=2)

        async def second_later() -> None:
            await trio.sleep(0.5)
            await second.run(payload={"prompt": "x"})

        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(first.run, payload={"prompt": "x"}))
            nursery.start_soon(second_later)
        assert signal.getsignal(signal.SIGINT) is before

    async def test_ctrl_c_stops_every_run(self, autojump_clock: trio.testing.MockClock) -> None:
        """One SIGINT while two runs go on: each stops, saves and raises RunInterrupted (only
        the run that watched last used to hear it)."""
        stopped: list[RunInterrupted] = []

        async def run_until_stopped() -> None:
            try:
                await Runner(FakeEndpoint(time_to_first_token=30.0)).run(payload={"prompt": "x"})
            except RunInterrupted as interrupted:
                stopped.append(interrupted)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_until_stopped)
            nursery.start_soon(run_until_stopped)
            await trio.sleep(1)
            signal.raise_signal(signal.SIGINT)
        assert [e.result.interrupted for e in stopped] == [True, True]


class _SlowAfterFirst(Callback):
    """Counts the requests about to be sent, and makes all but the first take 30 s."""

    def __init__(self) -> None:
        self.sending = 0

    def before_invoke(self, payload: dict[str, Any]) -> None:
        self.sending += 1
        if self.sending > 1:
            payload["fake"] = SLOW["fake"]


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():  # noqa: ASYNC110 - polling the public counters
        await asyncio.sleep(0.01)


@pytest.mark.realtime
class TestCancellation:
    def test_cancelling_the_task_saves_the_partial_run(self, tmp_path: Path) -> None:
        """task.cancel() stops the trio run as a trio cancellation does: every request in
        flight is recorded as cancelled, the run is saved and loads interrupted, and the
        task ends cancelled."""
        progress = LiveProgress()

        async def main() -> None:
            run = Runner(fake(), output_path=str(tmp_path)).run(
                payload=SLOW, clients=3, n_requests=2, run_name="run", progress=progress
            )
            task = asyncio.create_task(run)
            await _until(lambda: progress.started == 3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert task.cancelled()

        asyncio.run(asyncio.wait_for(main(), TIME_LIMIT))
        saved = Result.load(tmp_path / "run")
        assert saved.interrupted
        assert saved.total_requests == 3
        assert {r.error_class for r in saved.responses} == {ErrorClass.CANCELLED}

    def test_cancelling_a_load_test_keeps_the_levels_done(self, tmp_path: Path) -> None:
        """Cancelling the task of LoadTest.run: the finished level and the partial one are
        saved, and the partial one loads interrupted."""
        slow_after_first = _SlowAfterFirst()
        test = LoadTest(
            fake(), {"prompt": "x"}, [1, 2], min_requests_per_client=1, min_requests_per_run=1,
            progress_bar_stats={}, test_name="t", callbacks=[slow_after_first],
        )  # fmt: skip

        async def main() -> None:
            task = asyncio.create_task(test.run(output_path=str(tmp_path)))
            await _until(lambda: slow_after_first.sending == 3)  # level 2 in flight
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(asyncio.wait_for(main(), TIME_LIMIT))
        loaded = LoadTestResult.load(tmp_path / "t")
        assert {c: (r.total_requests, r.interrupted) for c, r in loaded.results.items()} == {
            1: (1, False),
            2: (2, True),
        }

    def test_ctrl_c_in_an_asyncio_run_script(self, tmp_path: Path) -> None:
        """SIGINT to a script that runs `asyncio.run(...)`: the run stops, is saved, and
        RunInterrupted (a KeyboardInterrupt) reaches the script, as under trio."""
        script = textwrap.dedent(
            f"""
            import asyncio, sys
            from llmeter_trio import Callback, FakeEndpoint, RunInterrupted, Runner

            class Started(Callback):
                def before_invoke(self, payload):
                    print("sending", flush=True)

            async def main():
                folder = {str(tmp_path)!r}
                runner = Runner(FakeEndpoint(), output_path=folder, callbacks=[Started()])
                await runner.run(payload={SLOW!r}, clients=2, n_requests=1, run_name="run")

            try:
                asyncio.run(main())
            except RunInterrupted as stopped:
                print("interrupted", stopped.result.total_requests, flush=True)
                sys.exit(3)
            """
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
        ) as process:
            assert process.stdout is not None
            try:
                assert process.stdout.readline().strip() == "sending"
                process.send_signal(signal.SIGINT)
                out, _ = process.communicate(timeout=TIME_LIMIT)
            finally:
                process.kill()
        assert process.returncode == 3, out
        assert "interrupted 2" in out
        saved = Result.load(tmp_path / "run")
        assert saved.interrupted
        assert saved.total_requests == 2


def test_keyboard_interrupt_reaching_the_guest_run_reaches_the_awaiting_task() -> None:
    """Without asyncio's Ctrl-C handler (a bare loop), trio's own takes KeyboardInterrupt to
    the guest run; the awaiting task gets that KeyboardInterrupt, not trio's Cancelled."""

    @trio.lowlevel.enable_ki_protection  # trio delivers it at the next checkpoint, as in its code
    async def interrupted() -> None:
        signal.raise_signal(signal.SIGINT)
        await trio.sleep(TIME_LIMIT)

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(run_on_any_loop(interrupted))
    finally:
        loop.close()


class TestRunSync:
    @pytest.mark.realtime
    def test_runs_without_a_loop(self) -> None:
        """From plain code, run_sync runs the engine to the end and returns what it returns."""
        result = run_sync(Runner(fake()).run, payload={"prompt": "a b"}, clients=2, n_requests=3)
        assert summary(result)[:2] == (6, 0)

    def test_refused_inside_asyncio(self) -> None:
        """Inside a running asyncio loop (a notebook) it says to await instead."""

        async def main() -> None:
            with pytest.raises(RuntimeError, match=r"running asyncio event loop; await Runner.run"):
                run_sync(Runner(fake()).run, payload={"prompt": "a"})

        asyncio.run(main())

    async def test_refused_inside_trio(self) -> None:
        """Inside trio too: blocking would stop the run that calls it."""
        with pytest.raises(RuntimeError, match="running trio event loop; await"):
            run_sync(Runner(fake()).run, payload={"prompt": "a"})


NOTEBOOK_CELLS = [
    f"import sys\nsys.path.insert(0, {str(ROOT)!r})",
    """\
import threading, queue, trio
from llmeter_trio import Callback, FakeEndpoint, RunInterrupted, Runner
from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.experiments import LoadTest
from llmeter_trio.sim import SimConfig, simulated_server""",
    # top-level await on Jupyter's asyncio loop
    """\
endpoint = FakeEndpoint(time_to_first_token=0.005, inter_token_latency=0.001, output_tokens=4)
result = await Runner(endpoint).run(payload={"prompt": "one two"}, clients=2, n_requests=3)
print("fake", result.total_requests, result.stats["total_output_tokens"])""",
    """\
test = LoadTest(endpoint, {"prompt": "x"}, [1, 2], 1, 2, progress_bar_stats={})
levels = await test.run()
print("levels", {clients: r.total_requests for clients, r in levels.results.items()})""",
    # the simulated server, in the kernel's process, on a trio run of its own in a thread
    """\
started = queue.Queue()

async def serve():
    stop = trio.Event()
    async with simulated_server(SimConfig(ttft_base=0.005, itl=0.001, output_tokens=4)) as url:
        started.put((url, trio.lowlevel.current_trio_token(), stop))
        await stop.wait()

threading.Thread(target=trio.run, args=(serve,), daemon=True).start()
base_url, token, stop = started.get(timeout=30)
sim = OpenAIChatEndpoint(base_url=base_url, model_id="sim-model", api_key="sim")
payload = OpenAIChatEndpoint.create_payload("one two three", max_tokens=4)
result = await Runner(sim).run(payload=payload, clients=2, n_requests=2)
trio.from_thread.run_sync(stop.set, trio_token=token)
print("sim", result.total_requests, result.stats["failed_requests"])""",
]
INTERRUPTED_CELL = """\
class Started(Callback):
    def before_invoke(self, payload):
        open({marker!r}, "w").close()

slow = {{"prompt": "slow", "fake": {{"time_to_first_token": 30.0}}}}
runner = Runner(endpoint, output_path={folder!r}, callbacks=[Started()])
await runner.run(payload=slow, clients=2, n_requests=1, run_name="run")"""


@pytest.mark.realtime
def test_notebook_runs_under_jupyters_asyncio_loop(tmp_path: Path) -> None:
    """A notebook awaits runs at top level (Runner, LoadTest; FakeEndpoint and the simulated
    server); interrupting the kernel mid-run saves the partial run and shows RunInterrupted."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    NoSuchKernel = pytest.importorskip("jupyter_client.kernelspec").NoSuchKernel
    marker, folder = tmp_path / "sending", tmp_path / "out"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS]
    interrupted = nbformat.v4.new_code_cell(
        INTERRUPTED_CELL.format(marker=str(marker), folder=str(folder))
    )
    interrupted.metadata["tags"] = ["raises-exception"]  # nbclient goes on after its error
    notebook.cells.append(interrupted)
    client = nbclient.NotebookClient(notebook, timeout=TIME_LIMIT, kernel_name="python3")

    def interrupt_once_sending() -> None:
        for _ in range(TIME_LIMIT * 100):
            if marker.exists():
                asyncio.run(client.km.interrupt_kernel())  # as Jupyter's "interrupt kernel"
                return
            threading.Event().wait(0.01)

    with ExitStack() as kernel:
        try:
            kernel.enter_context(client.setup_kernel())
        except (RuntimeError, NoSuchKernel) as exc:  # e.g. no kernel can start on this machine
            pytest.skip(f"a Jupyter kernel cannot start here: {exc}")
        for index, cell in enumerate(notebook.cells[:-1]):
            client.execute_cell(cell, index)
        interrupter = threading.Thread(target=interrupt_once_sending, daemon=True)
        interrupter.start()
        client.execute_cell(interrupted, len(notebook.cells) - 1)
        interrupter.join(TIME_LIMIT)
    printed = "".join(
        output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )
    assert "fake 6 24" in printed
    assert "levels {1: 2, 2: 2}" in printed
    assert "sim 4 0" in printed
    errors = [output for output in interrupted.outputs if output.output_type == "error"]
    assert [error.ename for error in errors] == ["RunInterrupted"]
    saved = Result.load(folder / "run")
    assert saved.interrupted
    assert saved.total_requests == 2
