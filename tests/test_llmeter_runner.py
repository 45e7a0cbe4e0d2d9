"""LLMeter's `Runner` as a migrating user calls it: arguments, run folders, interrupted runs.

`llmeter_trio.runner.Runner` (LLMeter's path) returns an interrupted run's partial
result; `llmeter_trio.Runner` raises `RunInterrupted` with it. Signals are raised
in-process (`signal.raise_signal`), so these runs stay in virtual time; the asyncio
and subprocess ones are `realtime`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
import trio
import trio.testing

import llmeter_trio
from llmeter_trio import (
    Callback,
    FakeEndpoint,
    InvocationResponse,
    LiveProgress,
    Result,
    RunInterrupted,
)
from llmeter_trio import runner as llmeter_runner
from llmeter_trio.endpoints import ErrorClass

# each request takes 30 s of (virtual) time: only a stop ends the run early
SLOW = {"prompt": "slow", "fake": {"time_to_first_token": 30.0}}
EngineRunner = llmeter_trio.Runner
CompatRunner = llmeter_runner.Runner


def saved_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((Path(folder) / "run_config.json").read_text())
    return document


class TestRunFolder:
    async def test_runner_output_path_is_the_parent_of_each_run(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Runner(output_path=P): each run is saved in P/{run_name}, as result.output_path says."""
        runner = CompatRunner(FakeEndpoint(), output_path=tmp_path)
        first = await runner.run(payload={"prompt": "x"}, n_requests=2, run_name="one")
        second = await runner.run(payload={"prompt": "x"}, n_requests=2, run_name="two")
        assert first.output_path == str(tmp_path / "one")
        assert second.output_path == str(tmp_path / "two")
        assert Result.load(tmp_path / "two").total_requests == 2

    async def test_run_output_path_is_the_run_folder_itself(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """run(output_path=F) saves in F itself, also over the Runner's output_path."""
        runner = EngineRunner(FakeEndpoint(), output_path=tmp_path / "parent")
        result = await runner.run(
            payload={"prompt": "x"}, n_requests=3, run_name="named", output_path=tmp_path / "here"
        )
        assert result.output_path == str(tmp_path / "here")
        assert saved_config(tmp_path / "here")["run_name"] == "named"
        assert not (tmp_path / "parent").exists()
        assert Result.load(tmp_path / "here").total_requests == 3


async def interrupt_when(progress: LiveProgress, started: int, signum: int) -> None:
    """Ctrl-C (or SIGTERM), as the terminal sends it, once `started` requests were sent."""
    while progress.started < started:  # noqa: ASYNC110 - polling the public counters
        await trio.sleep(0.5)
    signal.raise_signal(signum)


async def interrupted_run(
    runner: EngineRunner, signum: int = signal.SIGINT, **kwargs: Any
) -> Result:
    """Run 3 slow clients until the third request is sent, then Ctrl-C."""
    progress = LiveProgress()
    raised: RunInterrupted | None = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(interrupt_when, progress, 3, signum)
        try:
            result = await runner.run(
                payload=SLOW, clients=3, n_requests=5, run_name="cut", progress=progress, **kwargs
            )
        except RunInterrupted as exc:  # raised out of the nursery, not in a group
            raised = exc
    if raised is not None:
        raise raised
    return result


class TestInterruptedRun:
    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
    async def test_llmeter_path_returns_the_partial_result(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock, signum: int
    ) -> None:
        """llmeter_trio.runner.Runner: Ctrl-C or SIGTERM returns the saved partial result."""
        runner = CompatRunner(FakeEndpoint(), output_path=tmp_path)
        result = await interrupted_run(runner, signum)
        assert result.interrupted
        assert result.stats["interrupted"] is True
        assert result.total_requests == 3 < 15
        assert result.n_requests == 1  # what each client sent, as LLMeter (5 were asked)
        assert result.run_config is not None and result.run_config.n_requests == 5
        assert {r.error_class for r in result.responses} == {ErrorClass.CANCELLED}
        saved = Result.load(tmp_path / "cut")
        assert saved.interrupted and saved.total_requests == 3
        assert saved_config(tmp_path / "cut")["on_interrupt"] == "return"

    async def test_package_runner_still_raises(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """llmeter_trio.Runner: Ctrl-C raises RunInterrupted carrying the saved result."""
        with pytest.raises(RunInterrupted) as raised:
            await interrupted_run(EngineRunner(FakeEndpoint(), output_path=tmp_path))
        assert raised.value.signal_name == "SIGINT"
        assert raised.value.result.interrupted
        assert Result.load(tmp_path / "cut").total_requests == 3
        assert saved_config(tmp_path / "cut")["on_interrupt"] == "raise"

    @pytest.mark.parametrize(
        ("runner_class", "option", "raises"),
        [(EngineRunner, "return", False), (CompatRunner, "raise", True)],
        ids=["llmeter_trio.Runner", "llmeter_trio.runner.Runner"],
    )
    @pytest.mark.parametrize("given_to", ["Runner", "run"])
    async def test_on_interrupt_chooses(
        self,
        tmp_path: Path,
        autojump_clock: trio.testing.MockClock,
        runner_class: type[EngineRunner],
        option: str,
        raises: bool,
        given_to: str,
    ) -> None:
        """on_interrupt, given to the Runner or to run(), overrides either default."""
        at_runner: dict[str, Any] = {"on_interrupt": option} if given_to == "Runner" else {}
        at_run: dict[str, Any] = {"on_interrupt": option} if given_to == "run" else {}
        runner = runner_class(FakeEndpoint(), output_path=tmp_path, **at_runner)
        if raises:
            with pytest.raises(RunInterrupted):
                await interrupted_run(runner, **at_run)
        else:
            assert (await interrupted_run(runner, **at_run)).interrupted
        assert Result.load(tmp_path / "cut").interrupted

    async def test_on_interrupt_is_checked_before_the_run(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        with pytest.raises(ValueError, match="on_interrupt must be 'raise' or 'return'"):
            await CompatRunner(FakeEndpoint(), output_path=tmp_path).run(
                payload={"prompt": "x"},
                on_interrupt="ignore",  # type: ignore[arg-type]
            )
        assert not os.listdir(tmp_path)

    async def test_outer_cancellation_is_not_an_interrupt(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A caller's cancel scope still cancels (the run is saved); nothing is returned."""
        returned: list[Result] = []
        with trio.move_on_after(45) as scope:
            returned.append(
                await CompatRunner(FakeEndpoint(), output_path=tmp_path).run(
                    payload=SLOW, clients=2, n_requests=3, run_name="outer"
                )
            )
        assert scope.cancelled_caught and returned == []
        assert Result.load(tmp_path / "outer").interrupted

    @pytest.mark.realtime  # asyncio runs the engine as a trio guest, on the real clock
    def test_returns_under_asyncio_too(self, tmp_path: Path) -> None:
        """The LLMeter path under asyncio (a notebook): Ctrl-C returns the saved partial run."""
        progress = LiveProgress()

        async def main() -> Result:
            loop = asyncio.get_running_loop()

            async def interrupt() -> None:
                while progress.started < 2:  # noqa: ASYNC110 - polling the public counters
                    await asyncio.sleep(0.01)
                loop.call_soon(os.kill, os.getpid(), signal.SIGINT)

            stopper = asyncio.ensure_future(interrupt())
            result = await CompatRunner(FakeEndpoint(), output_path=tmp_path).run(
                payload=SLOW, clients=2, n_requests=4, run_name="nb", progress=progress
            )
            await stopper
            return result

        result = asyncio.run(asyncio.wait_for(main(), 60))
        assert result.interrupted and result.stats["interrupted"] is True
        assert result.total_requests == 2
        assert Result.load(tmp_path / "nb").interrupted


SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from llmeter_trio import Callback, FakeEndpoint
    from llmeter_trio.runner import Runner

    class Announce(Callback):
        def before_invoke(self, payload):
            print("sending", flush=True)

    async def main():
        runner = Runner(FakeEndpoint(), output_path=sys.argv[1], callbacks=[Announce()])
        result = await runner.run(
            payload={"prompt": "slow", "fake": {"time_to_first_token": 300.0}},
            n_requests=1, run_name="script",
        )
        print("returned", result.interrupted, result.total_requests, flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.realtime  # a subprocess, stopped by a real Ctrl-C
def test_a_script_interrupted_with_ctrl_c_gets_its_result(tmp_path: Path) -> None:
    """A script on the LLMeter path, Ctrl-C'd mid-request: run() returns, the folder loads."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "sending"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert out.strip() == "returned True 1"
    assert Result.load(tmp_path / "script").interrupted


class Recording(Callback):
    def __init__(self) -> None:
        self.runs = 0

    def after_run(self, result: Result, interrupted: bool) -> None:
        self.runs += 1


class TestLLMeterArguments:
    async def test_endpoint_given_to_run(self, autojump_clock: trio.testing.MockClock) -> None:
        """Runner() without an endpoint, run(endpoint=...) with one (LLMeter allows either)."""
        result = await CompatRunner().run(
            endpoint=FakeEndpoint(), payload={"prompt": "x"}, n_requests=2
        )
        assert result.total_requests == 2
        with pytest.raises(ValueError, match="no endpoint"):
            await CompatRunner().run(payload={"prompt": "x"})

    async def test_endpoint_as_its_saved_configuration(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An endpoint given as a dict (`to_dict` output) is loaded, as LLMeter's Runner does."""
        configuration = FakeEndpoint(output_tokens=7).to_dict()
        result = await CompatRunner(configuration).run(payload={"prompt": "x"}, n_requests=2)
        assert {r.num_tokens_output for r in result.responses} == {7}

    async def test_run_duration_as_timedelta(self, autojump_clock: trio.testing.MockClock) -> None:
        runner = CompatRunner(FakeEndpoint(), run_duration=timedelta(seconds=3))
        result = await runner.run(payload={"prompt": "x"})
        assert result.run_config is not None and result.run_config.run_duration == 3.0
        assert result.total_requests > 0

    async def test_n_requests_zero_with_run_duration_means_unset(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """LLMeter saves a timed run's n_requests as 0; giving both back is not a conflict."""
        result = await CompatRunner(FakeEndpoint()).run(
            payload={"prompt": "x"}, n_requests=0, run_duration=2
        )
        assert result.run_config is not None and result.run_config.n_requests is None

    async def test_both_bounds_refused_with_llmeter_words(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        with pytest.raises(ValueError, match="Cannot set both n_requests and run_duration"):
            await CompatRunner(FakeEndpoint()).run(
                payload={"prompt": "x"}, n_requests=2, run_duration=2
            )

    async def test_add_callback(self, autojump_clock: trio.testing.MockClock) -> None:
        runner = CompatRunner(FakeEndpoint())
        recording = Recording()
        runner.add_callback(recording)
        await runner.run(payload={"prompt": "x"}, n_requests=1)
        await runner.run(payload={"prompt": "x"}, n_requests=1)
        assert recording.runs == 2

    async def test_progress_bar_switches_are_accepted(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        runner = CompatRunner(FakeEndpoint(), disable_clients_progress_bar=False)
        result = await runner.run(
            payload={"prompt": "x"}, n_requests=1, disable_per_client_progress_bar=False
        )
        assert result.total_requests == 1

    async def test_runner_settings_are_defaults_that_run_overrides(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        runner = CompatRunner(FakeEndpoint(), clients=2, n_requests=3, run_description="base")
        first = await runner.run(payload={"prompt": "x"})
        second = await runner.run(payload={"prompt": "x"}, clients=1, run_description="own")
        assert (first.total_requests, first.run_description) == (6, "base")
        assert (second.total_requests, second.run_description) == (3, "own")


class BlockingEndpoint(FakeEndpoint):
    """An endpoint written as LLMeter's are: `invoke` is a plain, blocking function."""

    def invoke(self, payload: dict[str, Any]) -> InvocationResponse:  # type: ignore[override]
        BlockingEndpoint.threads.add(threading.get_ident())
        BlockingEndpoint.barrier.wait()  # every client's request at once, or it breaks
        return InvocationResponse(response_text="one two", input_prompt=payload["prompt"])

    threads: ClassVar[set[int]] = set()
    barrier: ClassVar[threading.Barrier] = threading.Barrier(3, timeout=30)


@pytest.mark.realtime  # worker threads: the requests run on the real clock
async def test_a_blocking_invoke_runs_in_worker_threads() -> None:
    """Each client's request runs in its own worker thread, all three at once, off the loop."""
    BlockingEndpoint.threads.clear()
    result = await CompatRunner(BlockingEndpoint()).run(
        payload={"prompt": "hello there"}, clients=3, n_requests=2
    )
    assert result.stats["failed_requests"] == 0
    assert result.total_requests == 6
    assert threading.get_ident() not in BlockingEndpoint.threads
    assert {r.num_tokens_output for r in result.responses} == {2}  # counted by the tokenizer


class Numbered(Callback):
    """Checks it runs after the callbacks listed before it, for every hook."""

    def __init__(self, number: int, seen: list[str]) -> None:
        self.number, self.seen = number, seen

    def _next(self, marks: dict[str, Any], hook: str) -> None:
        assert marks.get(hook, -1) == self.number - 1, f"{hook}: callback {self.number} early"
        marks[hook] = self.number
        self.seen.append(f"{hook}:{self.number}")

    def before_invoke(self, payload: dict[str, Any]) -> None:
        self._next(payload.setdefault("marks", {}), "before_invoke")

    def after_invoke(self, response: InvocationResponse) -> None:
        assert response.input_payload is not None  # the payload as before_invoke left it
        self._next(response.input_payload["marks"], "after_invoke")

    def after_run(self, result: Result, interrupted: bool) -> None:
        self._next(result.generator.setdefault("marks", {}), "after_run")


async def test_callbacks_run_in_list_order_for_each_hook(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """As LLMeter: callbacks run in list order, each seeing what the earlier ones changed."""
    seen: list[str] = []
    runner = CompatRunner(FakeEndpoint(), callbacks=[Numbered(0, seen)])
    await runner.run(
        payload={"prompt": "x"}, n_requests=2, callbacks=[Numbered(1, seen), Numbered(2, seen)]
    )
    assert seen[-3:] == ["after_run:0", "after_run:1", "after_run:2"]
    for hook in ("before_invoke", "after_invoke"):
        assert [seen.count(f"{hook}:{n}") for n in range(3)] == [2, 2, 2]


def for_outside_a_run(function: Any) -> Any:
    """A wrapper such as one that makes `invoke` callable outside a run: not for the engine."""

    @functools.wraps(function)
    def wrapper(self: Any, payload: dict[str, Any]) -> InvocationResponse:
        raise AssertionError("the engine called the wrapper, not the endpoint's own invoke")

    return wrapper


class WrappedBlockingEndpoint(FakeEndpoint):
    @for_outside_a_run
    def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        return InvocationResponse(response_text="a b c", input_prompt=payload["prompt"])


@pytest.mark.realtime  # worker threads: the requests run on the real clock
async def test_a_blocking_invoke_is_called_as_written_under_wrappers() -> None:
    result = await CompatRunner(WrappedBlockingEndpoint()).run(
        payload={"prompt": "x"}, clients=2, n_requests=2
    )
    assert result.stats["failed_requests"] == 0
    assert {r.num_tokens_output for r in result.responses} == {3}


class TestSavedSettings:
    async def test_save_then_load_gives_the_same_runner(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Runner.save writes LLMeter's keys (payloads to payload.jsonl); Runner.load reads them."""
        runner = CompatRunner(
            FakeEndpoint(output_tokens=5), output_path=str(tmp_path / "runs"), clients=2,
            n_requests=3, payload=[{"prompt": "a"}, {"prompt": "b"}], run_description="base",
            run_duration=None, seed=4, slos=["ttft_p99<=2s"],
        )  # fmt: skip
        where = runner.save(tmp_path / "settings")
        assert where == str(tmp_path / "settings" / "run_config.json")
        document = saved_config(tmp_path / "settings")
        assert document["endpoint"]["endpoint_type"] == "fake"
        assert document["payload"] == str(tmp_path / "settings" / "payload.jsonl")
        loaded = CompatRunner.load(tmp_path / "settings")
        assert type(loaded) is CompatRunner
        assert loaded.endpoint == runner.endpoint
        assert loaded.payload == document["payload"]
        assert (loaded.clients, loaded.n_requests, loaded.seed) == (2, 3, 4)
        assert (loaded.output_path, loaded.run_description) == (runner.output_path, "base")
        assert loaded.slos == ["ttft_p99<=2s"]
        result = await loaded.run(run_name="again")
        assert result.total_requests == 6
        assert {r.input_prompt for r in result.responses} == {"a", "b"}

    async def test_a_saved_run_loads_as_a_runner_beside_it(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A run folder's configuration gives the Runner that made it; a rerun goes beside it."""
        first = await EngineRunner(FakeEndpoint(), output_path=tmp_path).run(
            payload={"prompt": "x"}, clients=3, n_requests=2, run_name="first", seed=9
        )
        again = EngineRunner.load(tmp_path / "first")
        assert again.output_path == str(tmp_path)
        assert (again.clients, again.n_requests, again.seed) == (3, 2, 9)
        with pytest.raises(FileExistsError):  # same name, same folder: never mixed
            await again.run()
        second = await again.run(run_name="second")
        assert second.output_path == str(tmp_path / "second")
        assert second.total_requests == first.total_requests == 6

    async def test_an_llmeter_run_configuration_loads(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """LLMeter's run_config.json (its keys, n_requests 0 for a timed run) loads and runs."""
        folder = tmp_path / "llmeter-run"
        folder.mkdir()
        (folder / "payload.jsonl").write_text('{"prompt": "hello"}\n')
        llmeter_document = {
            "endpoint": FakeEndpoint().to_dict(), "tokenizer": None, "clients": 2,
            "n_requests": 0, "run_duration": 3, "payload": str(folder / "payload.jsonl"),
            "run_name": "llmeter-run", "run_description": None, "timeout": 60,
            "callbacks": None, "low_memory": False, "output_path": str(folder),
            "progress_bar_stats": None, "disable_per_client_progress_bar": True,
            "disable_clients_progress_bar": True,
        }  # fmt: skip
        (folder / "run_config.json").write_text(json.dumps(llmeter_document))
        runner = CompatRunner.load(folder)
        assert runner.output_path == str(tmp_path)
        result = await runner.run(run_name="rerun")
        assert result.run_config is not None and result.run_config.run_duration == 3
        assert result.total_requests > 0

    def test_save_needs_a_folder(self) -> None:
        with pytest.raises(ValueError, match="no output path"):
            CompatRunner(FakeEndpoint()).save()


class Identified(FakeEndpoint):
    """Gives the records of ``named`` prompts the server's id, the others none."""

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        record = await super().invoke(payload)
        if payload["prompt"] == "named":
            record.id = "server-id"
        return record


async def test_every_record_of_a_run_has_an_id(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """As LLMeter's: a record the endpoint gave no id gets a new random one, in memory and in
    the saved records; an id the endpoint gave is kept."""
    payloads = [{"prompt": "named"}, {"prompt": "plain"}]
    result = await EngineRunner(Identified()).run(
        payload=payloads, clients=2, n_requests=2, output_path=tmp_path / "run"
    )
    ids = [record.id for record in result.responses]
    assert ids.count("server-id") == 2
    generated = [i for i in ids if i != "server-id"]
    assert len(set(generated)) == 2
    assert all(i is not None and len(i) == 32 and int(i, 16) >= 0 for i in generated)
    saved = (tmp_path / "run" / "responses.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in saved) == sorted(ids)
