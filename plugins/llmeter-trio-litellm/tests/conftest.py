"""Shared setup for the LiteLLM plugin's tests: loopback only, no keys, a hang guard.

LiteLLM must not reach the network. Before anything imports it, the whole
test process is limited to the loopback interface (`litellm_loopback.install`):
a connection or name lookup beyond it fails at once and fails the test that
made it. LiteLLM is not told anything here: the plugin's own settings (its
bundled cost map, see `llmeter_trio_litellm._sdk`) are what keep it offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import litellm_loopback as loopback
import pytest

from llmeter_trio import plugins

loopback.install()

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
PROVIDER_KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "ANTHROPIC_API_KEY")


@pytest.fixture(autouse=True)
def _no_provider_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test picks up a real key or base URL from the machine it runs on."""
    for name in PROVIDER_KEYS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True, scope="session")
def _whole_session_stays_on_loopback() -> Iterator[None]:
    """Also catch what imports (at collection) and background threads tried."""
    yield
    assert loopback.ATTEMPTS == [], "something tried to leave the machine"


@pytest.fixture(autouse=True)
def _stays_on_loopback() -> Iterator[None]:
    """Fail a test during which anything tried to reach beyond 127.0.0.1."""
    before = len(loopback.ATTEMPTS)
    yield
    assert loopback.ATTEMPTS[before:] == [], "something tried to leave the machine"


@pytest.fixture
def installed_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The plugin as installed: the entry point its pyproject declares, nothing else."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    declared = tomllib.loads(PYPROJECT.read_text())
    group = declared["project"]["entry-points"][plugins.ENTRY_POINT_GROUP]
    points = [
        EntryPoint(name=n, value=v, group=plugins.ENTRY_POINT_GROUP) for n, v in group.items()
    ]
    monkeypatch.setattr(plugins, "entry_points", lambda group: points)
    monkeypatch.setattr(plugins, "_manager", None)
    yield
    plugins._manager = None
