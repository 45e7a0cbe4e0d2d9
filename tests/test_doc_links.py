"""Every relative link in README.md, docs/ and the plugins' READMEs leads somewhere: to a file
that exists and, with ``#anchor``, to a heading of that file (as GitHub makes its anchors)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("**/*.md")),
    *sorted((ROOT / "plugins").glob("*/README.md")),
    ROOT / "plugins" / "README.md",
]
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The text without code blocks (their brackets are code, not links)."""
    return FENCE.sub("", text)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(document: Path) -> set[str]:
    found: set[str] = set()
    for heading in HEADING.findall(prose(document.read_text())):
        slug = base = anchor(heading)
        number = 0
        while slug in found:  # a repeated heading gets -1, -2, ...
            number += 1
            slug = f"{base}-{number}"
        found.add(slug)
    return found


def links(text: str) -> list[str]:
    text = CODE_SPAN.sub("", prose(text))
    return INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)


def broken_links(document: Path) -> list[str]:
    """Each relative link of `document` that leads nowhere, with the reason."""
    problems = []
    for target in links(document.read_text()):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto: ...
            continue
        path, _, fragment = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        if not linked.exists():
            problems.append(f"{target}: no such file")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            problems.append(f"{target}: no heading with that anchor in {linked.name}")
    return problems


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_somewhere(document: Path) -> None:
    """The document's relative links name files that exist, and headings that exist."""
    assert broken_links(document) == []


def test_the_check_finds_broken_links(tmp_path: Path) -> None:
    """A missing file, a missing anchor and a missing anchor of this page are each found;
    links in code, to the web, and to existing headings are not."""
    (tmp_path / "other.md").write_text("# Other page\n\n## LLMeter's `names`\n\n## Other page\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n[ok](other.md#llmeters-names) [ok](other.md#other-page-1) [ok](#title)\n"
        "[gone](missing.md) [gone](other.md#nope) [gone](#nowhere) ![img](pic.png)\n"
        "[web](https://example.com/x.md) `[code](missing.md)`\n\n"
        "```python\nx = y[0](missing.md)\n```\n\n[ref]: missing-too.md\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nope: no heading with that anchor in other.md",
        "#nowhere: no heading with that anchor in page.md",
        "pic.png: no such file",
        "missing-too.md: no such file",
    ]
