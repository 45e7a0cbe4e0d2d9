"""``llmeter-trio run --endpoint litellm``: a run from the command line, and a bad model refused."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import litellm_fakes  # noqa: F401  (litellm imported the plugin's way, offline)
import pytest
import trio

from llmeter_trio.cli import main
from llmeter_trio.sim import SimConfig, simulated_server

pytestmark = [pytest.mark.realtime, pytest.mark.usefixtures("installed_plugin")]

KEY = "sk-litellm-cli-0123456789abcdef"


@contextmanager
def sim_in_a_thread(config: SimConfig) -> Iterator[str]:
    """The simulated server in a trio run of its own (the command line runs another)."""
    started: queue.Queue[str] = queue.Queue()
    stop = threading.Event()

    async def serve() -> None:
        async with simulated_server(config) as url:
            started.put(url)
            await trio.to_thread.run_sync(stop.wait)

    thread = threading.Thread(target=trio.run, args=(serve,), daemon=True)
    thread.start()
    try:
        yield started.get(timeout=30)
    finally:
        stop.set()
        thread.join(30)


def test_a_run_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--model`` is LiteLLM's model string, ``--option`` the rest; the key comes from
    LiteLLM's usual variable and reaches no file."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with sim_in_a_thread(SimConfig(ttft_base=0.02, itl=0.005)) as url:
        status = main(
            [
                "run", "--endpoint", "litellm", "--model", "openai/sim-model",
                "--option", f"api_base={url}", "--prompt", "one two three",
                "--max-tokens", "4", "--clients", "2", "--n-requests", "2",
                "--output", str(tmp_path / "run"),
            ]
        )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    config = json.loads((tmp_path / "run" / "run_config.json").read_text())
    assert config["endpoint_config"]["endpoint_type"] == "litellm"
    assert config["endpoint_config"]["model"] == "openai/sim-model"
    for file in (tmp_path / "run").rglob("*"):
        if file.is_file():
            assert KEY.encode() not in file.read_bytes(), file


def test_a_model_litellm_cannot_route_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["run", "--endpoint", "litellm", "--model", "nonsense-model", "--prompt", "hi"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1, err
    assert "LiteLLM cannot route model 'nonsense-model'" in err
    assert "Traceback" not in err
