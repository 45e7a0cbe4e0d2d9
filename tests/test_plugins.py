"""Plugins: built-ins registered like third-party ones, entry points, the allow-list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from typing import Any, ClassVar

import pytest
import trio.testing

from llmeter_trio import Callback, FakeEndpoint, InvocationResponse, Runner, hookimpl, plugins
from llmeter_trio.cli import main
from llmeter_trio.plugins import tokenizer_from_config
from llmeter_trio.schedules import Poisson

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


class Tally(Callback):
    """A callback made by name: counts records into a shared list under its label."""

    seen: ClassVar[list[tuple[str, int]]] = []

    def __init__(self, label: str = "tally") -> None:
        self.label = label
        self.count = 0

    def after_invoke(self, response: InvocationResponse) -> None:
        self.count += 1

    def after_run(self, result: Any, interrupted: bool) -> None:
        Tally.seen.append((self.label, self.count))


class TallyPlugin:
    @hookimpl
    def register_callbacks(self, register: Callable[[str, Callable[..., Any]], None]) -> None:
        register("tally", Tally)


@pytest.fixture
def tally_plugin() -> Iterator[None]:
    pm = plugins.get_plugin_manager()
    pm.register(TallyPlugin(), name="tally-plugin")
    Tally.seen.clear()
    yield
    pm.unregister(name="tally-plugin")


class TestLookupsByName:
    """Every lookup by name is in the plugin layer; built-ins come from one registration."""

    def test_builtins_are_one_plugin(self) -> None:
        """Endpoints, schedules and tokenizers that ship are registered by one plugin object."""
        pm = plugins.new_plugin_manager()
        pm.register(plugins.BUILTIN_PLUGIN)
        found: dict[str, list[str]] = {"endpoints": [], "schedules": [], "tokenizers": []}
        pm.hook.register_endpoints(
            register=lambda cls: found["endpoints"].append(cls.endpoint_type)
        )
        pm.hook.register_schedules(register=lambda cls: found["schedules"].append(cls.name))
        pm.hook.register_tokenizers(register=lambda name, f: found["tokenizers"].append(name))
        assert "fake" in found["endpoints"]
        assert found["schedules"] == [
            "closed",
            "constant",
            "poisson",
            "gamma",
            "ramp",
            "trace",
            "tokenrate",
        ]
        assert found["tokenizers"] == ["dummy", "huggingface", "tiktoken"]

    def test_schedule_from_config(self) -> None:
        """A schedule comes back from its saved form; missing and unknown options are named."""
        schedule = Poisson(rate=3.5, max_concurrency=4)
        assert plugins.schedule_from_config(schedule.to_config()) == schedule
        with pytest.raises(ValueError, match=r"schedule 'poisson' needs option\(s\) \['rate'\]"):
            plugins.schedule_from_config({"schedule": "poisson"})
        with pytest.raises(KeyError, match="no schedule 'nope' is registered"):
            plugins.schedule_from_config({"schedule": "nope"})

    def test_old_locations_are_gone(self) -> None:
        """No second place to look names up (the lookups moved to llmeter_trio.plugins)."""
        import llmeter_trio.schedules
        import llmeter_trio.tokenizers

        assert not hasattr(llmeter_trio.schedules, "schedule_from_config")
        assert not hasattr(llmeter_trio.tokenizers, "tokenizer_from_config")


@pytest.mark.usefixtures("tally_plugin")
class TestCallbacksByName:
    """`register_callbacks` is wired: callbacks by name from a configuration and the CLI."""

    def test_callback_from_config(self) -> None:
        callback = plugins.callback_from_config({"callback_type": "tally", "label": "a"})
        assert isinstance(callback, Tally) and callback.label == "a"
        assert plugins.callback_types()["tally"] is Tally
        with pytest.raises(KeyError, match=r"no callback type 'nope'.*known: \[.*'tally'"):
            plugins.callback_from_config({"callback_type": "nope"})

    async def test_runner_takes_callback_configurations(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        await Runner(FakeEndpoint(), callbacks=[{"callback_type": "tally", "label": "cfg"}]).run(
            payload={"prompt": "x"}, clients=2, n_requests=3
        )
        assert Tally.seen == [("cfg", 6)]

    @pytest.mark.realtime
    def test_cli_callback_option(self, capsys: pytest.CaptureFixture[str]) -> None:
        args = ["run", "--endpoint", "fake", "--prompt", "hi", "--n-requests", "2",
                "--option", "time_to_first_token=0.001", "--option", "inter_token_latency=0",
                "--callback", "tally", "--callback", 'tally:{"label": "cli"}']  # fmt: skip
        assert main(args) == 0, capsys.readouterr().err
        assert Tally.seen == [("tally", 2), ("cli", 2)]  # in the order given
