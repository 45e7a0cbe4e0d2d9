"""`Result`: one run's records, summary and statistics, live or loaded back.

Statistics always come from `llmeter_trio.stats.RunStats`, whether the run is
live, ran with ``low_memory=True`` (records streamed to storage, none kept), or
was loaded back from storage: the same records give the same numbers.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .endpoints import InvocationResponse
from .run_config import RunConfig
from .slo import parse_slos
from .stats import RunStats
from .storage import (
    RESPONSES_FILE,
    converter,
    exists,
    has_records,
    iter_responses,
    read_json,
    resolve,
    response_line,
    write_json,
)

__all__ = ["Result"]

SUMMARY_FILE = "summary.json"
STATS_FILE = "stats.json"
RUN_CONFIG_FILE = "run_config.json"


@attrs.define(kw_only=True, eq=False)
class Result:
    """The outcome of one run: its records (unless low-memory) and what they add up to.

    The summary fields are LLMeter's; `interrupted` says the run was stopped
    early (Ctrl-C, SIGTERM, an error, or a crash seen when loading), and
    `generator` whether the load generator itself was a bottleneck.
    """

    responses: list[InvocationResponse] = attrs.field(factory=list, repr=False)
    total_requests: int = 0
    clients: int = 1
    n_requests: int | None = None
    total_test_time: float | None = None
    model_id: str | None = None
    output_path: str | None = None
    endpoint_name: str | None = None
    provider: str | None = None
    run_name: str | None = None
    run_description: str | None = None
    start_time: datetime | None = None
    first_request_time: datetime | None = None
    last_request_time: datetime | None = None
    end_time: datetime | None = None
    interrupted: bool = False
    # the generator's own health: event-loop lag, CPU, and `warnings` with
    # `bottleneck` set when the generator, not the endpoint, may have set the pace
    generator: dict[str, Any] = attrs.field(factory=dict)
    run_config: RunConfig | None = attrs.field(default=None, repr=False)
    _run_stats: RunStats | None = attrs.field(default=None, repr=False, alias="run_stats")
    _saved_stats: dict[str, Any] | None = attrs.field(default=None, repr=False, alias="saved_stats")

    @property
    def stats(self) -> dict[str, Any]:
        """The summary fields plus every statistic (``"time_to_first_token-p50"``, ...)."""
        if self._run_stats is None and self._saved_stats is None:
            slos = self.run_config.parsed_slos() if self.run_config else []
            self._run_stats = RunStats.of(self.responses, slos)
        if self._run_stats is None:
            assert self._saved_stats is not None
            return {**self.summary(), **self._saved_stats}
        return {**self.summary(), **self._run_stats.to_dict(self.total_test_time)}

    def summary(self) -> dict[str, Any]:
        """The summary fields (what ``summary.json`` holds)."""
        document: dict[str, Any] = converter.unstructure(self)
        return document

    def __str__(self) -> str:
        from .storage import dumps

        return dumps(self.stats, indent=True).decode()

    def save(self, output_path: str | os.PathLike[str] | None = None) -> None:
        """Write the run folder: summary, stats, run configuration and records.

        Records already streamed there during the run are not written again.
        """
        target = output_path if output_path is not None else self.output_path
        if target is None:
            raise ValueError("no output path: pass one to save(), or set Result.output_path")
        fs, folder = resolve(os.fspath(target))
        fs.makedirs(folder, exist_ok=True)
        config_path = posixpath.join(folder, RUN_CONFIG_FILE)
        if self.run_config is not None and not exists(fs, config_path):
            write_json(fs, config_path, converter.unstructure(self.run_config))
        if self.responses and not has_records(fs, folder):
            with fs.open(posixpath.join(folder, RESPONSES_FILE), "wb") as f:
                for response in self.responses:
                    f.write(response_line(response))
        write_json(fs, posixpath.join(folder, SUMMARY_FILE), self.summary())
        write_json(fs, posixpath.join(folder, STATS_FILE), self.stats)

    @classmethod
    def load(
        cls,
        result_path: str | os.PathLike[str],
        load_responses: bool = True,
        slos: Sequence[str] | None = None,
    ) -> Result:
        """Load a run folder from any fsspec URL.

        With ``load_responses=False`` no records are kept in memory; the
        statistics are the saved ones, or are recomputed by streaming the
        records when the run never wrote them (it was killed) or when `slos`
        are given: SLO attainment and goodput are then computed for those
        SLOs instead of the run's own, without a rerun. A folder holding
        no summary still loads from its configuration and records, marked
        `interrupted`. A folder saved by LLMeter (its documents have no
        ``schema_version``) is read by `llmeter_trio.compat.load_llmeter_result`.
        """
        from .compat import is_llmeter_run, load_llmeter_result  # compat imports this module

        url = os.fspath(result_path)
        if is_llmeter_run(url):
            return load_llmeter_result(url, load_responses=load_responses, slos=slos)
        fs, folder = resolve(url)
        summary_path = posixpath.join(folder, SUMMARY_FILE)
        config_path = posixpath.join(folder, RUN_CONFIG_FILE)
        stats_path = posixpath.join(folder, STATS_FILE)
        run_config = (
            converter.structure(_without_version(read_json(fs, config_path)), RunConfig)
            if exists(fs, config_path)
            else None
        )
        has_summary = exists(fs, summary_path)
        if not has_summary and run_config is None:
            raise FileNotFoundError(f"{url} holds no {SUMMARY_FILE} nor {RUN_CONFIG_FILE}")
        if slos is not None and run_config is not None:
            run_config = attrs.evolve(run_config, slos=[s.text for s in parse_slos(list(slos))])

        responses: list[InvocationResponse] = []
        run_stats: RunStats | None = None
        saved_stats: dict[str, Any] | None = None
        parsed = run_config.parsed_slos() if run_config else []
        if load_responses:
            responses = list(iter_responses(fs, folder))
            run_stats = RunStats.of(responses, parsed)
        elif has_summary and exists(fs, stats_path) and slos is None:
            saved_stats = _without_version(read_json(fs, stats_path))
            for name in attrs.fields_dict(cls):
                saved_stats.pop(name, None)  # summary fields come typed from summary.json
        else:
            run_stats = RunStats.of(iter_responses(fs, folder), parsed)

        if has_summary:
            result = converter.structure(_without_version(read_json(fs, summary_path)), cls)
        else:
            assert run_config is not None
            records = responses or list(iter_responses(fs, folder))
            result = summary_from_records(run_config, records, interrupted=True)
        result.responses = responses
        result.run_config = run_config
        result._run_stats = run_stats
        result._saved_stats = saved_stats
        if result.output_path is None:
            result.output_path = url
        return result


def summary_from_records(
    run_config: RunConfig | None, records: Sequence[InvocationResponse], *, interrupted: bool
) -> Result:
    """A `Result` summary rebuilt from a run's configuration and records, for folders that
    hold no summary (a killed run, or an old LLMeter folder)."""
    sent = [r.request_time for r in records if r.request_time is not None]
    ends = [
        r.request_time + timedelta(seconds=r.time_to_last_token or 0.0)
        for r in records
        if r.request_time is not None
    ]
    start = min(sent) if sent else None
    end = max(ends) if ends else None
    endpoint = run_config.endpoint_config if run_config is not None else {}
    return Result(
        total_requests=len(records),
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
        last_request_time=max(sent) if sent else None,
        end_time=end,
        interrupted=interrupted,
    )


def _without_version(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "schema_version"}


_HIDDEN = {
    name: override(omit=True) for name in ("responses", "run_config", "_run_stats", "_saved_stats")
}
converter.register_unstructure_hook(
    Result,
    make_dict_unstructure_fn(Result, converter, **_HIDDEN),  # type: ignore[arg-type]
)
converter.register_structure_hook(
    Result,
    make_dict_structure_fn(Result, converter, _cattrs_forbid_extra_keys=False, **_HIDDEN),  # type: ignore[arg-type]
)
