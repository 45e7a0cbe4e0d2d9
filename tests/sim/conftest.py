"""Shared fixtures for the simulated server tests."""

from __future__ import annotations

import pytest

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
