"""The echo plugin's tests: its endpoint measured in virtual time, and, once the distribution
is installed (``pip install -e plugins/llmeter-trio-echo``), found through its entry point."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator

import llmeter_trio_echo
import pytest
import trio.testing

from llmeter_trio import Runner, plugins


def _installed() -> bool:
    points = importlib.metadata.entry_points(group=plugins.ENTRY_POINT_GROUP)
    return any(point.name == "echo" for point in points)


@pytest.fixture
def only_echo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Lookups see the built-in endpoints and this plugin, loaded through its entry point,
    whatever else is installed."""
    monkeypatch.setenv(plugins.PLUGINS_ENV_VAR, "echo")
    plugins.reset_plugin_manager()
    yield
    plugins.reset_plugin_manager()


async def test_words_arrive_one_delay_apart(autojump_clock: trio.testing.MockClock) -> None:
    """Three words, 0.25 s apart: the first token at 0.25 s, the last at 0.75 s."""
    endpoint = llmeter_trio_echo.EchoEndpoint(delay=0.25)
    result = await Runner(endpoint).run(payload={"prompt": "one two three"}, n_requests=2)
    assert result.stats["time_to_first_token-p50"] == 0.25
    assert result.stats["time_to_last_token-p50"] == 0.75
    assert result.stats["num_tokens_output-p50"] == 3


@pytest.mark.skipif(not _installed(), reason="needs pip install ./plugins/llmeter-trio-echo")
@pytest.mark.usefixtures("only_echo")
def test_found_through_its_entry_point() -> None:
    """Installed, the distribution's entry point registers "echo", and says it provides it."""
    assert plugins.get_endpoint_type("echo") is llmeter_trio_echo.EchoEndpoint
    source = plugins.endpoint_sources()["echo"]
    assert (source.name, source.distribution) == ("echo", "llmeter-trio-echo")
