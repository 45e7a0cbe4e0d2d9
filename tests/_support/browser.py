"""PNG export (kaleido 1.x) drives a Chrome or Chromium on the machine: tests of it need one."""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["browser", "require_browser"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def browser() -> str | None:
    """The browser kaleido would find: ``BROWSER_PATH`` or one of the usual names on PATH."""
    given = os.environ.get("BROWSER_PATH")
    if given and os.path.exists(given):
        return given
    return next((found for name in _NAMES if (found := shutil.which(name))), None)


def require_browser() -> None:
    """Skip the rest of the test, saying why, when no browser is installed."""
    if browser() is None:
        pytest.skip("PNG export needs Chrome or Chromium (.ci/run installs Debian's as root)")
