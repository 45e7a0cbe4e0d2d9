"""LLMeter's ``llmeter.callbacks.mlflow`` path, whether or not the MLflow plugin is installed."""

from __future__ import annotations

import importlib
import sys

import pytest


def test_without_the_plugin_the_import_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With llmeter-trio-mlflow missing, the import fails with the command that installs it."""
    monkeypatch.setitem(sys.modules, "llmeter_trio_mlflow", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "llmeter_trio.callbacks.mlflow", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"plugin: pip install llmeter-trio-mlflow$"):
        importlib.import_module("llmeter_trio.callbacks.mlflow")


@pytest.mark.plugins
def test_with_the_plugin_it_is_the_plugins_callback() -> None:
    """Installed, the path gives the plugin's class, which the "mlflow" name also finds."""
    pytest.importorskip("llmeter_trio_mlflow")
    from llmeter_trio_mlflow import MlflowCallback as PluginCallback

    from llmeter_trio import plugins
    from llmeter_trio.callbacks.mlflow import MlflowCallback

    assert MlflowCallback is PluginCallback
    assert plugins.callback_types()["mlflow"] is PluginCallback
