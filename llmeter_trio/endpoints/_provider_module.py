"""LLMeter's provider module paths, served by the plugin distribution that holds the classes."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_provider(module: str, distribution: str, what: str) -> ModuleType:
    """Import `module` from an optional plugin distribution, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module.split(".")[0]:
            raise
        raise ModuleNotFoundError(
            f"{what} come with the {distribution} plugin: pip install {distribution}",
            name=error.name,
        ) from None
