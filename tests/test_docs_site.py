"""The docs site (mkdocs.yml): every page under docs/ is in its navigation, the API reference
covers the public modules, and `mkdocs build --strict` builds it without a warning."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PUBLIC_MODULES = {
    "llmeter_trio",
    "llmeter_trio.endpoints",
    "llmeter_trio.engine",
    "llmeter_trio.results",
    "llmeter_trio.experiments",
    "llmeter_trio.schedules",
    "llmeter_trio.callbacks",
    "llmeter_trio.plotting",
    "llmeter_trio.distributed",
    "llmeter_trio.sim",
}
SITE_BUILDERS = ("mkdocs", "material", "mkdocstrings_handlers.python", "mkdocs_jupyter")
DIRECTIVE = re.compile(r"^:::\s+(\S+)", re.M)


def configuration() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    return loaded


def nav_files(nav: Any) -> list[str]:
    """The files a mkdocs ``nav`` lists, in order, however deeply nested and titled."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [name for value in nav.values() for name in nav_files(value)]
    return [name for entry in nav for name in nav_files(entry)]


def pages(docs: Path) -> set[str]:
    """The site's pages under `docs`: Markdown files and example notebooks."""
    found = [*docs.glob("**/*.md"), *docs.glob("examples/*.ipynb")]
    return {page.relative_to(docs).as_posix() for page in found}


def test_nav_files_handles_titles_and_sections() -> None:
    """Bare names, titled entries and nested sections all yield their files."""
    nav = ["index.md", {"Guide": ["a.md", {"B": "b.md"}, {"Deep": [{"C": "c/c.md"}]}]}]
    assert nav_files(nav) == ["index.md", "a.md", "b.md", "c/c.md"]


def test_every_page_is_in_the_nav() -> None:
    """Each page under docs/ is reachable from the site's navigation, and the navigation
    names no page that is missing."""
    listed = nav_files(configuration()["nav"])
    assert sorted(pages(DOCS) - set(listed)) == []
    assert sorted(set(listed) - pages(DOCS)) == []
    assert len(listed) == len(set(listed))


def test_the_reference_covers_the_public_modules() -> None:
    """The API reference pages render each public module from its docstrings."""
    shown = {
        module
        for page in (DOCS / "reference").glob("*.md")
        for module in DIRECTIVE.findall(page.read_text())
    }
    assert shown == PUBLIC_MODULES


@pytest.mark.realtime  # mkdocs in a subprocess: several seconds of real time
def test_site_builds_without_warnings(tmp_path: Path) -> None:
    """`mkdocs build --strict` succeeds: no broken link, no page left out of the nav, no
    docstring mkdocstrings cannot read; the reference and the notebook are pages of it."""
    missing = [name for name in SITE_BUILDERS if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"the docs extra is not installed (no {', '.join(missing)})")
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert built.returncode == 0, built.stderr
    engine = (site / "reference" / "engine" / "index.html").read_text()
    assert 'id="llmeter_trio.engine.Runner"' in engine  # rendered from the docstrings
    notebook = (site / "examples" / "load-testing" / "index.html").read_text()
    assert "plot_results" in notebook
    assert (site / "examples" / "load-testing" / "load-testing.ipynb").exists()  # to download
