"""The example plugin distribution in plugins/ works as its README says."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import trio.testing

from llmeter_trio import Result, Runner, plugins

PLUGIN = Path(__file__).resolve().parent.parent / "plugins" / "llmeter-trio-echo"
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


@pytest.fixture
def installed_echo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The plugin as installed: importable, with the entry point its pyproject declares."""
    declared = tomllib.loads((PLUGIN / "pyproject.toml").read_text())
    group = declared["project"]["entry-points"][plugins.ENTRY_POINT_GROUP]
    points = [
        EntryPoint(name=n, value=v, group=plugins.ENTRY_POINT_GROUP) for n, v in group.items()
    ]
    monkeypatch.syspath_prepend(str(PLUGIN))
    monkeypatch.setattr(plugins, "entry_points", lambda group: points)
    monkeypatch.setattr(plugins, "_manager", None)
    yield
    plugins._manager = None
    sys.modules.pop("llmeter_trio_echo", None)


@pytest.mark.usefixtures("installed_echo")
async def test_echo_plugin_runs_and_reloads(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Its declared entry point registers "echo"; a run with it saves and loads back."""
    echo = plugins.get_endpoint_type("echo")
    result = await Runner(echo(delay=0.25), output_path=str(tmp_path)).run(
        payload={"prompt": "one two three"}, n_requests=2, run_name="echo"
    )
    assert result.stats["num_tokens_output-p50"] == 3
    assert result.stats["time_to_last_token-p50"] == 0.75
    loaded = Result.load(str(tmp_path / "echo"))
    assert loaded.run_config is not None
    assert loaded.run_config.endpoint() == echo(delay=0.25)
