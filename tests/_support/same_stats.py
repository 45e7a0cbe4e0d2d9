"""Comparing statistics dicts: equal, a float sum to within 1e-12 relative."""

from __future__ import annotations

import math
from typing import Any

import pytest

__all__ = ["same"]


def same(merged: dict[str, Any], counted: dict[str, Any]) -> None:
    """Equal, a float sum (the mean inter-token latency) to within 1e-12 relative."""
    assert merged.keys() == counted.keys()
    for key, value in counted.items():
        if isinstance(value, float) and not math.isnan(value):
            assert merged[key] == pytest.approx(value, rel=1e-12, abs=1e-300), key
        else:
            assert merged[key] == value or (value != value and merged[key] != merged[key]), key
