"""Prices as data: a table, a file (JSON or TOML) or a preset, made into a `CostModel`.

A price table maps what is billed to its price, in one currency::

    {"input": 3.0, "output": 15.0}                      # per million tokens
    {"input": 3.0, "cached_input": 0.3, "cache_write": 3.75, "output": 15.0}
    {"instance_hour": 1.21, "instances": 2}             # per instance-hour
    {"endpoint_hour": 5.0}                               # per hour the endpoint is up

Keys: ``input``, ``output``, ``cached_input``, ``cache_write``, ``reasoning``
(charged on top of output: see `dimensions`), ``instance_hour`` with
``instances``, and ``endpoint_hour``; ``as_of``, ``source``, ``currency``,
``note`` and ``description`` are notes. With ``cached_input`` or
``cache_write``, ``input`` prices the uncached input only (cache writes
default to the input price).

A file holds one table (JSON or TOML), or a saved `CostModel` (JSON). A
preset is ``PROVIDER/MODEL`` (``"openai/gpt-4o-mini"``, see `preset_names`):
public list prices kept in this package's ``prices/`` folder, each file dated
with the page it was read from. Prices change: check them before use.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from importlib import resources
from typing import Any

from ..._checks import check_number
from ...storage import resolve
from .dimensions import (
    CachedInputTokens,
    CacheWriteTokens,
    EndpointTime,
    InputTokens,
    InstanceHours,
    OutputTokens,
    ReasoningTokens,
    UncachedInputTokens,
)
from .model import CostModel

__all__ = ["PRICE_KEYS", "cost_model_from_prices", "load_prices", "preset_names"]

PRICE_KEYS = (
    "input",
    "output",
    "cached_input",
    "cache_write",
    "reasoning",
    "instance_hour",
    "instances",
    "endpoint_hour",
)
NOTE_KEYS = ("as_of", "source", "currency", "note", "description")
_FILE_SUFFIXES = (".json", ".toml")


def _preset_files() -> dict[str, dict[str, Any]]:
    """Each provider's preset file, parsed, by provider name."""
    folder = resources.files(__package__).joinpath("prices")
    return {
        entry.name.removesuffix(".json"): json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }


def preset_names() -> list[str]:
    """Every preset's name, ``PROVIDER/MODEL``, sorted."""
    return sorted(
        f"{provider}/{model}"
        for provider, document in _preset_files().items()
        for model in document.get("models", {})
    )


def _preset(name: str) -> dict[str, Any] | None:
    provider, _, model = name.partition("/")
    document = _preset_files().get(provider)
    if document is None or model not in document.get("models", {}):
        return None
    notes = {k: document[k] for k in NOTE_KEYS if k in document}
    return {**notes, **document["models"][model]}


def _toml(text: str, path: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)
    raise ValueError(f"reading {path}: TOML price files need Python 3.11 or later; use JSON")


def _read_file(path: str) -> dict[str, Any]:
    fs, local = resolve(path)
    if not fs.exists(local):
        raise FileNotFoundError(f"price file {path} does not exist")
    with fs.open(local, "rb") as f:
        data = f.read()
    try:
        document = _toml(data.decode(), path) if path.endswith(".toml") else json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"price file {path} is not valid: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError(f"price file {path} must hold a table of prices")
    return document


def load_prices(source: Mapping[str, Any] | str) -> dict[str, Any]:
    """The price table (or saved `CostModel` dict) that `source` is or names.

    `source` is a table, a file path or URL ending in ``.json`` or ``.toml``,
    or a preset's name. An unknown name is a ValueError listing the presets.
    """
    if isinstance(source, Mapping):
        return dict(source)
    if not isinstance(source, str):
        raise TypeError(f"prices must be a table, a file or a preset name, not {source!r}")
    if source.endswith(_FILE_SUFFIXES):
        return _read_file(source)
    preset = _preset(source)
    if preset is None:
        raise ValueError(
            f"unknown price preset {source!r} (and not a .json or .toml file); "
            f"presets: {', '.join(preset_names())}"
        )
    return preset


def _check_table(table: Mapping[str, Any]) -> dict[str, float]:
    unknown = sorted(set(table) - set(PRICE_KEYS) - set(NOTE_KEYS))
    if unknown:
        raise ValueError(
            f"unknown price {', '.join(map(repr, unknown))}; known: {', '.join(PRICE_KEYS)}"
        )
    prices = {k: v for k, v in table.items() if k in PRICE_KEYS}
    for key, value in prices.items():
        check_number(f"price {key!r}", value, whole=key == "instances", at_least=0)
    if not set(prices) - {"instances"}:
        raise ValueError(f"no price given; give at least one of {', '.join(PRICE_KEYS)}")
    if "instances" in prices and "instance_hour" not in prices:
        raise ValueError("'instances' needs an 'instance_hour' price")
    return prices


def cost_model_from_prices(
    prices: Mapping[str, Any] | str, *, max_cost: float | None = None
) -> CostModel:
    """A `CostModel` from a price table, a price file or a preset (see this module)."""
    table = load_prices(prices)
    if table.get("_type") == "CostModel":
        model = CostModel.from_dict(table)
        if max_cost is not None:
            check_number("max_cost", max_cost)
            model.max_cost = max_cost
        return model
    p = _check_table(table)
    request: dict[str, Any] = {}
    if "input" in p:
        if "cached_input" in p or "cache_write" in p:
            request["UncachedInputTokens"] = UncachedInputTokens(p["input"])
        else:
            request["InputTokens"] = InputTokens(p["input"])
    if "cached_input" in p:
        request["CachedInputTokens"] = CachedInputTokens(p["cached_input"])
    if "cache_write" in p or ("cached_input" in p and "input" in p):
        request["CacheWriteTokens"] = CacheWriteTokens(p.get("cache_write", p.get("input", 0)))
    if "output" in p:
        request["OutputTokens"] = OutputTokens(p["output"])
    if "reasoning" in p:
        request["ReasoningTokens"] = ReasoningTokens(p["reasoning"])
    run: dict[str, Any] = {}
    if "instance_hour" in p:
        run["InstanceHours"] = InstanceHours(p["instance_hour"], int(p.get("instances", 1)))
    if "endpoint_hour" in p:
        run["EndpointTime"] = EndpointTime(p["endpoint_hour"])
    return CostModel(request, run, max_cost=max_cost)
