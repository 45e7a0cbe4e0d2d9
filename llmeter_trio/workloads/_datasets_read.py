"""Reading a dataset file's records: JSON, JSONL, CSV, Parquet (pyarrow) and Hugging Face
`datasets` (a dataset saved with ``save_to_disk``, or local data files).

Every reader returns plain dicts. Files are read through fsspec (any URL
`llmeter_trio.storage.resolve` takes); nothing is ever fetched from a hub.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import posixpath
import sys
from collections.abc import Iterator
from typing import Any, Literal

from ..storage import loads, resolve

__all__ = ["FORMATS", "DatasetFormat", "detect_format", "read_records"]

DatasetFormat = Literal["sharegpt", "jsonl", "csv", "parquet", "hf"]
FORMATS: tuple[DatasetFormat, ...] = ("sharegpt", "jsonl", "csv", "parquet", "hf")
EXTRA = "pip install 'llmeter-trio[datasets]'"
_HF_SAVED = ("dataset_info.json", "state.json", "dataset_dict.json")
_OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def detect_format(url: str) -> DatasetFormat:
    """The format a path's extension says (a folder: a saved Hugging Face dataset).

    ``.json`` and ``.jsonl`` files are "jsonl" here; `read_records` reads
    either, and a file of conversations is then read as ShareGPT.
    """
    fs, path = resolve(url)
    if fs.isdir(path):
        return "hf"
    name = path.lower()
    for suffix, kind in ((".parquet", "parquet"), (".csv", "csv"), (".arrow", "hf")):
        if name.endswith(suffix):
            return kind  # type: ignore[return-value]
    if name.endswith((".json", ".jsonl", ".ndjson")):
        return "jsonl"
    raise ValueError(
        f"{url}: cannot tell the dataset's format from its name; "
        f"give it (--dataset-format {'|'.join(FORMATS)})"
    )


def read_records(url: str, kind: DatasetFormat, split: str | None = None) -> list[dict[str, Any]]:
    """Every record of the dataset at `url`, read as `kind`."""
    if kind == "hf":
        return _read_hf(url, split)
    fs, path = resolve(url)
    if not fs.isfile(path):
        raise FileNotFoundError(f"no dataset file at {url}")
    with fs.open(path, "rb") as file:
        data: bytes = file.read()
    if kind in ("sharegpt", "jsonl"):
        return _read_json(data, url)
    if kind == "csv":
        return _read_csv(data, url)
    if kind == "parquet":
        return _read_parquet(data, url)
    raise ValueError(f"unknown dataset format {kind!r}; the formats are {', '.join(FORMATS)}")


def _read_json(data: bytes, url: str) -> list[dict[str, Any]]:
    """A JSON list of objects, or JSONL (one object a line)."""
    text = data.lstrip()
    if text.startswith(b"["):
        try:
            document = loads(text)
        except ValueError as exc:
            raise ValueError(f"{url}: not valid JSON ({exc})") from None
        records = document
    else:
        records = []
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(loads(line))
            except ValueError:
                raise ValueError(f"{url}, line {number}: not valid JSON") from None
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise ValueError(f"{url}, record {index}: expected an object, not {record!r:.60}")
    return list(records)


def _read_csv(data: bytes, url: str) -> list[dict[str, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{url}: a CSV dataset must be UTF-8 text") from None
    return [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""))]


def _read_parquet(data: bytes, url: str) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(f"reading Parquet ({url}) needs pyarrow: {EXTRA}") from None
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow's errors are many; the file is what is wrong
        raise ValueError(f"{url}: not a Parquet file ({exc})") from None
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _is_url(url: str) -> bool:
    return "://" in url or url.startswith("file:")


def _read_hf(url: str, split: str | None) -> list[dict[str, Any]]:
    """A dataset saved with ``save_to_disk`` (a folder, local or any fsspec URL), or local
    data files read with the `datasets` library; never a name on the Hugging Face Hub."""
    if not _is_url(url) and not os.path.exists(url):
        raise FileNotFoundError(
            f"no dataset at {url}: give a local file or folder (a dataset saved with "
            "save_to_disk) or an fsspec URL; datasets are never downloaded from the Hub "
            "during a run (download it first, then save_to_disk)"
        )
    with _offline_datasets() as datasets:
        return _load_hf(datasets, url, split)


def _load_hf(datasets: Any, url: str, split: str | None) -> list[dict[str, Any]]:
    """The records of a saved dataset or local data file, read with `datasets`."""
    fs, path = resolve(url)
    if fs.isdir(path):
        if not any(fs.exists(posixpath.join(path, name)) for name in _HF_SAVED):
            raise ValueError(f"{url}: a folder, but not a dataset saved with save_to_disk")
        loaded = datasets.load_from_disk(url)
    else:
        if _is_url(url):
            raise ValueError(
                f"{url}: the hf format reads local data files or a saved dataset's folder; "
                "read a remote file with --dataset-format jsonl, csv or parquet"
            )
        builder = {"jsonl": "json", "csv": "csv", "parquet": "parquet", "hf": "arrow"}[
            detect_format(url)
        ]
        loaded = datasets.load_dataset(builder, data_files=url)
    if isinstance(loaded, datasets.DatasetDict):
        names = list(loaded)
        chosen = split if split is not None else ("train" if "train" in names else names[0])
        if chosen not in loaded:
            raise ValueError(f"{url}: no split {chosen!r}; it has {', '.join(names)}")
        loaded = loaded[chosen]
    elif split is not None and split != str(loaded.split or split):
        raise ValueError(f"{url}: a single split ({loaded.split}), not {split!r}")
    records: list[dict[str, Any]] = loaded.to_list()
    return records


@contextlib.contextmanager
def _offline_datasets() -> Iterator[Any]:
    """The `datasets` module in offline mode while the dataset loads: it fetches nothing.

    The environment and the library's flags are set back afterwards, so code of
    the user's that uses `datasets` later is not changed."""
    saved_environment = {name: os.environ.get(name) for name in _OFFLINE_FLAGS}
    os.environ.update(dict.fromkeys(_OFFLINE_FLAGS, "1"))
    saved_flags: list[tuple[Any, str, Any]] = []
    try:
        try:
            import datasets
        except ImportError:
            raise ImportError(
                f"the hf dataset format needs the datasets library: {EXTRA}"
            ) from None
        modules = [getattr(datasets, "config", None), sys.modules.get("huggingface_hub.constants")]
        for module in modules:  # read from the environment when imported: set here too
            for flag in _OFFLINE_FLAGS:
                if module is not None and hasattr(module, flag):
                    saved_flags.append((module, flag, getattr(module, flag)))
                    setattr(module, flag, True)
        yield datasets
    finally:
        for module, flag, value in reversed(saved_flags):
            setattr(module, flag, value)
        for name, value in saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
