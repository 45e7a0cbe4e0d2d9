"""What the servers and clusters a test starts share: they end when the test process does."""

from __future__ import annotations

import ctypes
import signal
import sys

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """Linux: this child gets SIGTERM when the test process dies without tearing it down
    (the hang guard in pyproject.toml, a crashed worker); a no-op elsewhere.

    Pass as ``preexec_fn``."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
