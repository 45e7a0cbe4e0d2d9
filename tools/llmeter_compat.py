"""Run LLMeter's own public-API unit tests against llmeter-trio.

The tests are read from an LLMeter checkout (or its git directory) into a
scratch folder outside this project, with one change: the name ``llmeter`` is
mapped to ``llmeter_trio``, as a migrating user changes their imports. An
import of one of LLMeter's private names (``_RunConfig``, ...) is made
tolerant so the public tests of that file still run; tests of LLMeter's
internals are out of scope and deselected, and tests that meet a documented
difference are expected to fail (strictly: a difference that went away
fails the run). Both lists are in ``tools/llmeter_compat_expected.txt``.

    python tools/llmeter_compat.py --llmeter PATH [--scratch DIR] [pytest args]

Needs ``pytest-asyncio`` and ``universal-pathlib`` (``nox -s llmeter_compat``
installs them).
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
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

CONFTEST = '''
"""Marks from llmeter_compat_expected.txt: out of scope (deselected) or a documented difference."""
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
        if kind == "private":
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
    for old in tests.glob("test_*.py"):
        old.unlink()
    for name in TEST_FILES:
        source = llmeter_source(llmeter, f"tests/unit/{name}.py")
        mapped = re.sub(r"\bllmeter\b", "llmeter_trio", source)
        (tests / f"{name}.py").write_text(tolerate_private_imports(mapped), encoding="utf-8")
    (tests / "conftest.py").write_text(CONFTEST % str(EXPECTED), encoding="utf-8")
    (scratch / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = ignore::DeprecationWarning\ntestpaths = tests\n"
        "addopts = -p no:trio -p no:randomly\n",
        encoding="utf-8",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llmeter", type=Path, required=True, help="LLMeter checkout or git dir")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/llmeter-compat"))
    args, pytest_args = parser.parse_known_args()
    build(args.llmeter, args.scratch)
    command = [sys.executable, "-m", "pytest", *pytest_args]
    return subprocess.run(command, cwd=args.scratch, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
