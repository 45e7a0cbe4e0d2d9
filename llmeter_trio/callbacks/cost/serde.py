"""Saving cost models and their dimensions as JSON, and loading them back.

A saved object is a dict of its settings plus ``"_type"``, its class name
(LLMeter's format): ``{"_type": "InputTokens", "price_per_million": 3.0,
"granularity": 1}``. Files may be local paths or any fsspec URL.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

import attrs

from ...json_utils import llmeter_default_serializer
from ...storage import Location, resolve

__all__ = [
    "ISerializable",
    "JSONableBase",
    "from_dict_with_class",
    "from_dict_with_class_map",
    "to_dict_recursive_generic",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
TJSONable = TypeVar("TJSONable", bound="JSONableBase")


class ISerializable(Protocol):
    """What a cost dimension needs to be saved with its model."""

    def to_dict(self) -> dict[str, Any]:
        """This object as a JSON-ready dict with its ``"_type"``."""
        ...


def _plain(value: Any) -> Any:
    """`value` with nested serializable objects, dicts and lists made JSON-ready."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_dict_recursive_generic(obj: object, **kwargs: Any) -> dict[str, Any]:
    """`obj`'s fields (attrs fields, else its attributes) as a JSON-ready dict with ``"_type"``.

    `kwargs` are added to the dict; a plain dict gets no ``"_type"``.
    """
    if isinstance(obj, dict):
        fields = dict(obj)
        result: dict[str, Any] = {}
    else:
        result = {"_type": type(obj).__name__}
        if attrs.has(type(obj)):
            kinds: Any = type(obj)
            fields = {f.name: getattr(obj, f.name) for f in attrs.fields(kinds) if f.init}
        else:
            fields = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    result.update(fields)
    result.update(kwargs)
    return {k: _plain(v) for k, v in result.items()}


def from_dict_with_class(raw: Mapping[str, Any], cls: type[T], **kwargs: Any) -> T:
    """An instance of `cls` from its dict (``"_type"`` is checked, with a warning if it differs)."""
    args = dict(raw)
    kind = args.pop("_type", None)
    if kind is not None and kind != cls.__name__:
        logger.warning("from_dict: _type %r does not match class %r", kind, cls.__name__)
    return cls(**args, **kwargs)


def from_dict_with_class_map(
    raw: Mapping[str, Any], class_map: Mapping[str, type[T]], **kwargs: Any
) -> T:
    """An instance of the class `class_map` gives for ``raw["_type"]``."""
    if "_type" not in raw:
        raise ValueError(f"no '_type' in {dict(raw)!r}: cannot tell which class to build")
    kind = raw["_type"]
    if kind not in class_map:
        raise ValueError(f"unknown _type {kind!r}; known: {', '.join(sorted(class_map))}")
    return from_dict_with_class(raw, class_map[kind], **kwargs)


class JSONableBase:
    """`to_dict`/`from_dict`, JSON text and JSON files for the classes here."""

    @classmethod
    def from_dict(
        cls: type[TJSONable],
        raw: Mapping[str, Any],
        alt_classes: Mapping[str, type[Any]] | None = None,
        **kwargs: Any,
    ) -> TJSONable:
        """An instance from its dict; `alt_classes` maps other ``"_type"`` names to classes."""
        if alt_classes:
            classes: dict[str, type[Any]] = {cls.__name__: cls, **alt_classes}
            built: TJSONable = from_dict_with_class_map(raw, classes, **kwargs)
            return built
        return from_dict_with_class(raw, cls, **kwargs)

    @classmethod
    def from_json(cls: type[TJSONable], json_string: str | bytes, **kwargs: Any) -> TJSONable:
        """An instance from `to_json` text."""
        return cls.from_dict(json.loads(json_string), **kwargs)

    @classmethod
    def from_file(cls: type[TJSONable], input_path: Location, **kwargs: Any) -> TJSONable:
        """An instance from a JSON file (a local path or any fsspec URL)."""
        fs, path = resolve(input_path)
        with fs.open(path, "rb") as f:
            return cls.from_json(f.read(), **kwargs)

    def to_dict(self, **kwargs: Any) -> dict[str, Any]:
        """This object as a JSON-ready dict with its ``"_type"``."""
        return to_dict_recursive_generic(self, **kwargs)

    def to_json(self, default: Any = llmeter_default_serializer, **kwargs: Any) -> str:
        """This object as JSON text (`kwargs` go to `json.dumps`)."""
        return json.dumps(self.to_dict(), default=default, **kwargs)

    def to_file(self, output_path: Location, indent: int | str | None = 4, **kwargs: Any) -> str:
        """Write this object as a JSON file (a local path or any fsspec URL); its path."""
        fs, path = resolve(output_path)
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent:
            fs.makedirs(parent, exist_ok=True)
        with fs.open(path, "w") as f:
            f.write(self.to_json(indent=indent, **kwargs))
        return path
