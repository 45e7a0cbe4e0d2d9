"""Shared fixtures for the endpoint tests: every test here is bounded in time."""

from __future__ import annotations

import faulthandler
from collections.abc import Iterator

import pytest

HARD_TIMEOUT = 60.0  # seconds of real time; a test that hangs longer aborts the session


@pytest.fixture(autouse=True)
def _hard_timeout() -> Iterator[None]:
    """Abort (with every thread's traceback) if a test hangs, instead of hanging CI."""
    faulthandler.dump_traceback_later(HARD_TIMEOUT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(autouse=True)
def _no_openai_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a real key or base URL from the environment they run in."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
