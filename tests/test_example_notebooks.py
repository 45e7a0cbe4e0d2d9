"""The example notebooks under docs/examples run top to bottom in Jupyter, against the
simulated server."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from llmeter_trio.sim import SimConfig, hide_aws_settings

from ._support.notebooks import executed, printed
from ._support.threaded_sim import served_in_thread

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
PLOTLY = "application/vnd.plotly.v1+json"
TIME_LIMIT = 120  # seconds per cell; each takes a few at most
SIM = SimConfig(ttft_base=0.01, itl=0.001, output_tokens=8)


@pytest.mark.plugins
@pytest.mark.realtime  # a Jupyter kernel (a subprocess) and the server on the real clock
def test_load_testing_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LLMeter's names in a notebook: a Bedrock endpoint reached through the AWS SDKs' endpoint
    URL variable, `await endpoint.invoke`, `await load_test.run()`, `plot_results` and a chart
    of one run drawn inline, and `output_path`, where every level's run is saved with no
    failed request."""
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("llmeter_trio_aws")
    hide_aws_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLENOTEBOOK")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-notebook-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    plugin = ROOT / "plugins" / "llmeter-trio-aws"  # this checkout's, whichever is installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(plugin)]))
    notebook = nbformat.read(EXAMPLES / "load-testing.ipynb", as_version=4)
    with served_in_thread(SIM) as origin:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", origin)
        executed(notebook, tmp_path, TIME_LIMIT)
    text = printed(notebook)
    assert "first token after" in text and "8 tokens out" in text
    for clients, requests in ((1, 16), (4, 16), (8, 16)):
        assert f"{clients:>2} clients: {requests} requests, 0 failed" in text
    assert "'time_to_first_token'" in text  # one of the charts plot_results returned
    charts = drawn(notebook)
    assert len(charts["figures = load_test_results.plot_results()"]) == 6  # shown inline
    (points,) = charts["from llmeter_trio.plotting import scatter_histogram_2d"]
    assert len(points["data"][0]["x"]) == 16  # every request of the busiest level, drawn
    runs = sorted((tmp_path / "outputs" / "load-testing").rglob("stats.json"))
    assert len(runs) == 3
    assert sum(json.loads(run.read_text())["failed_requests"] for run in runs) == 0
    assert str(runs[0].parent.parent.relative_to(tmp_path)) in text  # output_path, shown


def drawn(notebook: Any) -> dict[str, list[Any]]:
    """The plotly figures each code cell showed (kept in the notebook as data, drawn by the
    front end with no network), by the cell's first line."""
    return {
        cell.source.splitlines()[0]: [
            output["data"][PLOTLY] for output in cell.outputs if PLOTLY in output.get("data", {})
        ]
        for cell in notebook.cells
        if cell.cell_type == "code"
    }
