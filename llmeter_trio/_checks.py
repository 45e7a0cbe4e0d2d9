"""The one check for numeric settings: finite, in range, whole where it must be.

Every count, rate, duration and tolerance a user gives (to `Runner`, a schedule,
an experiment or the command line) goes through `check_number`, so a NaN, an
infinity, a zero or a fraction is refused the same way everywhere, before
anything runs, with a message naming the setting::

    check_number("clients", 0, whole=True)  # ValueError: clients must be at least 1, not 0
"""

from __future__ import annotations

import math
from typing import Any

import attrs

__all__ = ["check_number", "numeric"]


def check_number(
    name: str,
    value: object,
    *,
    whole: bool = False,
    above: float | None = 0,
    at_least: float | None = None,
    at_most: float | None = None,
    hint: str = "",
) -> None:
    """Refuse `value` unless it is a finite number within the bounds (None passes).

    The lower bound is `above` (exclusive, 0 by default) or `at_least`
    (inclusive); `whole` asks for an int (then above 0 reads "at least 1").
    `hint` follows the message of a value above `at_most`. Wrong types raise
    TypeError, wrong values ValueError.
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "a whole number" if whole else "a number"
        raise TypeError(f"{name} must be {kind}, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    if whole and not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {value!r}")
    if whole and at_least is None and above == 0:
        at_least = 1
    if at_least is not None:
        if value < at_least:
            raise ValueError(f"{name} must be at least {at_least:g}, not {value!r}")
    elif above is not None and not value > above:
        raise ValueError(f"{name} must be greater than {above:g}, not {value!r}")
    if at_most is not None and value > at_most:
        raise ValueError(f"{name} must be at most {at_most:g}, not {value!r}{hint}")


def numeric(
    *,
    whole: bool = False,
    above: float | None = 0,
    at_least: float | None = None,
    at_most: float | None = None,
) -> Any:
    """`check_number` as an attrs validator, named after the field it checks."""

    def validate(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        check_number(
            attribute.name, value, whole=whole, above=above, at_least=at_least, at_most=at_most
        )

    return validate
