"""Shared fixtures for the simulated server tests."""

from __future__ import annotations

import faulthandler
from collections.abc import Iterator

import pytest

from llmeter_trio.sim._server import ENGINES

HARD_TIMEOUT = 60.0  # seconds of real time; a test that hangs longer aborts the session


@pytest.fixture(autouse=True)
def _hard_timeout() -> Iterator[None]:
    """Abort (with every thread's traceback) if a test hangs, instead of hanging CI."""
    faulthandler.dump_traceback_later(HARD_TIMEOUT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each server engine in turn, for the tests that take it."""
    name: str = request.param
    return name
