"""LLMeter's ``llmeter.prompt_utils``, by its names and with its defaults.

For code written against LLMeter: `load_payloads` skips (and logs) lines that
are not JSON and reads ``.manifest`` files as JSONL; `save_payloads` writes
bytes as LLMeter's ``{"__llmeter_bytes__": ...}`` with `json.dumps`, so LLMeter
reads the file, and returns its `Path`. `CreatePromptCollection` and
`load_prompts` are llmeter-trio's own (`llmeter_trio.prompts`), whose
defaults are strict: a bad payload line raises, bytes get this project's tag.

    from llmeter_trio.prompt_utils import load_payloads, save_payloads

    path = save_payloads({"image": b"\\xff\\xd8"}, "payloads")
    assert list(load_payloads(path)) == [{"image": b"\\xff\\xd8"}]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .prompts import CreatePromptCollection as CreatePromptCollection
from .prompts import load_payloads as _load_payloads
from .prompts import load_prompts as load_prompts
from .prompts import save_payloads as _save_payloads
from .prompts._media import AudioContent as AudioContent
from .prompts._media import ContentItem as ContentItem
from .prompts._media import DocumentContent as DocumentContent
from .prompts._media import ImageContent as ImageContent
from .prompts._media import MediaContent as MediaContent
from .prompts._media import VideoContent as VideoContent
from .prompts._media import detect_format as detect_format
from .prompts._media import detect_format_from_bytes as detect_format_from_bytes
from .prompts._media import detect_format_from_extension as detect_format_from_extension
from .prompts._media import detect_format_from_file as detect_format_from_file
from .prompts._media import read_file as read_file

__all__ = [
    "AudioContent",
    "ContentItem",
    "CreatePromptCollection",
    "DocumentContent",
    "ImageContent",
    "MediaContent",
    "VideoContent",
    "detect_format",
    "detect_format_from_bytes",
    "detect_format_from_extension",
    "detect_format_from_file",
    "load_payloads",
    "load_prompts",
    "read_file",
    "save_payloads",
]


def load_payloads(file_path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every payload of a JSON, JSONL or ``.manifest`` file, or of a folder's JSON files.

    `llmeter_trio.prompts.load_payloads` with LLMeter's leniency: a line or
    file that is not JSON is logged and skipped. Bytes come back as bytes.
    """
    return _load_payloads(file_path, invalid_json="skip")


def save_payloads(
    payloads: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    output_path: str | os.PathLike[str],
    output_file: str = "payload.jsonl",
) -> Path | str:
    """Write payloads as LLMeter does, to ``{output_path}/{output_file}``; returns its `Path`.

    Bytes are written as ``{"__llmeter_bytes__": base64}`` and objects with
    ``to_dict()`` as that dict, so both LLMeter and llmeter-trio read the file
    back. For an fsspec URL (``s3://...``) the URL is returned.
    """
    return _save_payloads(payloads, output_path, output_file, bytes_format="llmeter")
