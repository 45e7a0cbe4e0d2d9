"""Plugins: built-ins registered like third-party ones, entry points, the allow-list."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest
import trio.testing

from llmeter_trio import FakeEndpoint, Runner, plugins
from llmeter_trio.plugins import tokenizer_from_config

from . import plugin_example

EXAMPLE = EntryPoint(name="example", value="tests.plugin_example", group=plugins.ENTRY_POINT_GROUP)


@pytest.fixture
def fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A plugin manager rebuilt for the test, seeing one installed third-party plugin."""

    def fake_entry_points(group: str) -> list[EntryPoint]:
        return [EXAMPLE] if group == plugins.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(plugins, "entry_points", fake_entry_points)
    monkeypatch.setattr(plugins, "_manager", None)
    yield
    plugins._manager = None


class TestBuiltins:
    def test_fake_endpoint_is_a_registered_plugin(self) -> None:
        """The built-in endpoint is found through the same hook third parties use."""
        assert plugins.get_endpoint_type("fake") is FakeEndpoint

    def test_unknown_name_lists_known_ones(self) -> None:
        """An unknown endpoint type says which ones exist and how to add more."""
        with pytest.raises(KeyError, match=r"no endpoint type 'nope'.*known: \[.*'fake'"):
            plugins.get_endpoint_type("nope")

    def test_config_round_trip_and_bad_options(self) -> None:
        """An endpoint rebuilds from its saved configuration; unknown options are named."""
        endpoint = FakeEndpoint(output_tokens=3, model_id="m")
        assert plugins.endpoint_from_config(endpoint.to_config()) == endpoint
        with pytest.raises(ValueError, match=r"no option\(s\) \['colour'\]"):
            plugins.endpoint_from_config({"endpoint_type": "fake", "colour": "red"})


@pytest.mark.usefixtures("fresh_plugins")
class TestEntryPoints:
    def test_installed_plugin_registers_endpoints_and_tokenizers(self) -> None:
        """A distribution's entry point adds its endpoint and tokenizer by name."""
        assert plugins.get_endpoint_type("echo") is plugin_example.EchoEndpoint
        assert plugins.get_endpoint_type("fake") is FakeEndpoint
        tokenizer = tokenizer_from_config({"tokenizer_type": "chars"})
        assert tokenizer is not None and tokenizer.encode("ab") == ["a", "b"]

    def test_allow_list_env_var(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """LLMETER_TRIO_PLUGINS restricts which entry points load; empty loads none."""
        monkeypatch.setenv(plugins.PLUGINS_ENV_VAR, "")
        assert "echo" not in plugins.endpoint_types()
        plugins._manager = None
        monkeypatch.setenv(plugins.PLUGINS_ENV_VAR, "other, example")
        assert "echo" in plugins.endpoint_types()

    async def test_plugin_run_hooks_join_every_run(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A plugin's after_run hook is called for runs that did not name it."""
        plugin_example.finished_runs.clear()
        await Runner(plugin_example.EchoEndpoint()).run(payload={"prompt": "x"}, run_name="hooked")
        assert plugin_example.finished_runs == [("hooked", False)]


class TestExplicitRegistration:
    def test_register_and_unregister(self) -> None:
        """Tests and applications can register a plugin object directly."""
        pm = plugins.get_plugin_manager()
        pm.register(plugin_example, name="explicit-example")
        try:
            assert "echo" in plugins.endpoint_types()
        finally:
            pm.unregister(name="explicit-example")
        assert "echo" not in plugins.endpoint_types()
