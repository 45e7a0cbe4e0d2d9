"""Comparing statistics dicts: equal, a float sum to within 1e-12 relative."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

__all__ = ["same"]


def same(merged: Mapping[Any, Any], counted: Mapping[Any, Any]) -> None:
    """Equal, a float sum (the mean inter-token latency, a mean by turn) to within 1e-12
    relative; nested dicts compared the same way."""
    assert merged.keys() == counted.keys()
    for key, value in counted.items():
        if isinstance(value, Mapping):  # (a multi-turn run's `by_turn`: one row per turn)
            same(merged[key], value)
        elif isinstance(value, float) and not math.isnan(value):
            assert merged[key] == pytest.approx(value, rel=1e-12, abs=1e-300), key
        else:
            assert merged[key] == value or (value != value and merged[key] != merged[key]), key
