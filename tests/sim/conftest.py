"""Shared fixtures for the simulated server tests."""

from __future__ import annotations

import pytest

from llmeter_trio.sim._server import ENGINES


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each server engine in turn, for the tests that take it."""
    name: str = request.param
    return name
