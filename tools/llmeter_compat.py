"""Run LLMeter's own public-API unit tests against llmeter-trio.

The tests are read from an LLMeter checkout (or its git directory) into a
scratch folder outside this project, with one change: the name ``llmeter`` is
mapped to ``llmeter_trio``, as a migrating user changes their imports. An
import of one of LLMeter's private names (``_RunConfig``, ...) is made
tolerant so the public tests of that file still run; tests of LLMeter's
internals are out of scope and deselected, and tests that meet a documented
difference are expected to fail (strictly: a difference that went away
fails the run). Both lists are in ``tools/llmeter_compat_expected/`` (a file per test file).

    python tools/llmeter_compat.py --llmeter PATH [--scratch DIR] [pytest args]

Needs ``pytest-asyncio`` and ``universal-pathlib`` (``nox -s llmeter_compat``
installs them).

With ``--notebook``, it runs LLMeter's example notebook "examples/Load
testing.ipynb" (or ``--notebook PATH``, another of them) instead, top to bottom,
the same way mapped, ``pip install`` lines left out, with ``model_id`` set in a
cell put after the one that sets it (to None), in a Jupyter kernel
(nbclient: the kernel's asyncio loop, as in Jupyter). Its Bedrock endpoint
reaches the simulated server, started here on 127.0.0.1, through the AWS
SDKs' ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` and made-up credentials. The run
notebook is left in the scratch folder. Needs the llmeter-trio-aws plugin
(taken from this checkout's plugins/ when not installed), nbclient and ipykernel.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOTEBOOK = "examples/Load testing.ipynb"
MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
# The simulated server's latencies: fast, so LLMeter's 180 requests take seconds.
SIM_OPTIONS = ["--ttft", "0.01", "--itl", "0.001", "--output-tokens", "16"]
EXPECTED = HERE / "llmeter_compat_expected"  # one .txt per LLMeter test file

# LLMeter's unit-test files for its public API (issue 10: experiments, results, lazy loading,
# interrupted runs, prompt utilities, tokenizers, save/load properties, the runner's `run`).
TEST_FILES = [
    "test_experiments",
    "test_results",
    "test_lazy_load",
    "test_interrupted_run",
    "test_prompt_utils",
    "test_tokenizers",
    "test_property_save_load",
    "test_property_simple",
    "test_serialization_properties",
    "test_runner",
    "test_file_output",
    "test_running_stats",
    "test_invocation_response",
    "test_invocation_response_integration",
    "test_utils",
    "test_plotting",
    "test_load_test_plotting",
]
# LLMeter's unit-test files in folders under tests/unit (issue 11: the cost model), kept in the
# same folders here
EXTRA_TEST_FILES = [
    "callbacks/cost/test_model",
    "callbacks/cost/test_cost_results",
    "callbacks/cost/test_dimensions",
]

CONFTEST = '''
"""Marks from tools/llmeter_compat_expected/: out of scope (deselected), or a difference."""
import pytest

from pathlib import Path

EXPECTED = {}
for listing in sorted(Path(%r).glob("*.txt")):
    for line in listing.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            test_id, kind, reason = (part.strip() for part in line.split("|", 2))
            EXPECTED[test_id] = (kind, reason)


def _key(item):
    return item.nodeid.split("/", 1)[-1].split("[", 1)[0]


def pytest_collection_modifyitems(config, items):
    kept, dropped = [], []
    for item in items:
        key = _key(item)
        star = key.rsplit("::", 1)[0] + "::*"
        with_params = item.nodeid.split("/", 1)[-1]  # one parametrization: test[params]
        kind, reason = (
            EXPECTED.get(with_params) or EXPECTED.get(key) or EXPECTED.get(star, (None, None))
        )
        if kind in ("private", "timing"):
            dropped.append(item)
            continue
        if kind == "difference":
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
'''


def llmeter_source(root: Path, relative: str) -> str:
    """One file of the LLMeter checkout (a work tree or a bare git directory)."""
    if (root / relative).exists():
        return (root / relative).read_text(encoding="utf-8")
    shown = subprocess.run(
        ["git", "-C", str(root), "show", f"HEAD:{relative}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return shown.stdout


def tolerate_private_imports(source: str) -> str:
    """`from m import A, _b` becomes `from m import A` and a guarded import of `_b`."""
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    edits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("llmeter"):
            continue
        private = [a.name for a in node.names if a.name.startswith("_") or a.name.isupper()]
        if not private:
            continue
        public = [a.name for a in node.names if a.name not in private]
        pad = " " * node.col_offset
        text = f"from {node.module} import {', '.join(public)}\n" if public else ""
        for name in private:
            text += (
                f"{pad}try:\n{pad}    from {node.module} import {name}\n"
                f"{pad}except ImportError:  # private to LLMeter\n{pad}    {name} = None\n"
            )
        edits.append((node.lineno, node.end_lineno or node.lineno, pad + text.lstrip()))
    for start, end, text in sorted(edits, reverse=True):
        lines[start - 1 : end] = [text]
    return "".join(lines)


def build(llmeter: Path, scratch: Path) -> None:
    """Write the mapped tests, a conftest and pytest.ini into `scratch`."""
    tests = scratch / "tests"
    tests.mkdir(parents=True, exist_ok=True)
    for old in tests.rglob("test_*.py"):
        old.unlink()
    for name in [*TEST_FILES, *EXTRA_TEST_FILES]:
        source = llmeter_source(llmeter, f"tests/unit/{name}.py")
        mapped = re.sub(r"\bllmeter\b", "llmeter_trio", source)
        target = tests / f"{name}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(tolerate_private_imports(mapped), encoding="utf-8")
    (tests / "conftest.py").write_text(CONFTEST % str(EXPECTED), encoding="utf-8")
    (scratch / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = ignore::DeprecationWarning\ntestpaths = tests\n"
        "addopts = -p no:trio -p no:randomly\n",
        encoding="utf-8",
    )


def mapped_notebook(llmeter: Path, model_id: str, name: str = NOTEBOOK) -> dict[str, Any]:
    """LLMeter's notebook `name` with `llmeter` mapped in its code, ``pip install`` lines left
    out, and `model_id` set after the cell that sets it (to None, or a placeholder)."""
    notebook: dict[str, Any] = json.loads(llmeter_source(llmeter, name))
    cells = []
    for cell in notebook["cells"]:
        cells.append(cell)
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        source = re.sub(r"^[%!]\s*pip install .*$", "# (pip install: left out)", source, flags=re.M)
        cell["source"] = re.sub(r"\bllmeter\b", "llmeter_trio", source)
        cell["outputs"], cell["execution_count"] = [], None
        if re.search(r"^model_id\s*=", source, re.MULTILINE):
            cells.append(
                {
                    "cell_type": "code",
                    "metadata": {"tags": ["injected-parameters"]},
                    "source": f"model_id = {model_id!r}",
                    "outputs": [],
                    "execution_count": None,
                }
            )
    if len(cells) == len(notebook["cells"]):
        raise SystemExit(f"{name}: found no cell setting model_id")
    notebook["cells"] = cells
    return notebook


@contextmanager
def simulated_server() -> Iterator[str]:
    """The simulated server in a process of its own; yields its origin (``http://...``)."""
    command = [sys.executable, "-m", "llmeter_trio.sim", "--port", "0", *SIM_OPTIONS]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.search(r"(http://\S+?)/v1", line)
        if found is None:
            raise SystemExit(f"the simulated server did not start: {line!r}")
        yield found.group(1)
    finally:
        server.terminate()
        server.wait(20)


def notebook_environment(origin: str, scratch: Path) -> dict[str, str]:
    """The kernel's environment: this checkout (and its AWS plugin) first on the path, the
    simulated server as the Bedrock runtime endpoint, made-up credentials, no AWS profile."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    path = [str(ROOT), str(ROOT / "plugins" / "llmeter-trio-aws"), os.environ.get("PYTHONPATH")]
    environment.update(
        PYTHONPATH=os.pathsep.join(p for p in path if p),
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=origin,
        AWS_ACCESS_KEY_ID="AKIDLLMETERCOMPAT",
        AWS_SECRET_ACCESS_KEY="llmeter-compat-not-a-secret",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=str(scratch / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(scratch / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        JUPYTER_PATH=str(scratch / "jupyter"),
        MPLBACKEND="agg",
    )
    return environment


def kernel_spec(scratch: Path) -> str:
    """A kernel spec running this Python (its packages), in `scratch`; its name."""
    name = "llmeter-compat"
    folder = scratch / "jupyter" / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "llmeter-compat",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return name


def run_notebook(llmeter: Path, name: str, scratch: Path, model_id: str, timeout: float) -> int:
    """Run LLMeter's notebook `name` mapped to llmeter_trio against the simulated server."""
    import nbclient
    import nbformat

    folder = scratch / "notebook"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    notebook = nbformat.from_dict(mapped_notebook(llmeter, model_id, name))  # type: ignore[no-untyped-call]
    executed = folder / Path(name).name
    with simulated_server() as origin:
        saved_environment = dict(os.environ)
        os.environ.clear()
        os.environ.update(notebook_environment(origin, scratch))
        try:
            client = nbclient.NotebookClient(
                notebook,
                timeout=timeout,
                kernel_name=kernel_spec(scratch),
                resources={"metadata": {"path": str(folder)}},
            )
            client.execute()
        except nbclient.exceptions.CellExecutionError as error:
            print(f"{name}: a cell failed\n{error}", file=sys.stderr)
            return 1
        finally:
            os.environ.clear()
            os.environ.update(saved_environment)
            executed.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    print(f"{name}: {len(cells)} code cells ran without error under Jupyter's asyncio loop")
    print(f"executed notebook: {executed}")
    return check_saved_runs(folder)


def check_saved_runs(folder: Path) -> int:
    """The notebook's saved runs reached the simulated server: requests made, none failed."""
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in folder.rglob("stats.json")]
    total = sum(stats["total_requests"] for stats in runs)
    failed = sum(stats["failed_requests"] for stats in runs)
    print(f"saved runs: {len(runs)}, requests: {total}, failed: {failed}")
    if not runs or not total or failed:
        print("expected saved runs whose requests all succeeded", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llmeter", type=Path, required=True, help="LLMeter checkout or git dir")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/llmeter-compat"))
    parser.add_argument(
        "--notebook",
        nargs="?",
        const=NOTEBOOK,
        metavar="PATH",
        help=f"run an example notebook of LLMeter's (by default {NOTEBOOK!r})",
    )
    parser.add_argument("--model-id", default=MODEL_ID, help="the notebook's model_id")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per notebook cell")
    args, pytest_args = parser.parse_known_args()
    if args.notebook:
        return run_notebook(args.llmeter, args.notebook, args.scratch, args.model_id, args.timeout)
    build(args.llmeter, args.scratch)
    command = [sys.executable, "-m", "pytest", *pytest_args]
    return subprocess.run(command, cwd=args.scratch, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
