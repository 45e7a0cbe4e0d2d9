"""`llmeter-trio export`: a saved run's records as one CSV, Parquet or JSON Lines file.

One row per request (`Result.to_pandas`' rows); a load test, sweep, quota
search or heatmap gives one file whose first columns tell its runs or cells
apart (``clients``, ``load``, ``requests_per_minute``, ``input_length`` and
``output_length``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from typing import Any

import fsspec

from .._tables import columns_of, missing_extra, record_row
from ..json_utils import llmeter_default_serializer
from ..storage import display_url
from ._saved import record_groups

__all__ = ["FORMATS", "add_export_arguments", "export_command", "export_rows"]

FORMATS = ("csv", "parquet", "jsonl")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `llmeter-trio export`."""
    parser.add_argument("result", help="a run, load-test, sweep, quota or heatmap folder")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="default csv")
    parser.add_argument(
        "--out", metavar="FILE", help="file to write (default: the folder's path + .FORMAT)"
    )


def export_rows(path: str) -> list[dict[str, Any]]:
    """Every request of the saved folder as a flat row."""
    return [
        record_row(record, columns)
        for columns, records in record_groups(path)
        for record in records
    ]


def _write_csv(rows: list[dict[str, Any]], out: str) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns_of(rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with fsspec.open(out, "w", encoding="utf-8", newline="") as file:
        file.write(text.getvalue())


def _write_jsonl(rows: list[dict[str, Any]], out: str) -> None:
    with fsspec.open(out, "w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, default=llmeter_default_serializer) + "\n")


def _write_parquet(rows: list[dict[str, Any]], out: str) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise missing_extra("pyarrow") from None
    table = pa.table({name: [row.get(name) for row in rows] for name in columns_of(rows)})
    with fsspec.open(out, "wb") as file:
        pq.write_table(table, file)


_WRITERS = {"csv": _write_csv, "jsonl": _write_jsonl, "parquet": _write_parquet}


def export_command(args: argparse.Namespace) -> int:
    """Write the records of a saved folder to one file; print where."""
    out = args.out or f"{args.result.rstrip('/')}.{args.format}"
    rows = export_rows(args.result)
    if not rows:
        raise ValueError(f"{display_url(args.result)} holds no records to export")
    try:
        _WRITERS[args.format](rows, out)
    except ImportError as exc:  # the `export` extra is missing: one line, not a traceback
        raise ValueError(str(exc)) from None
    print(f"{len(rows)} requests written to {display_url(out)}")
    return 0
