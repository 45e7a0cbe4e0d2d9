"""The distribution's entry point and its registration hook."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from llmeter_trio_aws import plugin

from llmeter_trio import plugins

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_entry_point_names_the_plugin_module() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    declared = tomllib.loads(PYPROJECT.read_text())
    group = declared["project"]["entry-points"][plugins.ENTRY_POINT_GROUP]
    assert group == {"aws": "llmeter_trio_aws.plugin"}
    assert importlib.import_module(group["aws"]) is plugin
    assert "botocore>=1.34" in declared["project"]["dependencies"]


def test_registers_what_exists() -> None:
    """Registered explicitly, the hook offers the plugin's three endpoint classes."""
    manager = plugins.new_plugin_manager()
    manager.register(plugin, name="aws")
    registered: list[Any] = []
    manager.hook.register_endpoints(register=registered.append)
    assert registered == list(plugin.ENDPOINTS)
    assert [cls.endpoint_type for cls in registered] == [
        "bedrock-converse",
        "bedrock-invoke",
        "sagemaker",
    ]
