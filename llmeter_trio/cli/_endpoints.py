"""`llmeter-trio endpoints`, and building an endpoint from command-line options."""

from __future__ import annotations

import json
from typing import Any

import attrs

from ..endpoints import Endpoint
from ..plugins import endpoint_types, get_endpoint_type

__all__ = [
    "build_endpoint",
    "describe_endpoints",
    "parse_callback",
    "parse_headers",
    "parse_options",
]


def _json_value(raw: str, where: str) -> Any:
    """`raw` as JSON when it parses, else the string itself; a broken object or list is refused."""
    try:
        return json.loads(raw)
    except ValueError as exc:
        if raw.lstrip()[:1] in ("{", "["):
            raise ValueError(f"{where}: the value is not valid JSON ({exc})") from None
        return raw


def parse_options(pairs: list[str], flag: str = "--option") -> dict[str, Any]:
    """``key=value`` pairs; values are JSON when they parse as JSON, else strings."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{flag} {pair!r}: expected KEY=VALUE")
        options[key.strip()] = _json_value(raw, f"{flag} {key.strip()}")
    return options


def parse_callback(text: str) -> dict[str, Any]:
    """``NAME`` or ``NAME:{"option": value, ...}`` as a callback configuration."""
    name, sep, raw = text.partition(":")
    if not name.strip():
        raise ValueError(f"--callback {text!r}: expected NAME or NAME:JSON-OBJECT")
    options: Any = {}
    if sep:
        try:
            options = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"--callback {name}: the options are not valid JSON ({exc})") from None
    if not isinstance(options, dict):
        raise ValueError(f'--callback {name}: the options must be a JSON object, like {{"k": 1}}')
    return {**options, "callback_type": name.strip()}


def parse_headers(headers: list[str]) -> dict[str, str]:
    """``Name: value`` pairs."""
    parsed = {}
    for header in headers:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"--header {header!r}: expected 'Name: value'")
        parsed[name.strip()] = value.strip()
    return parsed


def build_endpoint(name: str, options: dict[str, Any]) -> Endpoint:
    """An endpoint of registered type `name`; unknown options are named in the error."""
    cls = get_endpoint_type(name)
    return cls.from_config({k: v for k, v in options.items() if v is not None})


def _default(field: attrs.Attribute[Any]) -> str:
    if Endpoint.is_secret(field):
        return "secret: never saved"
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        return "computed"
    return repr(field.default)


def describe_endpoints() -> str:
    """Every registered endpoint type with its options and defaults."""
    blocks = []
    for name, cls in sorted(endpoint_types().items()):
        doc = (cls.__doc__ or "").strip().splitlines()
        lines = [f"{name}  ({cls.__module__}.{cls.__qualname__})"]
        if doc:
            lines.append(f"    {doc[0]}")
        lines += [f"    {f.name:<24} {_default(f)}" for f in cls.option_fields()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
