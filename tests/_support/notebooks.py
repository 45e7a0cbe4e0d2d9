"""Run a notebook top to bottom in a Jupyter kernel (nbclient: the kernel's asyncio loop)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

__all__ = ["executed", "printed"]


def executed(notebook: Any, folder: Path, timeout: float) -> Any:
    """`notebook` (nbformat) run in `folder`; skips when no Jupyter kernel can start here.

    The kernel inherits this process's environment (set it with ``monkeypatch``). A
    failing cell fails the test with nbclient's `CellExecutionError`, which shows it.
    """
    nbclient = pytest.importorskip("nbclient")
    NoSuchKernel = pytest.importorskip("jupyter_client.kernelspec").NoSuchKernel
    client = nbclient.NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    try:
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
    except (RuntimeError, NoSuchKernel) as exc:
        if getattr(client, "kc", None) is None:  # the kernel never started
            pytest.skip(f"a Jupyter kernel cannot start here: {exc}")
        raise
    return notebook


def printed(notebook: Any) -> str:
    """Everything the notebook's cells printed and showed as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)
