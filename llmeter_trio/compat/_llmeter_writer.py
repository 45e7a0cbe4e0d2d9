"""Writing a `Result` as LLMeter (awslabs/llmeter) writes its run folders, for LLMeter to read.

LLMeter builds its ``Result`` and ``InvocationResponse`` from ``summary.json``
and each line of ``responses.jsonl`` by keyword, so those documents hold
LLMeter's fields and nothing else (those llmeter-trio's classes take
positionally, in LLMeter's order). Values are written by
LLMeter's `~llmeter_trio.json_utils.llmeter_default_serializer` (times in UTC
to the second, bytes as ``{"__llmeter_bytes__": ...}``), indented as LLMeter
indents them. ``stats.json`` is `Result.stats`, every key of it.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from ..endpoints import InvocationResponse
from ..json_utils import llmeter_default_serializer
from ..results import STATS_FILE, SUMMARY_FILE, Result
from ..storage import RESPONSES_FILE, Location, has_records, location, open_atomic

__all__ = ["LLMETER_RECORD_FIELDS", "LLMETER_SUMMARY_FIELDS", "save_llmeter_result"]

# LLMeter's own fields, in LLMeter's order: llmeter-trio's classes take these positionally
LLMETER_RECORD_FIELDS = (
    "response_text",
    "input_payload",
    "id",
    "input_prompt",
    "time_to_first_token",
    "time_to_last_token",
    "num_tokens_input",
    "num_tokens_output",
    "num_tokens_input_cached",
    "num_tokens_output_reasoning",
    "time_per_output_token",
    "error",
    "retries",
    "request_time",
)
LLMETER_SUMMARY_FIELDS = (
    "total_requests",
    "clients",
    "n_requests",
    "total_test_time",
    "model_id",
    "output_path",
    "endpoint_name",
    "provider",
    "run_name",
    "run_description",
    "start_time",
    "first_request_time",
    "last_request_time",
    "end_time",
)


def save_llmeter_result(result: Result, output_path: Location, *, overwrite: bool = False) -> None:
    """Write `result` into `output_path` (any fsspec URL, path or ``UPath``) as LLMeter does.

    ``summary.json``, ``stats.json`` and ``responses.jsonl`` (records already
    there are kept, as `Result.save` keeps them), each document written whole
    or not at all. What LLMeter has no field for (error classes, chunk
    timelines, run configuration) is left out, so `Result.load` of such a
    folder reads it as an LLMeter folder. A folder holding another run is
    refused as by `Result.save`.
    """
    summary = _text(llmeter_summary(result), indent=4)
    fs, folder = result.claim_folder(output_path, summary.encode(), overwrite=overwrite)
    if result.responses and not has_records(fs, folder):
        with open_atomic(fs, posixpath.join(folder, RESPONSES_FILE)) as f:
            for response in result.responses:
                f.write((_text(llmeter_record(response)) + "\n").encode())
    with open_atomic(fs, posixpath.join(folder, SUMMARY_FILE)) as f:
        f.write(summary.encode())
    with open_atomic(fs, posixpath.join(folder, STATS_FILE)) as f:
        f.write(_text(result.stats, indent=4).encode())


def llmeter_summary(result: Result) -> dict[str, Any]:
    """`result`'s summary as LLMeter's ``summary.json`` holds it (LLMeter's fields only)."""
    summary = {name: getattr(result, name) for name in LLMETER_SUMMARY_FIELDS}
    if summary["output_path"] is not None:
        summary["output_path"] = location(summary["output_path"])
    return summary


def llmeter_record(response: InvocationResponse) -> dict[str, Any]:
    """One record as a line of LLMeter's ``responses.jsonl`` holds it (LLMeter's fields only)."""
    return {name: getattr(response, name) for name in LLMETER_RECORD_FIELDS}


def _text(document: dict[str, Any], indent: int | None = None) -> str:
    return json.dumps(document, default=llmeter_default_serializer, indent=indent)
