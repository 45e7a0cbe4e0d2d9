"""``--dataset``: a dataset's rows as the payloads (`llmeter_trio.workloads.Dataset`), and
``run --dataset-timestamps``: its arrival times as the schedule."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import posixpath
import random
import tempfile
from typing import Any

from .._checks import check_number
from ..endpoints import Endpoint
from ..results import holds_run
from ..storage import display_url, resolve
from ..tokenizers import Tokenizer
from ..workloads import DATASET_FORMATS, ColumnMap, Dataset

__all__ = [
    "TRACE_FILE",
    "add_dataset_arguments",
    "add_dataset_timestamp_arguments",
    "dataset_payloads",
    "use_dataset_timestamps",
]

TRACE_FILE = "dataset_trace.jsonl"  # written into the run folder: a replay reads it there


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """The dataset's options (``--dataset`` itself is in the payload source group)."""
    group = parser.add_argument_group("datasets (docs/workloads.md#datasets)")
    add = group.add_argument
    add(
        "--dataset-format",
        choices=DATASET_FORMATS,
        help="how to read --dataset (default: from its extension; a folder is hf)",
    )
    add(
        "--column",
        action="append",
        default=[],
        metavar="ROLE=NAME",
        help="the column holding prompt, system, output_length, answer or timestamp "
        "(repeatable; default prompt=prompt)",
    )
    add("--dataset-split", metavar="SPLIT", help="hf: the split of a saved DatasetDict")
    add("--min-input-length", type=int, metavar="TOKENS", help="leave out shorter prompts")
    add("--max-input-length", type=int, metavar="TOKENS", help="leave out longer prompts")
    add("--min-output-length", type=int, metavar="TOKENS", help="leave out shorter answers")
    add("--max-output-length", type=int, metavar="TOKENS", help="leave out longer answers")
    add("--sample", type=int, metavar="N", help="N rows drawn with the run's --seed")
    add(
        "--sample-with-replacement",
        action="store_true",
        help="--sample may draw a row more than once (and more rows than there are)",
    )


def add_dataset_timestamp_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dataset-timestamps`` and its unit (`llmeter-trio run` only)."""
    group = parser.add_argument_group("dataset timestamps as the schedule")
    group.add_argument(
        "--dataset-timestamps",
        action="store_true",
        help="send each row when its timestamp says (relative to the first; --time-scale "
        "speeds it up), written as a trace into the run folder",
    )
    group.add_argument(
        "--timestamp-unit",
        choices=("s", "ms"),
        help="numeric timestamps are seconds (s, the default) or milliseconds (ms); "
        "text timestamps are ISO 8601 datetimes",
    )


def _columns(pairs: list[str]) -> ColumnMap | None:
    """``ROLE=NAME`` pairs as a column map (a config file's values come JSON-quoted)."""
    if not pairs:
        return None
    items: dict[str, str] = {}
    for pair in pairs:
        role, sep, name = pair.partition("=")
        name = name.strip()
        if name.startswith('"'):
            with contextlib.suppress(ValueError):
                name = str(json.loads(name))
        if not sep or not role.strip() or not name:
            raise ValueError(f"--column {pair!r}: expected ROLE=NAME, e.g. prompt=question")
        items[role.strip()] = name
    return ColumnMap.parse(items)


def load_dataset(args: argparse.Namespace, tokenizer: Tokenizer | None = None) -> Dataset:
    """The dataset the options describe: read, filtered, sampled with the run's seed; its
    lengths measured with `tokenizer` (``--tokenizer``, default one word a token)."""
    for flag in ("min_input_length", "max_input_length", "min_output_length", "max_output_length"):
        check_number(f"--{flag.replace('_', '-')}", getattr(args, flag), whole=True, at_least=0)
    check_number("--sample", args.sample, whole=True)
    try:
        dataset = Dataset.load(
            args.dataset,
            args.dataset_format,
            columns=_columns(args.column),
            split=args.dataset_split,
            tokenizer=tokenizer,
        )
    except ImportError as exc:  # an extra is missing: a usage error, said in one line
        raise ValueError(str(exc)) from None
    dataset = dataset.filter(
        min_input_tokens=args.min_input_length,
        max_input_tokens=args.max_input_length,
        min_output_tokens=args.min_output_length,
        max_output_tokens=args.max_output_length,
    )
    if args.sample is not None:
        if getattr(args, "seed", None) is None:  # drawn now, and saved with the run
            args.seed = random.randrange(2**32)
        dataset = dataset.sample(args.sample, args.seed, replace=args.sample_with_replacement)
    elif args.sample_with_replacement:
        raise ValueError("--sample-with-replacement needs --sample N")
    return dataset


def dataset_payloads(
    args: argparse.Namespace, endpoint: Endpoint, tokenizer: Tokenizer | None = None
) -> list[dict[str, Any]]:
    """The payloads of ``--dataset`` for `endpoint`; the dataset is kept on `args` for
    `use_dataset_timestamps`."""
    dataset = load_dataset(args, tokenizer)
    args.loaded_dataset = dataset
    return dataset.payloads(endpoint, max_tokens=args.max_tokens)


def use_dataset_timestamps(args: argparse.Namespace) -> None:
    """With ``--dataset-timestamps``, write the dataset's trace (into the run folder, so
    ``run --replay`` finds it) and make it the schedule (``--schedule trace``)."""
    if not args.dataset_timestamps:
        if args.timestamp_unit is not None:
            raise ValueError("--timestamp-unit needs --dataset-timestamps")
        return
    dataset: Dataset | None = getattr(args, "loaded_dataset", None)
    if dataset is None:
        raise ValueError("--dataset-timestamps needs --dataset PATH")
    if args.schedule is not None or args.trace is not None:
        raise ValueError("--dataset-timestamps is the schedule: leave out --schedule and --trace")
    if args.output is None:
        folder = tempfile.mkdtemp(prefix="llmeter-trio-trace-")
    else:
        fs, where = resolve(args.output)
        if holds_run(fs, where):
            raise FileExistsError(
                f"{display_url(args.output)} already holds a run; choose another --output"
            )
        folder = os.path.abspath(args.output) if "://" not in args.output else args.output
    path = posixpath.join(folder, TRACE_FILE)
    dataset.trace(path, timestamp_unit=args.timestamp_unit or "s")
    args.schedule, args.trace = "trace", path
