"""Reading tokenizer files from any fsspec URL, and importing optional libraries."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from ..storage import resolve

__all__ = ["read_bytes", "require"]


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The contents of a local path or fsspec URL, or a FileNotFoundError naming it."""
    url = os.fspath(path)
    fs, fs_path = resolve(url)
    if not fs.isfile(fs_path):
        raise FileNotFoundError(f"no tokenizer file at {url}")
    with fs.open(fs_path, "rb") as f:
        data: bytes = f.read()
    return data


def require(module: str, extra: str, needed_by: str) -> ModuleType:
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{needed_by} needs the {module!r} package: pip install 'llmeter-trio[{extra}]'"
        ) from exc
