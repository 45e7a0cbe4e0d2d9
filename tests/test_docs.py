"""Every Python example in README.md and docs/ runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
# A page about a plugin (docs/providers/litellm.md) runs where the plugin is installed;
# the plugin's own tests run it too.
PLUGIN_IMPORT = re.compile(r"^(?:from|import) (llmeter_trio_\w+)", re.M)


def examples() -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        for number, block in enumerate(BLOCK.findall(document.read_text()), start=1):
            found.append((f"{document.relative_to(ROOT)}#{number}", block))
    return found


def shows_a_plugin(document: str) -> bool:
    """Whether a document's examples import a plugin distribution (``llmeter_trio_aws``...)."""
    return any(
        PLUGIN_IMPORT.search(code) for name, code in examples() if name.startswith(document + "#")
    )


def run_document(document: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run a document's blocks in order in one namespace, as a reader would paste them."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for name, code in examples():
        if name.startswith(document + "#"):
            exec(compile(code, name, "exec"), namespace)


@pytest.mark.realtime  # the examples run load tests against servers on the real clock
@pytest.mark.parametrize(
    "document",
    [
        pytest.param(document, marks=[pytest.mark.plugins] if shows_a_plugin(document) else [])
        for document in sorted({name.split("#")[0] for name, _ in examples()})
    ],
)
def test_examples_run(document: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The document's examples run top to bottom without error."""
    blocks = [code for name, code in examples() if name.startswith(document + "#")]
    for plugin in sorted({m for code in blocks for m in PLUGIN_IMPORT.findall(code)}):
        pytest.importorskip(plugin, reason=f"{document} shows the {plugin} plugin")
    run_document(document, monkeypatch, tmp_path)


def test_examples_exist() -> None:
    """The docs do show code (a guard against the extractor silently finding nothing)."""
    assert len(examples()) >= 5
