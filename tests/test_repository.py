"""The repository's own rules: what the package needs at run time, how the tests are laid out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


def imported_test_modules(path: Path) -> list[str]:
    """The test modules (``test_*``) that the file at `path` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            modules = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [m for m in modules if any(part.startswith("test_") for part in m.split("."))]
    return found


def test_test_files_do_not_import_one_another() -> None:
    """Shared helpers live in tests/conftest.py or tests/_support/, so each test file reads,
    runs and moves on its own."""
    offenders = {
        str(path.relative_to(ROOT)): imported
        for path in sorted(TESTS.rglob("*.py"))
        if (imported := imported_test_modules(path))
    }
    assert offenders == {}


def test_the_import_check_sees_each_form(tmp_path: Path) -> None:
    """The check above catches relative, absolute and ``from . import`` forms."""
    path = tmp_path / "test_x.py"
    path.write_text(
        "from .test_a import f\nfrom tests.sub.test_b import g\nfrom . import test_c\n"
        "import tests.test_d\nfrom ._support.virtual import run_virtual\nfrom . import strategies\n"
    )
    assert imported_test_modules(path) == [
        "test_a.f", "tests.sub.test_b.g", ".test_c", "tests.test_d",
    ]  # fmt: skip


def test_hypercorn_is_optional() -> None:
    """The simulated server's built-in h11 engine needs nothing more; hypercorn is an extra."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("hypercorn")]
    assert project["optional-dependencies"]["sim-hypercorn"] == ["hypercorn>=0.17"]
