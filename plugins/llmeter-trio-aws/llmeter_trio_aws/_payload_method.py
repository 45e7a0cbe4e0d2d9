"""`create_payload` that works on an endpoint class and on an endpoint alike.

``BedrockInvokeEndpoint.create_payload("Hi", family="anthropic")`` makes an
Anthropic body; ``endpoint.create_payload("Hi")`` (as the command line, load
tests and heatmaps call it) makes the body of that endpoint's own model family.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["family_of", "payload_method"]

R = TypeVar("R")


class payload_method(Generic[R]):
    """Like ``classmethod``, but called on an instance it gets the instance."""

    def __init__(self, function: Callable[..., R]) -> None:
        self.function = function
        functools.update_wrapper(self, function)  # type: ignore[arg-type]

    def __get__(self, instance: object, owner: type | None = None) -> Callable[..., R]:
        return types.MethodType(self.function, owner if instance is None else instance)


def family_of(endpoint_or_class: object, family: str | None) -> str | None:
    """`family` if given, else the endpoint's own (None when called on the class)."""
    if family is not None or isinstance(endpoint_or_class, type):
        return family
    found: str | None = getattr(endpoint_or_class, "family", None)
    return found
