"""`LatencyHeatmap`: how latency grows with input and output length, one cell per combination.

The experiment cuts prompts of each input length from a source text (see
`llmeter_trio.prompts.CreatePromptCollection`), asks for each output length,
and sends every (input length, output length) combination exactly
`requests_per_combination` times in one closed-loop run: the clients share
one shuffled pass over the payloads (``payload_order="once"``). LLMeter
instead gives each client ``combinations // clients`` requests, which drops
the remainder. Each record carries its payload's index, so every cell's
statistics come from exactly its own requests.

Saved as one run folder, ``{output_path}/{run_name}/``, plus ``heatmap.json``
(the lengths, which cell each payload belongs to and, once the run ends, each
cell's statistics)::

    heatmap = LatencyHeatmap(endpoint, SAMPLE_TEXT_FILE, output_path="outputs")
    result = await heatmap.run()  # reads as the run's Result: result.stats, ...
    ttft_figure, ttlt_figure = result.plot_heatmaps(format="png", output_path="charts")
    heatmap.plot_heatmaps(n_bins_x=5, n_bins_y=5)  # LLMeter's charts, by measured tokens
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .._loops import runs_on_any_loop
from ..callbacks import Callback
from ..endpoints import Endpoint, InvocationResponse
from ..engine._plan import check_clients
from ..plotting._files import check_format, save_figures
from ..prompts import PromptSample
from ..results import Result
from ..stats import RunStats
from ..storage import exists, location, read_json, resolve, run_io, write_json
from ..tokenizers import Tokenizer
from ._names import experiments

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

__all__ = ["HEATMAP_FILE", "LatencyHeatmap", "LatencyHeatmapResult"]

HEATMAP_FILE = "heatmap.json"

Cell = tuple[int, int]  # (input length, output length)


@attrs.define(kw_only=True, eq=False)
class LatencyHeatmapResult:
    """A heatmap run: its `Result` and which (input, output) cell each payload measured.

    It reads as its `Result` (LLMeter's `LatencyHeatmap.run` returns one):
    ``heatmap_result.stats``, ``.responses``, ``.get_dimension(...)`` and the
    other attributes of a `Result` are those of `result`.

    `combinations[i]` is the cell of payload ``i`` (the run's
    ``run_config.payload[i]``); each record says which payload it sent
    (`InvocationResponse.payload_index`). `stats_by_combination()` gives each
    cell's statistics, `matrix()` one statistic as rows (input lengths) by
    columns (output lengths), `plot_heatmaps()` the charts.
    """

    result: Result
    input_lengths: list[int]
    output_lengths: list[int]
    requests_per_combination: int
    combinations: list[Cell]
    seed: int | None = None
    _saved_cells: dict[Cell, dict[str, Any]] | None = attrs.field(
        default=None, alias="saved_cells", repr=False
    )

    @property
    def output_path(self) -> str | None:
        """The run folder (None when nothing was saved)."""
        return None if self.result.output_path is None else location(self.result.output_path)

    def __getattr__(self, name: str) -> Any:
        """Every other attribute is the run's `Result`'s (`stats`, `responses`,
        `get_dimension`, ...): the heatmap reads as the `Result` LLMeter returns."""
        if name.startswith("__") or name == "result":
            raise AttributeError(name)
        return getattr(self.result, name)

    def responses_by_combination(self) -> dict[Cell, list[InvocationResponse]]:
        """Every record, grouped by the cell its payload was cut for (all cells present)."""
        cells: dict[Cell, list[InvocationResponse]] = {
            (i, o): [] for i in self.input_lengths for o in self.output_lengths
        }
        for response in self.result.iter_records():
            index = response.payload_index
            if index is not None and 0 <= index < len(self.combinations):
                cells[self.combinations[index]].append(response)
        return cells

    def stats_by_combination(self) -> dict[Cell, dict[str, Any]]:
        """Each cell's statistics (the keys of `Result.stats`; latency from successes only)."""
        if self._saved_cells is not None and not self.result.responses:
            return dict(self._saved_cells)
        return {
            cell: RunStats.of(records).to_dict(None)
            for cell, records in self.responses_by_combination().items()
        }

    def matrix(
        self, metric: str = "time_to_last_token", aggregation: str = "p50"
    ) -> list[list[float | None]]:
        """``{metric}-{aggregation}`` of each cell: one row per input length, one column per
        output length; None where the cell has no successful request."""
        stats = self.stats_by_combination()
        key = f"{metric}-{aggregation}"
        return [[stats[(i, o)].get(key) for o in self.output_lengths] for i in self.input_lengths]

    def plot_heatmaps(
        self,
        show: bool = False,
        output_path: str | os.PathLike[str] | None = None,
        format: Literal["html", "png"] = "html",
        aggregation: str = "p50",
    ) -> tuple[Figure, Figure]:
        """Time to first token and time to last token by cell, as two plotly figures.

        Given an `output_path` (any fsspec URL), each is written there as
        ``time_to_first_token_heatmap.html`` (self-contained, viewable
        offline) or ``.png``. `show` opens them (in a notebook, inline).
        Needs the ``plotting`` extra: ``pip install 'llmeter-trio[plotting]'``.
        """
        check_format(format)
        from ._heatmap_plots import heatmap_figure

        figures = {
            f"{metric}_heatmap": heatmap_figure(self, metric, aggregation)
            for metric in ("time_to_first_token", "time_to_last_token")
        }
        if output_path is not None:
            save_figures(figures, output_path, format)
        if show:
            for figure in figures.values():
                figure.show()
        first, last = figures.values()
        return first, last

    # -- storage ------------------------------------------------------------------

    def layout(self, with_cells: bool = True) -> dict[str, Any]:
        """The ``heatmap.json`` document (without the schema version)."""
        document: dict[str, Any] = {
            "input_lengths": self.input_lengths,
            "output_lengths": self.output_lengths,
            "requests_per_combination": self.requests_per_combination,
            "seed": self.seed,
            "combinations": [list(cell) for cell in self.combinations],
        }
        if with_cells:
            document["cells"] = [
                {"input_length": i, "output_length": o, "stats": stats}
                for (i, o), stats in self.stats_by_combination().items()
            ]
        return document

    def save(self, output_path: str | os.PathLike[str] | None = None) -> None:
        """Write the run folder (see `Result.save`) and ``heatmap.json`` with each cell's stats."""
        target = output_path if output_path is not None else self.result.output_path
        if target is None:
            raise ValueError("no output path: pass one to save(), or run with an output_path")
        self.result.save(target)
        _write_layout(location(target), self.layout())

    @classmethod
    def load(
        cls, result_path: str | os.PathLike[str], load_responses: bool = True
    ) -> LatencyHeatmapResult:
        """Load a heatmap's run folder (any fsspec URL).

        With ``load_responses=False`` no records are kept in memory: the
        cells' saved statistics are used (or, for a run stopped before they
        were saved, recomputed by streaming the records).
        """
        url = os.fspath(result_path)
        fs, folder = resolve(url)
        path = posixpath.join(folder, HEATMAP_FILE)
        if not exists(fs, path):
            raise FileNotFoundError(
                f"{url} holds no {HEATMAP_FILE}: it is not a LatencyHeatmap run "
                "(a plain run loads with Result.load)"
            )
        document = read_json(fs, path)
        try:
            saved = None
            if "cells" in document:
                saved = {
                    (c["input_length"], c["output_length"]): c["stats"] for c in document["cells"]
                }
            layout: dict[str, Any] = {
                "input_lengths": [int(i) for i in document["input_lengths"]],
                "output_lengths": [int(o) for o in document["output_lengths"]],
                "requests_per_combination": int(document["requests_per_combination"]),
                "combinations": [(int(i), int(o)) for i, o in document["combinations"]],
                "seed": document.get("seed"),
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a heatmap layout ({exc!r})") from None
        result = Result.load(url, load_responses=load_responses)
        return cls(result=result, **layout, saved_cells=saved)


def _write_layout(url: str, document: dict[str, Any]) -> None:
    fs, folder = resolve(url)
    fs.makedirs(folder, exist_ok=True)
    write_json(fs, posixpath.join(folder, HEATMAP_FILE), document)


class _SaveLayout(Callback):
    """Writes ``heatmap.json`` when the run starts, so even a stopped run loads as a heatmap."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def before_run(self, run_config: dict[str, Any]) -> None:
        folder = run_config.get("output_path")
        if folder is not None:  # a small file, written like run_config.json, before any request
            _write_layout(folder, self.document)


@attrs.define
class LatencyHeatmap:
    """Measures how latency varies with input and output length (LLMeter's signature).

    Prompts of each of `input_lengths` tokens (under `tokenizer`; default
    `DummyTokenizer`, one word a token) are cut from `source_file` at seeded
    random offsets, and each is asked for each of `output_lengths` tokens
    (``max_tokens``), `requests_per_combination` times, with `clients`
    concurrent clients. `create_payload_fn(prompt, max_tokens=..., **create_payload_kwargs)`
    builds each payload (default: the endpoint's `create_payload`); the
    payloads are ready in `payload` as soon as the experiment is made.

    Input lengths are exact only under the tokenizer used: a server's own
    tokenizer counts differently, and a model may stop before `max_tokens`.
    Beyond LLMeter: `seed` (random when not given, then kept) makes the
    prompts and their order repeatable, `run_name` names the run folder
    (default: the date and time), `timeout` is each request's deadline, and
    ``show_progress=False`` hides the live display.
    """

    endpoint: Endpoint
    source_file: str | os.PathLike[str]
    clients: int = 4
    output_path: str | os.PathLike[str] | None = None
    input_lengths: Sequence[int] = attrs.field(factory=lambda: [10, 50, 200, 500])
    output_lengths: Sequence[int] = attrs.field(factory=lambda: [128, 256, 512, 1024])
    requests_per_combination: int = 1
    create_payload_fn: Callable[..., dict[str, Any]] | None = None
    create_payload_kwargs: dict[str, Any] = attrs.field(factory=dict)
    tokenizer: Tokenizer | None = None
    # -- beyond LLMeter --
    seed: int | None = attrs.field(default=None, kw_only=True)
    run_name: str | None = attrs.field(default=None, kw_only=True)
    timeout: float | None = attrs.field(default=60, kw_only=True)
    # the run's live display (`Runner`'s show_progress): by default on a terminal or notebook
    show_progress: bool | None = attrs.field(default=None, kw_only=True)
    payload: list[dict[str, Any]] = attrs.field(init=False, repr=False)
    samples: list[PromptSample] = attrs.field(init=False, repr=False)
    _results: LatencyHeatmapResult | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        check_clients("clients", self.clients)
        collection = experiments().CreatePromptCollection(
            self.input_lengths,
            self.output_lengths,
            self.source_file,
            requests_per_combination=self.requests_per_combination,
            tokenizer=self.tokenizer,
            seed=self.seed,
        )
        self.input_lengths = list(self.input_lengths)
        self.output_lengths = list(self.output_lengths)
        self.seed = collection.seed
        self.samples = collection.create_samples()
        make = self.create_payload_fn or self.endpoint.create_payload
        self.payload = []
        for sample in self.samples:
            payload = make(
                sample.prompt, max_tokens=sample.output_length, **self.create_payload_kwargs
            )
            if not isinstance(payload, dict):
                raise TypeError(
                    f"create_payload_fn returned a {type(payload).__name__}; it must return one "
                    "payload dict per prompt"
                )
            self.payload.append(payload)

    @runs_on_any_loop
    async def run(self, output_path: str | os.PathLike[str] | None = None) -> LatencyHeatmapResult:
        """Send every combination `requests_per_combination` times; return the heatmap.

        Saved to ``{output_path}/{run_name}/`` when there is an output path
        (this argument, else the experiment's).
        """
        parent = output_path if output_path is not None else self.output_path
        heatmap = LatencyHeatmapResult(
            result=Result(),
            input_lengths=list(self.input_lengths),
            output_lengths=list(self.output_lengths),
            requests_per_combination=self.requests_per_combination,
            combinations=[(s.input_length, s.output_length) for s in self.samples],
            seed=self.seed,
        )
        runner = experiments().Runner(
            self.endpoint, output_path=parent, tokenizer=self.tokenizer, timeout=self.timeout
        )
        heatmap.result = await runner.run(
            payload=self.payload,
            clients=self.clients,
            payload_order="once",
            run_name=self.run_name,
            seed=self.seed,
            callbacks=[_SaveLayout(heatmap.layout(with_cells=False))],
            show_progress=self.show_progress,
        )
        if heatmap.output_path is not None:
            fs = resolve(heatmap.output_path)[0]
            await run_io(fs, _write_layout, heatmap.output_path, heatmap.layout())
        self._results = heatmap
        return heatmap

    def plot_heatmaps(
        self,
        n_bins_x: int | None = None,
        n_bins_y: int | None = None,
        show: bool = True,
        *,
        output_path: str | os.PathLike[str] | None = None,
        format: Literal["html", "png"] = "html",
    ) -> tuple[Figure, Figure]:
        """LLMeter's charts of the last `run`: time to first and to last token, binned by the
        measured input and output tokens (see `llmeter_trio.plotting.plot_heatmap`).

        `n_bins_x`/`n_bins_y` bins (None: plotly's choice), a mark per
        request; shown when `show`. Given an `output_path` (any fsspec URL),
        each is also written there as ``time_to_first_token_heatmap.html``
        (or ``.png``). For the designed cells (exact target lengths) use
        `LatencyHeatmapResult.plot_heatmaps`.
        """
        results = getattr(self, "_results", None)
        if results is None:
            raise ValueError("No results to plot yet: await heatmap.run() first")
        check_format(format)
        plot = experiments().plot_heatmap
        figures = {
            f"{metric}_heatmap": plot(
                results, metric, n_bins_x=n_bins_x, n_bins_y=n_bins_y, show_scatter=True
            )
            for metric in ("time_to_first_token", "time_to_last_token")
        }
        if output_path is not None:
            save_figures(figures, output_path, format)
        if show:
            for figure in figures.values():
                figure.show()
        first, last = figures.values()
        return first, last
