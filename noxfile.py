"""Developer sessions: `nox -s tests lint typecheck docs bench`, and `nox -s quick`.

`mkdocs serve` (with the ``docs`` extra) shows the docs site while you edit it.

`nox -s llmeter_compat -- PATH` runs LLMeter's public-API tests and two of its example
notebooks from the LLMeter checkout at PATH against this project (tools/llmeter_compat.py).
"""

from __future__ import annotations

import nox
import nox.command

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True

SOURCES = ["llmeter_trio", "plugins", "tests", "benchmarks", "docs/scripts", "noxfile.py"]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (what CI runs)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def quick(session: nox.Session) -> None:
    """The tests that need neither the real clock nor a subprocess, on two cores."""
    session.install("-e", ".[test]", "pytest-xdist")
    session.run("python", "-m", "pytest", "-m", "not realtime", "-n", "2", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff")
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy in strict mode over the package."""
    session.install("-e", ".[test]", "mypy")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs site with warnings as errors (into site/), then run every Python
    example in README.md and docs/ as a test."""
    session.install("-e", ".[test,docs]")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("python", "-m", "pytest", "tests/test_docs.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, reported as ratios against baselines measured in the same run."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def llmeter_compat(session: nox.Session) -> None:
    """LLMeter's public-API unit tests, then its "Load testing" and "LLMeter with Amazon
    Bedrock" notebooks, against this
    project: ``nox -s llmeter_compat -- PATH`` (an LLMeter checkout or its git directory)."""
    if len(session.posargs) != 1:
        session.error("give the LLMeter checkout: nox -s llmeter_compat -- PATH")
    llmeter = session.posargs[0]
    session.install("-e", ".[test]", "-e", "plugins/llmeter-trio-aws")
    session.install("pytest-asyncio", "universal-pathlib")
    scratch = session.create_tmp()
    harness = ["python", "tools/llmeter_compat.py", "--llmeter", llmeter, "--scratch", scratch]
    failed = []
    parts = (
        ("unit tests", ["-q"]),
        ("Load testing notebook", ["--notebook"]),
        ("Bedrock notebook", ["--notebook", "examples/LLMeter with Amazon Bedrock.ipynb"]),
    )
    for part, arguments in parts:
        try:
            session.run(*harness, *arguments)
        except nox.command.CommandFailed:
            failed.append(part)  # the other part runs too
    if failed:
        session.error(f"LLMeter's {' and '.join(failed)} failed against llmeter-trio")
