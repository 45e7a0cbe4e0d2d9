"""Tokenizer documents as LLMeter saves them: ``{"tokenizer_module": ..., "name": ...}``.

LLMeter writes one of three shapes: ``{"tokenizer_module": "llmeter"}`` for its
whitespace tokenizer, ``{"tokenizer_module": "transformers", "name": ...}`` for
a Hugging Face ``transformers`` tokenizer and ``{"tokenizer_module":
"tiktoken", "name": ...}`` for a tiktoken encoding. llmeter-trio's own
tokenizers are written as ``{"tokenizer_module": "llmeter_trio", **config}``
(their `tokenizer_to_config` form), so they load back as they were.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping
from typing import Any

from ..storage import open_atomic, resolve
from ._base import DummyTokenizer, Tokenizer, tokenizer_to_config
from ._files import read_bytes, require

__all__ = ["load_tokenizer", "load_tokenizer_file", "save_tokenizer", "tokenizer_document"]

MODULE_KEY = "tokenizer_module"
_OURS = ("llmeter_trio", "llmeter")  # LLMeter's own module is its whitespace tokenizer


def _module_of(tokenizer: Any) -> str:
    return str(getattr(type(tokenizer), "__module__", "")).split(".")[0]


def tokenizer_document(tokenizer: Any) -> dict[str, Any]:
    """The saved form of a tokenizer, in LLMeter's shape (`Tokenizer.to_dict`).

    A ``transformers`` tokenizer is saved by its ``name_or_path``, a tiktoken
    encoding by its ``name``; an llmeter-trio tokenizer, or a plugin's with
    ``to_config()``, by its config. Any other raises ValueError (``Unknown
    tokenizer module``).
    """
    module = _module_of(tokenizer)
    if module == "transformers":
        return {MODULE_KEY: "transformers", "name": tokenizer.name_or_path}
    if module == "tiktoken":
        return {MODULE_KEY: "tiktoken", "name": tokenizer.name}
    if module == "llmeter_trio" or callable(getattr(tokenizer, "to_config", None)):
        config = tokenizer_to_config(tokenizer) or {}
        if config.get("tokenizer_type") in (None, DummyTokenizer.tokenizer_type):
            return {MODULE_KEY: "llmeter_trio"}
        return {MODULE_KEY: "llmeter_trio", **config}
    raise ValueError(
        f"Unknown tokenizer module: {type(tokenizer).__module__} (a transformers, tiktoken or "
        "llmeter-trio tokenizer, or a plugin's with to_config(), can be saved)"
    )


def _transformers(name: str) -> Any:
    """``AutoTokenizer.from_pretrained(name)``; without transformers, a local tokenizer.json."""
    try:
        transformers = importlib.import_module("transformers")
    except ImportError:
        local = os.path.join(name, "tokenizer.json")
        if os.path.isfile(local):
            from ._huggingface import HuggingFaceTokenizer

            return HuggingFaceTokenizer.from_file(local)
        raise ImportError(
            f"the saved tokenizer {name!r} is a Hugging Face transformers tokenizer: "
            "pip install transformers, or give a local folder holding its tokenizer.json"
        ) from None
    return transformers.AutoTokenizer.from_pretrained(name)


def load_tokenizer(document: Mapping[str, Any]) -> Tokenizer:
    """The tokenizer a saved document describes (`Tokenizer.load`), in either tool's shape.

    ``transformers`` documents need the ``transformers`` package (or, without
    it, ``name`` a local folder holding ``tokenizer.json``); ``tiktoken``
    documents the ``tiktoken`` package, whose `get_encoding` may download the
    encoding on first use. llmeter-trio's own config form
    (``{"tokenizer_type": ...}``) is read too.
    """
    if MODULE_KEY not in document:
        if "tokenizer_type" in document:
            from ..plugins import tokenizer_from_config

            rebuilt = tokenizer_from_config(document)
            return rebuilt if rebuilt is not None else DummyTokenizer()
        raise ValueError(
            f"not a saved tokenizer (no {MODULE_KEY!r} or 'tokenizer_type'): {dict(document)!r}"
        )
    module = document[MODULE_KEY]
    if module == "transformers":
        tokenizer: Tokenizer = _transformers(document["name"])
        return tokenizer
    if module == "tiktoken":
        library = require("tiktoken", "tiktoken", f"the saved tokenizer {document.get('name')!r}")
        encoding: Tokenizer = library.get_encoding(document["name"])
        return encoding
    if module in _OURS:
        options = {k: v for k, v in document.items() if k != MODULE_KEY}
        if options.get("tokenizer_type") in (None, DummyTokenizer.tokenizer_type):
            return DummyTokenizer()
        return load_tokenizer(options)
    raise ValueError(f"Unknown tokenizer module: {module!r} (transformers, tiktoken or llmeter)")


def load_tokenizer_file(tokenizer_path: str | os.PathLike[str] | None) -> Tokenizer:
    """The tokenizer saved in a JSON file (`Tokenizer.load_from_file`); None is the default one."""
    if tokenizer_path is None:
        return DummyTokenizer()
    where = os.fspath(tokenizer_path)
    try:
        document = json.loads(read_bytes(where))
    except ValueError as exc:
        raise ValueError(f"{where} is not a saved tokenizer: not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ValueError(f"{where} is not a saved tokenizer: expected a JSON object")
    return load_tokenizer(document)


def save_tokenizer(tokenizer: Any, output_path: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """Save a tokenizer's document as JSON at `output_path` and return `output_path`.

    The folder is made when needed; `output_path` is a local path or any fsspec URL.
    """
    document = tokenizer_document(tokenizer)
    fs, path = resolve(os.fspath(output_path))
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        fs.makedirs(parent, exist_ok=True)
    with open_atomic(fs, path) as f:
        f.write(json.dumps(document).encode())
    return output_path
