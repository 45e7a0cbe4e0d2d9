"""The plugin as installed: the "mlflow" callback by name, on the command line, cheap to load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Store
from llmeter_trio_mlflow import MlflowCallback

from llmeter_trio import plugins
from llmeter_trio.cli import main

FAST = ["--option", "time_to_first_token=0.001", "--option", "inter_token_latency=0.0001"]


@pytest.mark.usefixtures("installed_plugin")
def test_registered_as_mlflow_through_its_entry_point() -> None:
    """Its entry point registers `MlflowCallback` as "mlflow", options as keywords."""
    assert plugins.callback_types()["mlflow"] is MlflowCallback
    callback = plugins.callback_from_config({"callback_type": "mlflow", "step": 2, "nested": True})
    assert isinstance(callback, MlflowCallback)
    assert (callback.step, callback.nested) == (2, True)


def test_the_llmeter_path_gives_this_class() -> None:
    """LLMeter's ``llmeter.callbacks.mlflow`` path, with llmeter_trio for llmeter."""
    from llmeter_trio.callbacks.mlflow import MlflowCallback as LLMeterPath

    assert LLMeterPath is MlflowCallback


@pytest.mark.realtime  # the command runs its requests on the real clock
@pytest.mark.usefixtures("installed_plugin")
def test_the_command_line_logs_a_run(store: Store, tmp_path: Path) -> None:
    """``--callback mlflow:{...}`` logs the command's run to the store named."""
    options = json.dumps({**store.callback_options(), "tags": {"team": "perf"}})
    output = tmp_path / "runs" / "cli-run"
    status = main(["run", "--endpoint", "fake", "--prompt", "hi", "--n-requests", "3", *FAST,
                   "--output", str(output), "--callback", f"mlflow:{options}"])  # fmt: skip
    assert status == 0
    run = store.run_named("cli-run")
    assert run.info.status == "FINISHED"
    assert run.data.metrics["total_requests"] == 3
    assert run.data.tags["team"] == "perf"
    assert {"run_config.json", "stats.json"} <= store.artifacts(run)


@pytest.mark.usefixtures("installed_plugin")
@pytest.mark.parametrize(
    ("option", "message"),
    [
        ('{"step": -1}', "step must be a whole number >= 0, not -1"),
        ('{"stepp": 1}', "unexpected keyword argument 'stepp'"),
        ('{"tags": ["a"]}', "tags must map names to values"),
    ],
)
def test_a_bad_option_is_one_line_and_status_2(
    option: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad option is refused before any request: one line on stderr, exit status 2."""
    status = main(["run", "--endpoint", "fake", "--prompt", "hi", "--n-requests", "1",
                   "--callback", f"mlflow:{option}"])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and message in err


@pytest.mark.realtime  # a fresh interpreter
def test_loading_the_plugin_does_not_import_mlflow() -> None:
    """llmeter-trio loads every plugin on start: this one leaves MLflow (a slow import)
    until a callback is made."""
    code = (
        "import sys, llmeter_trio_mlflow.plugin\n"
        "from llmeter_trio import plugins\n"
        "plugins.callback_types()\n"
        "assert 'mlflow' not in sys.modules, 'mlflow was imported'\n"
    )
    root = Path(__file__).resolve().parents[1]
    path = ":".join([str(root), *sys.path])
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          timeout=60, env={"PYTHONPATH": path})  # fmt: skip
    assert done.returncode == 0, done.stderr
