"""Serving: the in-process context manager and the `serve_sim` command."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import trio
import trio.testing

from llmeter_trio.cli import main
from llmeter_trio.sim import Faults, Jitter, SimConfig, serve_sim, simulated_server
from llmeter_trio.sim._cli import build_parser, config_from_args
from llmeter_trio.sim._server import Engine

from ._support import CHAT, chat_body, data_events


async def test_picks_a_free_port_and_releases_it(engine: Engine) -> None:
    with trio.fail_after(10):
        async with simulated_server(engine=engine) as url, simulated_server() as other:
            assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
            assert url != other and not url.startswith("http://127.0.0.1:0/")
            async with httpx.AsyncClient(base_url=url) as client:
                assert (await client.get("/models")).status_code == 200
        async with httpx.AsyncClient(base_url=url) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/models")


async def test_errors_pass_through_unwrapped() -> None:
    with trio.fail_after(10):
        with pytest.raises(ValueError, match="from the block"):
            async with simulated_server():
                raise ValueError("from the block")
        async with simulated_server() as url:
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            with pytest.raises(OSError):
                async with simulated_server(port=port):
                    pass  # pragma: no cover - the port is taken


async def test_exit_stops_requests_in_flight_at_once(
    engine: Engine, autojump_clock: trio.testing.MockClock
) -> None:
    config = SimConfig(ttft_base=0.0, itl=0.0, faults=Faults(stall_duration=60.0))
    failures: list[BaseException] = []
    started = trio.Event()

    async def long_stream(url: str) -> None:
        async with httpx.AsyncClient(base_url=url) as client:
            body, headers = chat_body(stream=True), {"x-sim-fault": "stall"}
            try:
                async with client.stream("POST", CHAT, json=body, headers=headers) as r:
                    async for _ in r.aiter_raw():
                        started.set()
            except httpx.TransportError as exc:
                failures.append(exc)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            async with simulated_server(config, engine=engine) as url:
                nursery.start_soon(long_stream, url)
                await started.wait()
                leaving = trio.current_time()
            left = trio.current_time() - leaving
    assert left == 0  # in virtual time: the server waited for nothing
    assert len(failures) == 1  # the client saw its stream cut, not a clean end


async def test_unknown_engine_is_refused() -> None:
    with trio.fail_after(10), pytest.raises(ValueError, match="engine must be one of"):
        async with simulated_server(engine="nginx"):  # type: ignore[arg-type]
            pass  # pragma: no cover


async def test_the_h11_engine_needs_no_hypercorn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without hypercorn installed, the default engine serves and asking for hypercorn
    says what to install."""
    monkeypatch.setitem(sys.modules, "hypercorn", None)  # as if not installed
    install = re.escape("pip install 'llmeter-trio[sim-hypercorn]'")
    with trio.fail_after(10):
        with pytest.raises(ValueError, match=install):
            async with simulated_server(engine="hypercorn"):
                pass  # pragma: no cover
        async with simulated_server() as url, httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/models")).status_code == 200


@pytest.mark.parametrize("command", [serve_sim, lambda argv: main(["serve-sim", *argv])])
def test_serve_sim_engine_not_installed_is_one_line_and_exit_2(
    command: Callable[[list[str]], int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``serve-sim --engine hypercorn`` without hypercorn: exit 2, one line, no traceback."""
    monkeypatch.setitem(sys.modules, "hypercorn", None)
    assert command(["--engine", "hypercorn", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("llmeter-trio serve-sim: error: the hypercorn engine needs hypercorn")
    assert "pip install 'llmeter-trio[sim-hypercorn]'" in err


async def test_ipv6_loopback(engine: Engine) -> None:
    with trio.fail_after(10):
        try:
            async with simulated_server(host="::1", engine=engine) as url:
                assert url.startswith("http://[::1]:")
                async with httpx.AsyncClient(base_url=url) as client:
                    assert (await client.get("/models")).status_code == 200
        except OSError as exc:  # pragma: no cover - hosts without IPv6
            pytest.skip(f"no IPv6 loopback: {exc}")


def test_options_map_onto_the_config() -> None:
    args = build_parser().parse_args(
        ["--ttft", "0.2", "--ttft-per-input-token", "0.001", "--itl", "0.03",
         "--itl-jitter", "normal:0.005", "--tokens-per-chunk", "4", "--output-tokens", "64",
         "--reasoning-tokens", "8", "--max-concurrency", "3", "--seed", "9",
         "--rate-429", "0.1", "--retry-after", "2", "--rate-5xx", "0.05",
         "--server-error-codes", "502,504", "--rate-drop", "0.01", "--drop-after-chunks", "5",
         "--rate-stall", "0.02", "--stall-duration", "1.5", "--stall-after-chunks", "2",
         "--model", "big", "--responses-reasoning", "text"]
    )  # fmt: skip
    assert config_from_args(args) == SimConfig(
        model="big",
        ttft_base=0.2,
        ttft_per_input_token=0.001,
        itl=0.03,
        itl_jitter=Jitter(kind="normal", scale=0.005),
        tokens_per_chunk=4,
        output_tokens=64,
        reasoning_tokens=8,
        max_concurrency=3,
        seed=9,
        responses_reasoning="text",
        faults=Faults(
            throttle_rate=0.1,
            retry_after=2.0,
            server_error_rate=0.05,
            server_error_codes=(502, 504),
            drop_rate=0.01,
            drop_after_chunks=5,
            stall_rate=0.02,
            stall_duration=1.5,
            stall_after_chunks=2,
        ),
    )
    defaults = build_parser().parse_args([])
    assert (defaults.host, defaults.port, defaults.workers) == ("127.0.0.1", 8000, 1)
    assert defaults.engine == "h11"
    assert config_from_args(defaults) == SimConfig()


@pytest.mark.parametrize(
    "argv",
    [
        ["--itl-jitter", "cauchy:1"],
        ["--rate-429", "0.7", "--rate-drop", "0.7"],
        ["--tokens-per-chunk", "0"],
        ["--workers", "0"],
        ["--engine", "nginx"],
    ],
)
def test_bad_options_exit_with_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        serve_sim(argv)
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


async def run_and_stop(extra: list[str], stop: signal.Signals) -> tuple[int, str]:
    """Start ``python -m llmeter_trio.sim`` on a free port, stream one request, signal it."""
    command = [sys.executable, "-m", "llmeter_trio.sim", "--port", "0", "--ttft", "0"]
    process = await trio.lowlevel.open_process(
        [*command, "--itl", "0", *extra], stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = b""
        while not line.endswith(b"\n"):
            piece = await process.stdout.receive_some(1024)
            assert piece, "the server exited before announcing itself"
            line += piece
        url = line.decode().split(" on ", 1)[1].split()[0]
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(4):
                response = await client.post(CHAT, json=chat_body(stream=True, max_tokens=3))
                assert data_events(response.content)[-1] == "[DONE]"
        process.send_signal(stop)
        with trio.fail_after(8):
            code = await process.wait()
        async with httpx.AsyncClient(base_url=url) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/models")
        return code, line.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.realtime
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_serve_sim_runs_until_signalled(stop: signal.Signals) -> None:
    with trio.fail_after(30):
        code, line = await run_and_stop([], stop)
    assert code == 0
    assert line.startswith("llmeter-trio simulated server on http://127.0.0.1:")


@pytest.mark.realtime
async def test_serve_sim_with_several_workers(engine: Engine) -> None:
    with trio.fail_after(40):
        code, line = await run_and_stop(["--workers", "2", "--engine", engine], signal.SIGTERM)
    assert code == 0
    assert line.rstrip().endswith("(2 workers)")


def test_a_config_file_fills_what_the_line_leaves_out(tmp_path: Path) -> None:
    from llmeter_trio.sim._cli import parse_args

    config = tmp_path / "sim.toml"
    config.write_text(
        'ttft = 0.3\nitl = 0.5\nitl-jitter = "normal:0.002"\nrate_429 = 0.1\nrpm = 60\n'
        'server-error-codes = "502,504"\nport = 0\n'
    )
    args = parse_args(["--config", str(config), "--itl", "0.02"])
    sim = config_from_args(args)
    assert (sim.ttft_base, sim.itl, sim.itl_jitter) == (
        0.3,
        0.02,
        Jitter(kind="normal", scale=0.002),
    )
    assert sim.faults.throttle_rate == 0.1 and sim.faults.server_error_codes == (502, 504)
    assert args.requests_per_minute == 60.0 and args.port == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope = 1\n", "'nope' is no option of llmeter-trio serve-sim"),
        ('ttft-jitter = "bogus"\n', "jitter kind must be one of"),
        ('ttft = "fast"\n', "--ttft cannot be 'fast'"),
        ("ttft = [", "not TOML"),
    ],
)
def test_a_bad_config_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    config = tmp_path / "sim.toml"
    config.write_text(text)
    assert main(["serve-sim", "--config", str(config), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("llmeter-trio serve-sim: error: --config")
    assert message in err
    assert main(["serve-sim", "--config", str(tmp_path / "none.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
