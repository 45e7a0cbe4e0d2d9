"""Reading the run folders LLMeter (awslabs/llmeter) writes, into llmeter-trio's `Result`.

LLMeter's run folder holds ``run_config.json``, ``payload.jsonl``,
``responses.jsonl``, ``summary.json`` and ``stats.json``, none of them with a
``schema_version``. Its JSON has datetimes as UTC ISO strings ending in ``Z``
(second precision), bytes as ``{"__llmeter_bytes__": base64}``, endpoints and
tokenizers as ``{"__llmeter_class__", "__llmeter_state__"}`` envelopes (or, up
to LLMeter 0.1.12, dicts with an ``endpoint_type``), and may hold ``NaN``.

Statistics are recomputed from the records with llmeter-trio's one stats
engine, so an old LLMeter run and a new run compare like for like (pass
``percentile_method="llmeter"`` for LLMeter's percentile rule). LLMeter's own
saved ``stats.json`` stays beside them, as saved, in `Result.llmeter_stats`.
Only a folder without records falls back to it for `Result.stats`.
"""

from __future__ import annotations

import json
import math
import posixpath
import warnings
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from datetime import datetime, timezone
from typing import Any

import fsspec

from ..endpoints import InvocationResponse
from ..json_utils import llmeter_bytes_decoder
from ..results import RUN_CONFIG_FILE, STATS_FILE, SUMMARY_FILE, Result, SavedRun
from ..run_config import RunConfig
from ..stats import PercentileMethod
from ..storage import (
    RESPONSES_FILE,
    Location,
    display_url,
    exists,
    iter_lines,
    location,
    resolve,
)

__all__ = ["is_llmeter_run", "iter_llmeter_responses", "load_llmeter_result", "read_llmeter_run"]

PAYLOAD_FILE = "payload.jsonl"
_CLASS_KEY = "__llmeter_class__"
_STATE_KEY = "__llmeter_state__"
_LLMETER_DUMMY_TOKENIZER = "llmeter.tokenizers.DummyTokenizer"

# InvocationResponse fields LLMeter also has, by kind
_TEXT_FIELDS = ("response_text", "id", "error")
_SECONDS_FIELDS = (
    "time_to_first_token",
    "time_to_first_content_token",
    "time_to_last_token",
    "time_per_output_token",
)
_COUNT_FIELDS = (
    "num_tokens_input",
    "num_tokens_output",
    "num_tokens_input_cached",
    "num_tokens_output_reasoning",
    "retries",
)
_KNOWN_RESPONSE_KEYS = frozenset(
    {*_TEXT_FIELDS, *_SECONDS_FIELDS, *_COUNT_FIELDS}
    | {"input_payload", "input_prompt", "request_time", "annotations", "reasoning_type"}
)
_TIME_FIELDS = ("start_time", "first_request_time", "last_request_time", "end_time")


# -- detection -------------------------------------------------------------------


def is_llmeter_run(result_path: Location) -> bool:
    """Whether a folder (any fsspec URL) holds a run saved by LLMeter, not by llmeter-trio."""
    fs, folder = resolve(result_path)
    return _is_llmeter_folder(fs, folder)


def _is_llmeter_folder(fs: fsspec.AbstractFileSystem, folder: str) -> bool:
    """LLMeter's documents carry no ``schema_version``; llmeter-trio's always do.

    A damaged document is passed over. A folder with records only is
    LLMeter's when its first record has none of the fields llmeter-trio
    always writes (``chunks``, ``error_class``).
    """
    for name in (SUMMARY_FILE, RUN_CONFIG_FILE, STATS_FILE):
        path = posixpath.join(folder, name)
        if exists(fs, path):
            try:
                document = _read_document(fs, path)
            except ValueError:
                continue  # damaged: it tells nothing (loading it will say what is wrong)
            if isinstance(document, dict):
                return "schema_version" not in document
    records = posixpath.join(folder, RESPONSES_FILE)
    if exists(fs, records):
        with closing(_read_records(fs, records)) as lines:
            first = next(lines, None)
        return first is not None and "chunks" not in first and "error_class" not in first
    return False


# -- loading ---------------------------------------------------------------------


def load_llmeter_result(
    result_path: Location,
    load_responses: bool = True,
    slos: Sequence[str] | None = None,
    percentile_method: PercentileMethod | None = None,
) -> Result:
    """Load a run folder written by LLMeter (any fsspec URL) as a `Result`.

    `Result.load` calls this by itself for LLMeter folders; call it directly to
    insist on LLMeter's format. Records become `InvocationResponse` objects:
    LLMeter's ``reasoning_type`` and any field llmeter-trio does not have go to
    ``annotations``, a non-text ``input_prompt`` becomes its JSON text, and
    failures have no `error_class` (``errors_by_class`` counts them as
    ``other``). The endpoint configuration keeps LLMeter's class name under
    ``endpoint_type`` as ``"llmeter:<class>"``: llmeter-trio cannot rebuild it.

    With ``load_responses=False`` no records are kept; statistics are still
    computed from them, streamed. A folder without records uses LLMeter's
    ``stats.json`` as saved (LLMeter's percentile rule, its keys); with
    records, that file is kept as saved in `Result.llmeter_stats`. The
    result's `output_path` is `result_path`. `slos` (e.g. ``["ttft_p99<=500ms"]``)
    add SLO attainment and goodput, and `percentile_method` picks the
    percentile rule, as for `Result.load`.
    """
    saved = read_llmeter_run(location(result_path))
    return Result.from_saved_run(
        saved, load_responses=load_responses, slos=slos, percentile_method=percentile_method
    )


def read_llmeter_run(url: str) -> SavedRun:
    """The parts of a run folder written by LLMeter, for `Result.from_saved_run`."""
    fs, folder = resolve(url)
    if not _is_llmeter_folder(fs, folder):
        raise ValueError(
            f"{display_url(url)} does not hold a run saved by LLMeter (its documents have a "
            "schema_version, or it holds no run): load it with Result.load"
        )
    summary_path = posixpath.join(folder, SUMMARY_FILE)
    stats_path = posixpath.join(folder, STATS_FILE)
    config_path = posixpath.join(folder, RUN_CONFIG_FILE)
    records_path = posixpath.join(folder, RESPONSES_FILE)
    has_records = exists(fs, records_path)
    if not has_records and not exists(fs, stats_path):
        raise FileNotFoundError(
            f"Cannot recover run from {display_url(url)}: it holds neither {RESPONSES_FILE} "
            f"nor {STATS_FILE}. There is no data to recover."
        )
    run_config = None
    if exists(fs, config_path):
        try:  # as LLMeter: a damaged configuration is left out, the run still loads
            run_config = _run_config(_read_object(fs, config_path), fs, folder, url)
        except ValueError as exc:
            warnings.warn(f"{exc}: the run configuration is left out", stacklevel=2)
    saved_stats: dict[str, Any] | None = None
    stats_problem: str | None = None
    if exists(fs, stats_path):
        try:
            saved_stats = _read_object(fs, stats_path)
        except ValueError as exc:
            if not has_records:
                raise
            stats_problem = str(exc)  # as LLMeter: recomputed from the records
    ended = exists(fs, summary_path)
    summary: dict[str, Any] | None = None
    if ended:
        summary = _summary(_read_object(fs, summary_path), summary_path, url)
    elif not has_records:  # statistics only: its summary fields are at the top of stats.json
        summary = _summary(saved_stats or {}, stats_path, url)

    def records() -> Iterator[InvocationResponse]:
        with fs.open(records_path, "rb") as f:
            yield from iter_lines(f, records_path, _response_line)

    return SavedRun(
        where=url,
        summary=summary,
        run_config=run_config,
        records=records if has_records else None,
        # LLMeter's statistics follow its own rules: recomputed whenever there are records
        saved_stats=None if has_records else saved_stats,
        llmeter_stats=saved_stats,
        stats_problem=stats_problem,
        # no summary.json: LLMeter was stopped before it saved one
        interrupted=not ended or bool(saved_stats and saved_stats.get("interrupted")),
    )


def iter_llmeter_responses(result_path: Location) -> Iterator[InvocationResponse]:
    """The records of an LLMeter run folder, one at a time (none if it has no records)."""
    records = read_llmeter_run(location(result_path)).records
    if records is not None:
        yield from records()


def _summary(saved: dict[str, Any], path: str, url: str) -> dict[str, Any]:
    """LLMeter's summary fields (also at the top of stats.json), as ``summary.json`` holds them.

    The `output_path` is where the folder is now: LLMeter's saved path is often
    relative to another directory.
    """
    try:
        times = {name: _iso_time(saved.get(name)) for name in _TIME_FIELDS}
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return {
        "total_requests": int(_count(saved.get("total_requests")) or 0),
        "clients": int(_count(saved.get("clients")) or 1),
        "n_requests": _count(saved.get("n_requests")),
        "total_test_time": _seconds(saved.get("total_test_time")),
        "model_id": _text(saved.get("model_id")),
        "output_path": url,
        "endpoint_name": _text(saved.get("endpoint_name")),
        "provider": _text(saved.get("provider")),
        "run_name": _text(saved.get("run_name")),
        "run_description": _text(saved.get("run_description")),
        **times,
        "interrupted": bool(saved.get("interrupted")),
    }


def _response(record: dict[str, Any]) -> InvocationResponse:
    """One LLMeter record as an InvocationResponse."""
    annotations = record.get("annotations")
    extra: dict[str, Any] = dict(annotations) if isinstance(annotations, dict) else {}
    for key, value in record.items():
        if key not in _KNOWN_RESPONSE_KEYS:
            extra.setdefault(key, value)  # e.g. LLMeter's legacy cost_* keys
    if record.get("reasoning_type") is not None:
        extra.setdefault("reasoning_type", record["reasoning_type"])
    prompt = record.get("input_prompt")
    payload = record.get("input_payload")
    return InvocationResponse(
        response_text=_text(record.get("response_text")),
        id=_text(record.get("id")),
        error=_text(record.get("error")),
        input_payload=payload if isinstance(payload, dict) else None,
        input_prompt=prompt if prompt is None or isinstance(prompt, str) else json.dumps(prompt),
        request_time=_parse_time(record.get("request_time")),
        annotations=extra,
        time_to_first_token=_seconds(record.get("time_to_first_token")),
        time_to_first_content_token=_seconds(record.get("time_to_first_content_token")),
        time_to_last_token=_seconds(record.get("time_to_last_token")),
        time_per_output_token=_seconds(record.get("time_per_output_token")),
        num_tokens_input=_count(record.get("num_tokens_input")),
        num_tokens_output=_count(record.get("num_tokens_output")),
        num_tokens_input_cached=_count(record.get("num_tokens_input_cached")),
        num_tokens_output_reasoning=_count(record.get("num_tokens_output_reasoning")),
        retries=_count(record.get("retries")),
    )


def _run_config(
    document: dict[str, Any], fs: fsspec.AbstractFileSystem, folder: str, url: str
) -> RunConfig:
    """LLMeter's run_config.json as a RunConfig (payloads from payload.jsonl when present)."""
    payload_path = posixpath.join(folder, PAYLOAD_FILE)
    payloads = (
        [p for p in _read_records(fs, payload_path) if isinstance(p, dict)]
        if exists(fs, payload_path)
        else []
    )
    inline = document.get("payload")
    if not payloads and isinstance(inline, dict | list):
        payloads = (
            [inline] if isinstance(inline, dict) else [p for p in inline if isinstance(p, dict)]
        )
    timeout = _seconds(document.get("timeout"))
    return RunConfig(
        endpoint_config=_endpoint_config(document.get("endpoint")),
        tokenizer_config=_tokenizer_config(document.get("tokenizer")),
        clients=int(document.get("clients") or 1),
        n_requests=_count(document.get("n_requests")) or None,  # 0 meant "time-bound"
        run_duration=_seconds(document.get("run_duration")),
        timeout=timeout if timeout and timeout > 0 else None,
        run_name=_text(document.get("run_name")),
        run_description=_text(document.get("run_description")),
        low_memory=bool(document.get("low_memory")),
        output_path=url,
        payload=payloads,
    )


def _endpoint_config(saved: Any) -> dict[str, Any]:
    """``{"endpoint_type": "llmeter:<class>", **options}`` from either LLMeter format."""
    if not isinstance(saved, dict):
        return {"endpoint_type": "llmeter:unknown"}
    if _CLASS_KEY in saved:
        state = saved.get(_STATE_KEY)
        options = dict(state) if isinstance(state, dict) else {}
        return {**options, "endpoint_type": f"llmeter:{saved[_CLASS_KEY]}"}
    options = dict(saved)  # LLMeter <= 0.1.12: {"endpoint_type": "ClassName", ...}
    return {**options, "endpoint_type": f"llmeter:{options.get('endpoint_type', 'unknown')}"}


def _tokenizer_config(saved: Any) -> dict[str, Any] | None:
    """LLMeter's DummyTokenizer (split on whitespace) is ours; others are kept as described."""
    if not isinstance(saved, dict):
        return None
    if (
        saved.get(_CLASS_KEY) == _LLMETER_DUMMY_TOKENIZER
        or saved.get("tokenizer_module") == "llmeter"
    ):
        return {"tokenizer_type": "dummy"}
    if _CLASS_KEY in saved:
        state = saved.get(_STATE_KEY)
        options = dict(state) if isinstance(state, dict) else {}
        return {**options, "tokenizer_type": None, "llmeter_class": saved[_CLASS_KEY]}
    return {**saved, "tokenizer_type": None}


# -- reading LLMeter's JSON --------------------------------------------------------


def _restore(value: Any) -> Any:
    """Bytes from ``{"__llmeter_bytes__": base64}``; NaN and infinities become None."""
    if isinstance(value, dict):
        decoded = llmeter_bytes_decoder(value)
        if isinstance(decoded, bytes):
            return decoded
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _read_document(fs: fsspec.AbstractFileSystem, path: str) -> Any:
    with fs.open(path, "rb") as f:
        data = f.read()
    try:
        return _restore(json.loads(data))  # the stdlib parser: LLMeter may write NaN
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None


def _read_object(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, Any]:
    document = _read_document(fs, path)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(document).__name__}")
    return document


def _json_object(line: bytes) -> dict[str, Any]:
    try:
        record = _restore(json.loads(line))
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    return record


def _response_line(line: bytes) -> InvocationResponse:
    record = _json_object(line)
    try:
        return _response(record)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a response record ({exc})") from None


def _read_records(fs: fsspec.AbstractFileSystem, path: str) -> Generator[dict[str, Any]]:
    """The objects of a JSONL file, one line at a time; a last line cut short (a crash) is
    skipped."""
    with fs.open(path, "rb") as f:
        yield from iter_lines(f, path, _json_object)


def _parse_time(value: Any) -> datetime | None:
    """LLMeter's ``"2025-01-15T10:00:00Z"`` (naive times are taken as UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"  # Python 3.10's fromisoformat has no "Z"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date-time: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _iso_time(value: Any) -> str | None:
    parsed = _parse_time(value)
    return None if parsed is None else parsed.isoformat()


def _seconds(value: Any) -> float | None:
    """A number of seconds; None for anything else (LLMeter may save a duration otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _count(value: Any) -> int | None:
    seconds = _seconds(value)
    return None if seconds is None else int(seconds)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
