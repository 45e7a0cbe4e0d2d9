"""`Result`: one run's records, summary and statistics, live or loaded back.

Statistics always come from `llmeter_trio.stats.RunStats`, whether the run is
live, ran with ``low_memory=True`` (records streamed to storage, none kept), or
was loaded back from storage: the same records give the same numbers.

Loading has one path: a reader turns a folder into a `SavedRun` (neutral
parts: summary fields, configuration, saved statistics, a way to stream the
records), llmeter-trio's own here, LLMeter's in `llmeter_trio.compat`, and
`Result.from_saved_run` alone assembles a `Result` from it.
"""

from __future__ import annotations

import json
import posixpath
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs
import cattrs
import fsspec
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._tables import columns_of, missing_extra, record_row
from .endpoints import InvocationResponse
from .json_utils import llmeter_default_serializer
from .metrics._scraper import SERVER_METRICS_FILE
from .metrics._series import read_series, write_series
from .metrics._summary import server_stats
from .run_config import RunConfig
from .slo import parse_slos
from .stats import PercentileMethod, RunStats, check_percentile_method
from .storage import (
    RESPONSES_FILE,
    SEGMENTS_FOLDER,
    Location,
    converter,
    display_url,
    dumps,
    exists,
    has_records,
    iter_responses,
    loads,
    location,
    open_atomic,
    read_json,
    resolve,
    response_line,
    write_json,
)

__all__ = ["Result", "SavedRun", "holds_run", "read_run", "read_saved_run"]

SUMMARY_FILE = "summary.json"
_RECORD_COLUMNS = [field.name for field in attrs.fields(InvocationResponse)]  # of an empty run
STATS_FILE = "stats.json"
RUN_CONFIG_FILE = "run_config.json"
CONTRIBUTED_STATS_KEY = "contributed_stats"  # in stats.json: which statistics callbacks added
# what a run folder may hold; any one of them means the folder holds a run
GENERATOR_FILE = "generator.jsonl"  # the generator's own time series
RUN_DOCUMENTS = (
    RUN_CONFIG_FILE, SUMMARY_FILE, STATS_FILE, RESPONSES_FILE, SEGMENTS_FOLDER, GENERATOR_FILE,
    SERVER_METRICS_FILE,
)  # fmt: skip


def holds_run(fs: fsspec.AbstractFileSystem, folder: str) -> bool:
    """Whether `folder` holds any run document or records (llmeter-trio's or LLMeter's)."""
    return any(exists(fs, posixpath.join(folder, name)) for name in RUN_DOCUMENTS)


@attrs.frozen(kw_only=True)
class SavedRun:
    """What a run folder holds, as neutral parts for `Result.from_saved_run` to assemble.

    `summary` has the summary fields as ``summary.json`` holds them (None: the
    folder has no summary, which is then rebuilt from the records, marked
    `interrupted` when the reader says the run was cut short). `records`
    starts a fresh pass over the saved records (None: none were saved).
    `saved_stats` are statistics as saved (summary fields among them are
    passed over), used when the records are not loaded; `stats_problem` says
    why saved statistics that should be there are not (missing or damaged:
    they are recomputed, with a warning).
    """

    where: str  # the folder's URL, for messages
    summary: dict[str, Any] | None
    run_config: RunConfig | None = None
    records: Callable[[], Iterator[InvocationResponse]] | None = None
    saved_stats: dict[str, Any] | None = None
    stats_problem: str | None = None
    interrupted: bool = False
    # statistics another tool saved beside its records (LLMeter's stats.json), shown as saved
    llmeter_stats: dict[str, Any] | None = None
    generator_series: list[dict[str, Any]] = attrs.field(factory=list)  # generator.jsonl


def _forget_stats_on_change(instance: Result, attribute: attrs.Attribute[Any], value: Any) -> Any:
    if attribute.name == "responses":
        instance._records_changed(value)
    return value


@attrs.define(eq=False)
class Result:
    """The outcome of one run: its records (unless low-memory) and what they add up to.

    The fields up to `end_time` are LLMeter's, in LLMeter's order (positional
    arguments work as there); `output_path` may be a string, a path or a
    ``UPath``. The others are keyword-only (``kw_only=True``, as any field
    added here must be): `interrupted` says the run was stopped early
    (Ctrl-C, SIGTERM, an error, or a crash seen when loading), and
    `generator` whether the load generator itself was a bottleneck.
    """

    responses: list[InvocationResponse] = attrs.field(
        factory=list, repr=False, on_setattr=_forget_stats_on_change
    )
    total_requests: int = 0
    clients: int = 1
    n_requests: int | None = None
    total_test_time: float | None = None
    model_id: str | None = None
    output_path: Location | None = None
    endpoint_name: str | None = None
    provider: str | None = None
    run_name: str | None = None
    run_description: str | None = None
    start_time: datetime | None = None
    first_request_time: datetime | None = None
    last_request_time: datetime | None = None
    end_time: datetime | None = None
    interrupted: bool = attrs.field(default=False, kw_only=True)
    # why the load was stopped early from inside the run (`stop_run`: a cost cap, ...), if it was
    stop_reason: str | None = attrs.field(default=None, kw_only=True)
    # the generator's own health: event-loop lag, CPU, and `warnings` with
    # `bottleneck` set when the generator, not the endpoint, may have set the pace
    generator: dict[str, Any] = attrs.field(factory=dict, kw_only=True)
    # the generator's own time series, one sample a second (``generator.jsonl``): time, cpu,
    # rss_bytes, open_connections, event_loop_lag_max (see `llmeter_trio.engine._monitor`)
    generator_series: list[dict[str, Any]] = attrs.field(factory=list, repr=False, kw_only=True)
    # the `server_metrics` page scraped during the run: scrape counts, errors and the gauges
    # that explain a knee (`llmeter_trio.metrics`); its samples are in ``server_metrics.jsonl``
    server_metrics: dict[str, Any] = attrs.field(factory=dict, kw_only=True)
    run_config: RunConfig | None = attrs.field(default=None, repr=False, kw_only=True)
    _run_stats: RunStats | None = attrs.field(
        default=None, repr=False, alias="run_stats", kw_only=True
    )
    _saved_stats: dict[str, Any] | None = attrs.field(
        default=None, repr=False, alias="saved_stats", kw_only=True
    )
    _llmeter_stats: dict[str, Any] | None = attrs.field(
        default=None, repr=False, alias="llmeter_stats", kw_only=True
    )
    # how many records the statistics above were counted from, and the statistics as a
    # dict for one total_test_time: computed once, kept until the records change
    _stats_records: int = attrs.field(
        default=attrs.Factory(lambda self: len(self.responses), takes_self=True),
        init=False,
        repr=False,
    )
    _stats_cache: tuple[float | None, dict[str, Any]] | None = attrs.field(
        default=None, init=False, repr=False
    )
    # statistics callbacks added (`contribute_stats`), kept whatever happens to the records
    _contributed_stats: dict[str, float] = attrs.field(
        factory=dict, repr=False, alias="contributed_stats", kw_only=True
    )

    @property
    def stats(self) -> dict[str, Any]:
        """The summary fields plus every statistic (``"time_to_first_token-p50"``, ...),
        then those callbacks contributed (`contribute_stats`).

        Computed once and kept: appending or removing records, or assigning a
        new `responses` list, is noticed; after changing a record in place
        call `refresh_stats`.
        """
        if len(self.responses) != self._stats_records:
            self._records_changed(self.responses)
        cache = self._stats_cache
        if cache is None or cache[0] != self.total_test_time:
            cache = (self.total_test_time, self._compute_stats())
            self._stats_cache = cache
        stats = {**self.summary(), **cache[1], **server_stats(self.server_metrics)}
        for name, value in self._contributed_stats.items():  # built-in statistics win
            stats.setdefault(name, value)
        return stats

    def stats_by_turn(self) -> dict[int, dict[str, float]]:
        """A multi-turn run's statistics per turn index: ``{1: {"requests": n,
        "time_to_first_token-p50": ..., "num_tokens_input-average": ..., ...}, 2: ...}``
        (time to first and last token, input tokens: mean, p50, p90, p99, over successful
        requests). Empty for a run without sessions."""
        by_turn = self.stats.get("by_turn") or {}
        return {int(turn): dict(row) for turn, row in sorted(by_turn.items(), key=_turn_key)}

    @property
    def contributed_stats(self) -> dict[str, float]:
        """The statistics callbacks added with `contribute_stats` (saved and loaded with it)."""
        return dict(self._contributed_stats)

    def contribute_stats(self, stats: Mapping[str, float]) -> None:
        """Add statistics of your own to `stats` (a callback's ``after_run`` calls it).

        Each value must be a number; a name already contributed is replaced.
        A name that is one of the built-in statistics (``failed_requests``,
        ``time_to_first_token-p50``, ...) is a ValueError: they are never
        overwritten. Contributed statistics are saved in ``stats.json`` and
        loaded back by `Result.load`, with or without the records.
        """
        if not isinstance(stats, Mapping):
            raise ValueError(f"contributed stats must be a dict of numbers, not {stats!r}")
        for key, value in stats.items():
            if not isinstance(value, (int, float)):
                raise ValueError(f"contributed stat {key!r} must be a number, not {value!r}")
        built_in = self._built_in_stat_names()
        clashing = sorted(key for key in stats if key in built_in)
        if clashing:
            raise ValueError(
                f"contributed stats {clashing} are built-in statistics, which are never "
                "overwritten; give them other names"
            )
        self._contributed_stats.update(stats)

    # LLMeter's name for `contribute_stats`, which its callbacks call
    _update_contributed_stats = contribute_stats

    def _built_in_stat_names(self) -> set[str]:
        return set(self.stats) - set(self._contributed_stats)

    @property
    def percentile_method(self) -> PercentileMethod:
        """How percentiles are computed: the run configuration's, else ``"linear"``."""
        return self.run_config.percentile_method if self.run_config else "linear"

    @property
    def llmeter_stats(self) -> dict[str, Any] | None:
        """LLMeter's statistics as it saved them (``stats.json``), for a folder LLMeter wrote.

        `stats` are recomputed from the records by llmeter-trio's engine (with
        `percentile_method`); these are LLMeter's own numbers, for comparison.
        None for a run llmeter-trio saved.
        """
        return None if self._llmeter_stats is None else dict(self._llmeter_stats)

    def refresh_stats(self) -> None:
        """Recompute the statistics from `responses` when next asked for them.

        Call it after changing records in place (``result.responses[0] = ...``).
        A result that holds no records (``low_memory=True``, or loaded with
        ``load_responses=False``) keeps the statistics it has.
        """
        self._records_changed(self.responses)

    def _records_changed(self, responses: list[InvocationResponse]) -> None:
        if responses or self._stats_records:  # records are (or were) held: count them anew
            self._run_stats = None
            self._saved_stats = None
        self._stats_cache = None

    def _compute_stats(self) -> dict[str, Any]:
        if self._saved_stats is not None:
            return dict(self._saved_stats)
        if self._run_stats is None:
            slos = self.run_config.parsed_slos() if self.run_config else []
            method = self.percentile_method
            self._run_stats = RunStats.of(self.responses, slos, percentile_method=method)
            self._stats_records = len(self.responses)
        return self._run_stats.to_dict(self.total_test_time)

    def iter_records(self) -> Iterable[InvocationResponse]:
        """The run's records: those held in memory, else streamed from its folder
        (a ``low_memory=True`` run, or one loaded with ``load_responses=False``)."""
        if self.responses or not self.total_requests or self.output_path is None:
            return self.responses
        records = read_saved_run(location(self.output_path)).records
        return records() if records is not None else []

    def load_responses(self) -> list[InvocationResponse]:
        """Read the records from the run folder into `responses` (streamed), and return them.

        For a result loaded with ``load_responses=False`` or run with
        ``low_memory=True``; the statistics are then counted from them. A
        result with no `output_path` is a ValueError; a folder without
        records a FileNotFoundError.
        """
        if not self.output_path:
            raise ValueError(
                "No output_path set on this Result: there is no folder to read the records from"
            )
        url = location(self.output_path)
        records = read_saved_run(url).records
        if records is None:
            raise FileNotFoundError(f"{display_url(url)} holds no {RESPONSES_FILE}")
        self.responses = list(records())
        return self.responses

    def get_dimension(
        self, dimension: str, filter_dimension: str | None = None, filter_value: Any = None
    ) -> list[Any]:
        """The values of one `InvocationResponse` field across the records, in order.

        With `filter_dimension`, only records whose `filter_dimension` equals
        `filter_value` count. Records not held in memory are streamed from the
        folder. A name that is no field is an AttributeError naming the fields.
        """
        fields = attrs.fields_dict(InvocationResponse)
        for name in (dimension, filter_dimension):
            if name is not None and name not in fields:
                raise AttributeError(
                    f"InvocationResponse has no field {name!r}; its fields are {sorted(fields)}"
                )
        return [
            getattr(record, dimension)
            for record in self.iter_records()
            if filter_dimension is None or getattr(record, filter_dimension) == filter_value
        ]

    def to_dict(self, include_responses: bool = False) -> dict[str, Any]:
        """The summary fields, with native types (datetimes stay datetimes), as LLMeter's.

        With `include_responses`, also ``"responses"`` (each record's
        `InvocationResponse.to_dict`) and ``"stats"``.
        """
        document = {a.alias or a.name: getattr(self, a.name) for a in _SUMMARY_FIELDS}
        if include_responses:
            document["responses"] = [record.to_dict() for record in self.responses]
            document["stats"] = self.stats
        return document

    def to_json(self, default: Callable[[Any], Any] | None = None, **kwargs: Any) -> str:
        """The summary fields as JSON text, as LLMeter's ``to_json`` writes them.

        `default` is `json.dumps`' fallback, by default LLMeter's
        `~llmeter_trio.json_utils.llmeter_default_serializer` (times in UTC to
        the second); `kwargs` go to `json.dumps`. ``summary.json`` keeps full
        precision.
        """
        return json.dumps(self.to_dict(), default=default or llmeter_default_serializer, **kwargs)

    def to_pandas(self) -> Any:
        """The records as a pandas DataFrame, one row per request (the ``export`` extra).

        Nested fields are flattened: ``annotations`` and ``rate_limit`` give one
        column per key (``annotations.cost``); the payload, chunks and attempts
        are JSON text. Records not held in memory are streamed from the folder.
        """
        try:
            import pandas as pd
        except ImportError:
            raise missing_extra("pandas") from None
        rows = [record_row(record) for record in self.iter_records()]
        return pd.DataFrame(rows, columns=columns_of(rows) or _RECORD_COLUMNS)

    def to_arrow(self) -> Any:
        """The records as a pyarrow Table, the rows of `to_pandas` (the ``export`` extra)."""
        try:
            import pyarrow as pa
        except ImportError:
            raise missing_extra("pyarrow") from None
        rows = [record_row(record) for record in self.iter_records()]
        columns = columns_of(rows) or _RECORD_COLUMNS
        return pa.table({name: [row.get(name) for row in rows] for name in columns})

    def summary(self) -> dict[str, Any]:
        """The summary fields (what ``summary.json`` holds)."""
        document: dict[str, Any] = converter.unstructure(self)
        return document

    def __str__(self) -> str:
        return dumps(self.stats, indent=True).decode()

    # -- saving -------------------------------------------------------------------

    def save(
        self,
        output_path: Location | None = None,
        *,
        overwrite: bool = False,
        format: Literal["llmeter-trio", "llmeter"] = "llmeter-trio",
    ) -> None:
        """Write the run folder (any fsspec URL, path or ``UPath``): summary, stats,
        run configuration and records.

        `output_path` defaults to the result's own. Records already there
        (streamed during the run, or from an earlier save) are not written
        again. A folder that holds another run (run documents or records, and
        neither its ``run_config.json`` nor its ``summary.json`` is this
        result's) is refused with `FileExistsError`, unless `overwrite` is
        true: that run's documents and records are then removed first. Each
        document is written whole or not at all.

        ``format="llmeter"`` writes the folder as LLMeter writes it, for
        LLMeter to read (see `llmeter_trio.compat.save_llmeter_result`).
        """
        target = output_path if output_path is not None else self.output_path
        if target is None:
            raise ValueError(
                "No output path provided: pass one to save(), or set Result.output_path"
            )
        if format == "llmeter":
            from .compat._llmeter_writer import save_llmeter_result  # compat imports this module

            save_llmeter_result(self, target, overwrite=overwrite)
            return
        if format != "llmeter-trio":
            raise ValueError(f"format must be 'llmeter-trio' or 'llmeter', not {format!r}")
        fs, folder = self.claim_folder(target, dumps(self.summary()), overwrite=overwrite)
        config_path = posixpath.join(folder, RUN_CONFIG_FILE)
        if self.run_config is not None and not exists(fs, config_path):
            write_json(fs, config_path, converter.unstructure(self.run_config))
        generator_path = posixpath.join(folder, GENERATOR_FILE)
        if self.generator_series and not exists(fs, generator_path):
            write_series(fs, generator_path, self.generator_series)
        if self.responses and not has_records(fs, folder):
            with open_atomic(fs, posixpath.join(folder, RESPONSES_FILE)) as f:
                for response in self.responses:
                    f.write(response_line(response))
        write_json(fs, posixpath.join(folder, SUMMARY_FILE), self.summary())
        self._save_stats(fs, folder)

    def _save_stats(self, fs: fsspec.AbstractFileSystem, folder: str) -> None:
        """Write ``stats.json``: every statistic, and which of them were contributed."""
        document = self.stats
        if self._contributed_stats:
            document[CONTRIBUTED_STATS_KEY] = sorted(self._contributed_stats)
        write_json(fs, posixpath.join(folder, STATS_FILE), document)

    def save_stats(self) -> None:
        """Rewrite the ``stats.json`` of a saved run (after statistics were contributed)."""
        if self.output_path is None:
            raise ValueError("this Result has no output_path: there is no folder to write to")
        fs, folder = resolve(self.output_path)
        self._save_stats(fs, folder)

    def _is_saved_in(self, fs: fsspec.AbstractFileSystem, folder: str) -> bool:
        """Whether `folder` holds this very run: its ``run_config.json`` is this result's."""
        path = posixpath.join(folder, RUN_CONFIG_FILE)
        if self.run_config is None or not exists(fs, path):
            return False
        try:
            saved = _without_version(read_json(fs, path))
        except ValueError:
            return False
        return bool(saved == loads(dumps(converter.unstructure(self.run_config))))

    def claim_folder(
        self, output_path: Location, summary: bytes, *, overwrite: bool = False
    ) -> tuple[fsspec.AbstractFileSystem, str]:
        """The filesystem and folder to save this result in, made ready for it.

        `summary` is the ``summary.json`` this result will write there (in
        whichever format): a folder already holding it, or this result's
        ``run_config.json``, holds this very run. Any other run there is a
        `FileExistsError`, or with `overwrite` is removed.
        """
        url = location(output_path)
        fs, folder = resolve(url)
        this_run = self._is_saved_in(fs, folder) or _holds_summary(fs, folder, summary)
        if holds_run(fs, folder) and not this_run:
            if not overwrite:
                raise FileExistsError(
                    f"{display_url(url)} already holds another run; choose another folder, "
                    "or pass overwrite=True to replace it"
                )
            for name in RUN_DOCUMENTS:
                path = posixpath.join(folder, name)
                if exists(fs, path):
                    fs.rm(path, recursive=True)
        fs.makedirs(folder, exist_ok=True)
        return fs, folder

    # -- loading ------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        result_path: Location,
        load_responses: bool = True,
        slos: Sequence[str] | None = None,
        percentile_method: PercentileMethod | None = None,
    ) -> Result:
        """Load a run folder from any fsspec URL, path or ``UPath``.

        With ``load_responses=False`` no records are kept in memory; the
        statistics are the saved ones, or are recomputed by streaming the
        records when the run never wrote them (it was killed) or when `slos`
        are given: SLO attainment and goodput are then computed for those
        SLOs instead of the run's own, without a rerun. A folder holding
        no summary (a killed run) still loads from its configuration, its
        records, or both, marked `interrupted`, its times taken from the
        records; its configuration, if damaged, is then left out with a
        warning. A missing or damaged ``stats.json`` beside a summary is
        recomputed from the records, with a warning. Any other damaged
        document is a ValueError naming the file; a folder with nothing to
        load, a FileNotFoundError ("There is no data to recover"). A folder saved by LLMeter
        (its documents have no ``schema_version``) is read by
        `llmeter_trio.compat.load_llmeter_result`.

        `percentile_method` (``"linear"`` or ``"llmeter"``) recomputes the
        statistics from the records with that rule when it is not the one
        the run was saved with; by default the run's own rule is kept.
        """
        saved = read_saved_run(location(result_path))
        return cls.from_saved_run(
            saved, load_responses=load_responses, slos=slos, percentile_method=percentile_method
        )

    @classmethod
    def from_saved_run(
        cls,
        saved: SavedRun,
        load_responses: bool = True,
        slos: Sequence[str] | None = None,
        percentile_method: PercentileMethod | None = None,
    ) -> Result:
        """Assemble a `Result` from what a reader found in a folder (see `load`)."""
        run_config = saved.run_config
        saved_method = run_config.percentile_method if run_config is not None else "linear"
        method = saved_method
        if percentile_method is not None:
            method = check_percentile_method(percentile_method)
        if method != saved_method:
            run_config = attrs.evolve(
                run_config or RunConfig(endpoint_config={}), percentile_method=method
            )
        recompute = slos is not None or (method != saved_method and saved.records is not None)
        if slos is not None:
            if saved.records is None:
                raise ValueError(
                    f"{display_url(saved.where)} holds no {RESPONSES_FILE}: "
                    "SLOs are computed from the records"
                )
            parsed = parse_slos(list(slos))
            if run_config is not None:
                run_config = attrs.evolve(run_config, slos=[s.text for s in parsed])
        else:
            parsed = run_config.parsed_slos() if run_config is not None else []
        if saved.stats_problem is not None:
            warnings.warn(
                f"{saved.stats_problem}: the statistics are recomputed from the records",
                stacklevel=3,
            )

        responses: list[InvocationResponse] = []
        run_stats: RunStats | None = None
        saved_stats: dict[str, Any] | None = None
        contributed = _contributed_stats(saved.saved_stats)
        if saved.records is not None and load_responses:
            responses = list(saved.records())
            run_stats = RunStats.of(responses, parsed, percentile_method=method)
        elif saved.saved_stats is not None and not recompute:
            names = set(attrs.fields_dict(cls))  # summary fields come typed from the summary
            names.update(contributed, [CONTRIBUTED_STATS_KEY])
            saved_stats = {k: v for k, v in saved.saved_stats.items() if k not in names}
        elif saved.records is not None:
            run_stats = RunStats.of(saved.records(), parsed, percentile_method=method)

        if saved.summary is not None:
            summary = _structure_summary(saved.summary, saved.where)
        else:
            records: Iterable[InvocationResponse] = responses
            if not load_responses and saved.records is not None:
                records = saved.records()
            summary = _summary_from_records(run_config, records)
        fields = {a.alias or a.name: getattr(summary, a.name) for a in _SUMMARY_FIELDS}
        fields["interrupted"] = summary.interrupted or saved.interrupted
        if summary.output_path is None:
            fields["output_path"] = saved.where
        return cls(
            **fields,
            responses=responses,
            run_config=run_config,
            run_stats=run_stats,
            saved_stats=saved_stats,
            llmeter_stats=saved.llmeter_stats,
            contributed_stats=contributed,
            generator_series=list(saved.generator_series),
        )


def _contributed_stats(saved_stats: dict[str, Any] | None) -> dict[str, float]:
    """The contributed statistics among saved ones: those ``stats.json`` lists as such."""
    if not saved_stats:
        return {}
    names = saved_stats.get(CONTRIBUTED_STATS_KEY) or []
    return {name: saved_stats[name] for name in names if name in saved_stats}


def read_saved_run(url: str) -> SavedRun:
    """The parts of a run folder saved by llmeter-trio or by LLMeter (any fsspec URL)."""
    from .compat._llmeter import is_llmeter_run, read_llmeter_run  # compat imports this module

    return read_llmeter_run(url) if is_llmeter_run(url) else read_run(url)


def read_run(url: str) -> SavedRun:
    """The parts of a run folder saved by llmeter-trio (any fsspec URL).

    A folder without a summary is a run cut short: it is read from whatever is
    there (its configuration, its records, or both). Its configuration, if
    damaged, is then left out with a warning rather than losing the records.
    """
    fs, folder = resolve(url)
    summary_path = posixpath.join(folder, SUMMARY_FILE)
    config_path = posixpath.join(folder, RUN_CONFIG_FILE)
    stats_path = posixpath.join(folder, STATS_FILE)
    summary = _without_version(read_json(fs, summary_path)) if exists(fs, summary_path) else None
    records = has_records(fs, folder)
    run_config = None
    if exists(fs, config_path):
        try:
            run_config = _read_run_config(fs, config_path)
        except ValueError as exc:
            if summary is not None or not records:
                raise
            warnings.warn(
                f"{exc}: the run configuration is left out (defaults used); the records are loaded",
                stacklevel=2,
            )
    if summary is None and run_config is None and not records:
        raise _no_run_error(url)
    saved_stats: dict[str, Any] | None = None
    problem: str | None = None
    if summary is not None:  # the run ended: its statistics should be there
        try:
            saved_stats = _without_version(read_json(fs, stats_path))
        except FileNotFoundError:
            problem = f"{stats_path} is missing"
        except ValueError as exc:
            problem = str(exc)
    return SavedRun(
        where=url,
        summary=summary,
        run_config=run_config,
        records=(lambda: iter_responses(fs, folder)) if records else None,
        saved_stats=saved_stats,
        stats_problem=problem,
        interrupted=summary is None,  # no summary: the run was killed before it ended
        generator_series=list(read_series(fs, posixpath.join(folder, GENERATOR_FILE))),
    )


def _no_run_error(url: str) -> FileNotFoundError:
    """The error for a folder that is missing or holds nothing to load (LLMeter's wording)."""
    fs, folder = resolve(url)
    if not fs.isdir(folder):
        return FileNotFoundError(
            f"Cannot recover run from {display_url(url)}: no such folder. "
            "There is no data to recover."
        )
    return FileNotFoundError(
        f"Cannot recover run from {display_url(url)}: it holds no {SUMMARY_FILE}, "
        f"{RESPONSES_FILE}, {RUN_CONFIG_FILE} or {STATS_FILE}. There is no data to recover."
    )


def _read_run_config(fs: fsspec.AbstractFileSystem, path: str) -> RunConfig:
    document = _without_version(read_json(fs, path))
    try:
        return converter.structure(document, RunConfig)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a run configuration ({exc})") from None


def _structure_summary(summary: dict[str, Any], where: str) -> Result:
    try:
        return converter.structure(summary, Result)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        path = posixpath.join(display_url(where), SUMMARY_FILE)
        raise ValueError(f"{path}: not a run summary ({exc})") from None


def _summary_from_records(
    run_config: RunConfig | None, records: Iterable[InvocationResponse]
) -> Result:
    """A summary rebuilt from a run's configuration and records, in one pass over them, for
    folders that hold no summary (a killed run, or an LLMeter folder).

    The run starts at its first request sent and ends when its last response ended
    (sent + `time_to_last_token`), as a finished run's `end_time` is after its last
    response; records without a send time leave the times unknown.
    """
    count = 0
    start: datetime | None = None
    last_sent: datetime | None = None
    end: datetime | None = None
    for record in records:
        count += 1
        sent = record.request_time
        if sent is None:
            continue
        ended = sent + timedelta(seconds=record.time_to_last_token or 0.0)
        start = sent if start is None else min(start, sent)
        last_sent = sent if last_sent is None else max(last_sent, sent)
        end = ended if end is None else max(end, ended)
    endpoint = run_config.endpoint_config if run_config is not None else {}
    return Result(
        total_requests=count,
        clients=run_config.clients if run_config is not None else 1,
        n_requests=run_config.n_requests if run_config is not None else None,
        total_test_time=(end - start).total_seconds() if start and end else None,
        model_id=endpoint.get("model_id"),
        endpoint_name=endpoint.get("endpoint_name"),
        provider=endpoint.get("provider"),
        run_name=run_config.run_name if run_config is not None else None,
        run_description=run_config.run_description if run_config is not None else None,
        start_time=start,
        first_request_time=start,
        last_request_time=last_sent,
        end_time=end,
    )


def _holds_summary(fs: fsspec.AbstractFileSystem, folder: str, summary: bytes) -> bool:
    """Whether `folder`'s ``summary.json`` is `summary` (either format; schema version aside):
    a result saved again where it was saved."""
    path = posixpath.join(folder, SUMMARY_FILE)
    if not exists(fs, path):
        return False
    try:  # the stdlib parser reads either format (LLMeter's may hold NaN)
        saved, ours = json.loads(fs.cat_file(path)), json.loads(summary)
    except ValueError:
        return False
    return isinstance(saved, dict) and _without_version(saved) == ours


def _without_version(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "schema_version"}


_HIDDEN_NAMES = (
    "responses", "generator_series", "run_config", "_run_stats", "_saved_stats", "_llmeter_stats",
    "_stats_records", "_stats_cache", "_contributed_stats",
)  # fmt: skip
_SUMMARY_FIELDS = [a for a in attrs.fields(Result) if a.name not in _HIDDEN_NAMES]
_HIDDEN = {name: override(omit=True) for name in _HIDDEN_NAMES}
# `output_path` may be any Location in memory; summary.json holds its URL or path as text
_OVERRIDES = {
    **_HIDDEN,
    "output_path": override(
        unstruct_hook=lambda where: None if where is None else location(where),
        struct_hook=lambda where, _: where,
    ),
}
converter.register_unstructure_hook(
    Result,
    make_dict_unstructure_fn(Result, converter, **_OVERRIDES),  # type: ignore[arg-type]
)
converter.register_structure_hook(
    Result,
    make_dict_structure_fn(Result, converter, _cattrs_forbid_extra_keys=False, **_OVERRIDES),  # type: ignore[arg-type]
)


def _turn_key(item: tuple[str, Any]) -> int:
    return int(item[0])
