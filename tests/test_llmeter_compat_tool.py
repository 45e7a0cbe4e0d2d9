"""tools/llmeter_compat.py's notebook mode: how it maps a notebook, and what counts as a pass
(the notebook itself runs where an LLMeter checkout is: `nox -s llmeter_compat -- PATH`)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "llmeter_compat", ROOT / "tools/llmeter_compat.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code(source: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "outputs": [1],
        "execution_count": 3,
    }


def checkout(tmp_path: Path, *cells: dict[str, Any]) -> Path:
    """A folder standing in for an LLMeter checkout, holding only the notebook."""
    notebook = tmp_path / "llmeter" / harness().NOTEBOOK
    notebook.parent.mkdir(parents=True)
    document = {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    notebook.write_text(json.dumps(document))
    return tmp_path / "llmeter"


def test_names_mapped_and_the_model_set_after_its_cell(tmp_path: Path) -> None:
    """Code cells import llmeter_trio and install nothing; a cell setting model_id follows the
    one setting it to None; outputs saved in the notebook are cleared; markdown is left alone."""
    markdown = {"cell_type": "markdown", "metadata": {}, "source": "About llmeter"}
    folder = checkout(
        tmp_path,
        markdown,
        code(
            "%pip install llmeter\nfrom llmeter.experiments import LoadTest\nimport llmeter_extra"
        ),
        code("model_id = None  # choose one"),
        code("endpoint = make(model_id)"),
    )
    cells = harness().mapped_notebook(folder, "my-model")["cells"]
    assert [c["source"] for c in cells] == [
        "About llmeter",
        "# (pip install: left out)\n"
        "from llmeter_trio.experiments import LoadTest\nimport llmeter_extra",
        "model_id = None  # choose one",
        "model_id = 'my-model'",
        "endpoint = make(model_id)",
    ]
    assert cells[3]["metadata"]["tags"] == ["injected-parameters"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in cells[1:])


def test_a_notebook_without_model_id_is_refused(tmp_path: Path) -> None:
    folder = checkout(tmp_path, code("print('hi')"))
    with pytest.raises(SystemExit, match="no cell setting model_id"):
        harness().mapped_notebook(folder, "m")


@pytest.mark.parametrize(
    ("runs", "status"),
    [([(30, 0), (50, 0)], 0), ([(30, 0), (50, 1)], 1), ([], 1), ([(0, 0)], 1)],
)
def test_passes_only_when_every_saved_request_succeeded(
    tmp_path: Path, runs: list[tuple[int, int]], status: int
) -> None:
    for number, (total, failed) in enumerate(runs):
        folder = tmp_path / "outputs" / f"run{number}"
        folder.mkdir(parents=True)
        stats = {"total_requests": total, "failed_requests": failed}
        (folder / "stats.json").write_text(json.dumps(stats))
    assert harness().check_saved_runs(tmp_path) == status
