"""Which plugin provides each endpoint: built in, or an installed distribution's entry point,
as the plugin layer records it and `llmeter-trio endpoints` shows it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmeter_trio import FakeEndpoint, hookimpl, plugins
from llmeter_trio.cli import main
from llmeter_trio.plugins import PluginSource

from . import plugin_example

ECHO = Path(__file__).resolve().parent.parent / "plugins" / "llmeter-trio-echo"
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


@pytest.fixture
def echo_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """plugins/llmeter-trio-echo as pip installs it: its package importable, and a
    ``.dist-info`` folder with its name, version and entry point, which
    importlib.metadata finds as it finds any installed distribution's."""
    project = tomllib.loads((ECHO / "pyproject.toml").read_text())["project"]
    info = tmp_path / f"llmeter_trio_echo-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    group = plugins.ENTRY_POINT_GROUP
    points = "".join(f"{n} = {v}\n" for n, v in project["entry-points"][group].items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{points}")
    monkeypatch.syspath_prepend(str(ECHO))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "_manager", None)
    yield
    plugins._manager = None
    sys.modules.pop("llmeter_trio_echo", None)


def listing(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["endpoints"]) == 0
    return capsys.readouterr().out


def block(text: str, name: str) -> str:
    """The lines `llmeter-trio endpoints` shows for the endpoint type `name`."""
    for part in text.split("\n\n"):
        if part.startswith(f"{name}  ("):
            return part
    raise AssertionError(f"{name} is not listed")


@pytest.mark.usefixtures("echo_installed")
class TestAnInstalledPlugin:
    def test_listed_as_provided_by_its_distribution(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`endpoints` names the distribution, its version and the entry point that
        provide "echo", with its options; the built-in endpoints say they are built in."""
        text = listing(capsys)
        echo = block(text, "echo")
        assert echo.splitlines()[:2] == [
            "echo  (llmeter_trio_echo.EchoEndpoint)",
            "    provided by llmeter-trio-echo 0.1.0 (entry point 'echo')",
        ]
        assert "    delay                    0.001" in echo
        assert "    model_id                 'echo'  (--model)" in echo
        assert "    provided by built in (llmeter-trio " in block(text, "openai-chat")

    def test_the_plugin_layer_knows_the_source(self) -> None:
        """`endpoint_sources` maps each endpoint type to the plugin that registered it."""
        sources = plugins.endpoint_sources()
        assert sources["echo"] == PluginSource("echo", "llmeter-trio-echo", "0.1.0")
        assert sources["fake"].builtin and sources["fake"] == plugins.BUILTIN_SOURCE
        assert set(sources) == set(plugins.endpoint_types())

    def test_not_allowed_it_disappears(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """With LLMETER_TRIO_PLUGINS="" (no plugin loaded, as after uninstalling) "echo" is
        gone and only built-in endpoints are listed."""
        assert "\necho  (" in "\n" + listing(capsys)
        monkeypatch.setenv(plugins.PLUGINS_ENV_VAR, "")
        plugins._manager = None
        text = listing(capsys)
        assert "echo" not in plugins.endpoint_types()
        assert "\necho  (" not in "\n" + text
        assert all("provided by built in" in part for part in text.split("\n\n"))


class TestSources:
    def test_by_hand_registered_plugin_is_named(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A plugin registered in code (no entry point) is named by the name it was given."""
        monkeypatch.setattr(plugins, "_manager", None)
        pm = plugins.get_plugin_manager()
        pm.register(plugin_example, name="by-hand")
        assert plugins.endpoint_sources()["echo"] == PluginSource("by-hand")
        assert str(PluginSource("by-hand")) == "plugin 'by-hand'"

    def test_source_agrees_with_the_class_a_name_finds(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When a plugin registers a name a built-in has, the source given is that of the
        class the name finds (the built-in, as before sources were kept)."""

        class Impostor(FakeEndpoint):
            pass

        class Shadowing:
            @hookimpl
            def register_endpoints(self, register: Callable[[type], None]) -> None:
                register(Impostor)

        monkeypatch.setattr(plugins, "_manager", None)
        plugins.get_plugin_manager().register(Shadowing(), name="shadowing")
        assert plugins.get_endpoint_type("fake") is FakeEndpoint
        assert plugins.endpoint_sources()["fake"].builtin

    def test_one_line_each(self) -> None:
        """Each kind of source reads as one line."""
        assert str(PluginSource("aws", "llmeter-trio-aws", "0.1.0")) == (
            "llmeter-trio-aws 0.1.0 (entry point 'aws')"
        )
        assert str(plugins.BUILTIN_SOURCE).startswith("built in (llmeter-trio ")
