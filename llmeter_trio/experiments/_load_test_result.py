"""`LoadTestResult`: one `Result` per concurrency level of a load test."""

from __future__ import annotations

import os
import posixpath
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ..results import Result, holds_run
from ..storage import exists, resolve

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

__all__ = ["LoadTestResult", "level_name"]


def level_name(clients: int) -> str:
    """The run name (and folder) of one level: ``"00008-clients"``, as LLMeter names it."""
    return f"{clients:05d}-clients"


@attrs.define(kw_only=True, eq=False)
class LoadTestResult:
    """The results of a `LoadTest`: ``results[clients]`` is the `Result` of that level.

    `output_path` is the test's folder (``{output_path}/{test_name}``), which
    holds one run folder per level, or None when nothing was saved.
    """

    results: dict[int, Result]
    test_name: str
    output_path: str | None = None

    @classmethod
    def load(
        cls,
        load_path: str | os.PathLike[str] | None,
        test_name: str | None = None,
        load_responses: bool = True,
    ) -> LoadTestResult:
        """Load a load test's folder (any fsspec URL): each run subfolder is one level.

        Folders saved by llmeter-trio and by LLMeter both load (see
        `Result.load`), even side by side. Each subfolder is read by
        `Result.load`; those that hold no run are passed over. `test_name`
        defaults to the folder's name; each level's `output_path` is its
        folder as loaded (so a test folder can be moved).

        Raises:
            FileNotFoundError: `load_path` is empty or does not exist.
            ValueError: no run subfolder was found, `load_path` is a single
                run's folder, or two subfolders hold runs with the same number
                of clients.
        """
        if not load_path:
            raise FileNotFoundError(
                "load_path is empty: pass the folder that holds the test's NNNNN-clients folders"
            )
        url = os.fspath(load_path).rstrip("/") or "/"
        fs, folder = resolve(url)
        if not exists(fs, folder):
            raise FileNotFoundError(f"load path {url} does not exist")
        if not fs.isdir(folder):
            raise ValueError(f"{url} is a file: pass the folder that holds the test's runs")
        names = sorted(
            posixpath.basename(entry["name"].rstrip("/"))
            for entry in fs.ls(folder, detail=True)
            if entry["type"] == "directory"
        )
        results: dict[int, Result] = {}
        folders: dict[int, str] = {}
        for name in names:
            level_url = posixpath.join(url, name)
            try:
                result = Result.load(level_url, load_responses=load_responses)
            except FileNotFoundError:
                continue  # holds no run
            result.output_path = level_url  # where its files are now, wherever they were saved
            if result.clients in results:
                raise ValueError(
                    f"{folders[result.clients]} and {name} in {url} both hold a run with "
                    f"{result.clients} clients; a load test has one run per level. Move one away."
                )
            results[result.clients] = result
            folders[result.clients] = name
        if not results:
            if holds_run(fs, folder):
                raise ValueError(
                    f"{url} holds a single run, not a load test's runs in NNNNN-clients "
                    "subfolders: load it with Result.load. (LLMeter's LoadTest saves every "
                    "level into one folder like this; its levels cannot be told apart.)"
                )
            raise ValueError(f"No results found in {url}: it holds no run folders")
        return cls(
            results=dict(sorted(results.items())),
            test_name=test_name or posixpath.basename(folder.rstrip("/")),
            output_path=url,
        )

    def plot_results(
        self,
        show: bool = False,
        output_path: str | os.PathLike[str] | None = None,
        format: Literal["html", "png"] = "html",
        distribution: Literal["box", "violin"] = "box",
    ) -> dict[str, Figure]:
        """The standard charts against the number of clients, as plotly figures by name.

        ``time_to_first_token`` and ``time_to_last_token`` show each level's
        distribution (successful requests, as a box or a violin);
        ``requests_per_minute``, ``error_rate``, ``average_input_tokens_clients``
        and ``average_output_tokens_clients`` one value per level. Given an
        `output_path` (any fsspec URL), each chart is written there as
        ``{name}.html`` (self-contained, viewable offline) or ``{name}.png``.
        `show` opens them (in a notebook, inline). Needs the ``plot`` extra:
        ``pip install 'llmeter-trio[plot]'``.
        """
        from ._load_test_plots import load_test_figures, save_figures

        if format not in ("html", "png"):
            raise ValueError(f"format must be 'html' or 'png', not {format!r}")
        figures = load_test_figures(self, distribution=distribution)
        if output_path is not None:
            save_figures(figures, os.fspath(output_path), format)
        if show:
            for figure in figures.values():
                figure.show()
        return figures

    def stats_by_clients(self) -> dict[int, dict[str, Any]]:
        """Each level's statistics (`Result.stats`), by number of clients, in order."""
        return {clients: self.results[clients].stats for clients in sorted(self.results)}
