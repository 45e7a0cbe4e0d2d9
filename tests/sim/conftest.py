"""Shared fixtures for the simulated server tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmeter_trio.sim import hide_aws_settings
from llmeter_trio.sim._server import ENGINES, engine_installed


@pytest.fixture(
    params=[
        pytest.param(
            name,
            marks=pytest.mark.skipif(
                not engine_installed(name), reason=f"the {name} engine is not installed"
            ),
        )
        for name in ENGINES
    ]
)
def engine(request: pytest.FixtureRequest) -> str:
    """Each server engine in turn, for the tests that take it; hypercorn only when installed."""
    name: str = request.param
    return name


@pytest.fixture
def no_aws_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """boto3 sees none of the machine's AWS credentials, profile or config."""
    hide_aws_settings(monkeypatch, tmp_path)
