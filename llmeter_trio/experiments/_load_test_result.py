"""`LoadTestResult`: one `Result` per concurrency level of a load test."""

from __future__ import annotations

import os
import posixpath
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ..plotting._files import check_format, save_figures
from ..results import Result, holds_run
from ..storage import exists, resolve
from ._names import experiments

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

__all__ = ["LoadTestResult", "level_name"]

# one colour sequence a chart, in turn (names in `llmeter_trio.plotting.color_sequences`)
_COLORWAYS = ("Bluered", "Turbo", "Sunsetdark_r", "Blackbody", "Viridis", "Plasma")


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
                "Load path cannot be None or empty: pass the folder that holds the test's "
                "NNNNN-clients folders"
            )
        url = os.fspath(load_path).rstrip("/") or "/"
        fs, folder = resolve(url)
        if not exists(fs, folder):
            raise FileNotFoundError(f"Load path {url} does not exist")
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
        show: bool = True,
        format: Literal["html", "png"] = "html",
        *,
        output_path: str | os.PathLike[str] | None = None,
        distribution: Literal["box", "violin"] = "box",
    ) -> dict[str, Figure]:
        """The standard charts against the number of clients, as plotly figures by name.

        The charts of `llmeter_trio.plotting.plot_load_test_results`, each in
        its own colours. They are written to `output_path` (any fsspec URL;
        default: the test's folder, `self.output_path`, when there is one) as
        ``{name}.html`` (self-contained, viewable offline) or ``{name}.png``,
        and shown when `show` (LLMeter's default; in a notebook, inline).
        `distribution` draws the latencies as boxes or violins. Needs the
        ``plotting`` extra: ``pip install 'llmeter-trio[plotting]'``.
        """
        check_format(format)
        names = experiments()
        # LLMeter's one-argument call when the defaults hold, so a replacement of
        # plot_load_test_results with LLMeter's signature keeps working
        chosen = {} if distribution == "box" else {"distribution": distribution}
        figures: dict[str, Figure] = names.plot_load_test_results(self, **chosen)
        sequences = names.color_sequences
        colorways = [getattr(sequences, name) for name in _COLORWAYS]
        for index, figure in enumerate(figures.values()):
            figure.update_layout(colorway=colorways[index % len(colorways)])
        target = output_path if output_path is not None else self.output_path
        if target is not None:
            save_figures(figures, target, format)
        if show:
            for figure in figures.values():
                figure.show()
        return figures

    def stats_by_clients(self) -> dict[int, dict[str, Any]]:
        """Each level's statistics (`Result.stats`), by number of clients, in order."""
        return {clients: self.results[clients].stats for clients in sorted(self.results)}
