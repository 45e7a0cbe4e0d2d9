"""`llmeter-trio endpoints`, and building an endpoint from command-line options."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from ..endpoints import Endpoint
from ..plugins import endpoint_sources, endpoint_types, get_endpoint_type

__all__ = [
    "OPTION_FLAGS",
    "build_endpoint",
    "describe_endpoints",
    "flag_options",
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


# The flags of `llmeter-trio run` that each set one endpoint option.
OPTION_FLAGS = ("--model", "--base-url", "--region", "--profile")


def _option_of(cls: type[Endpoint], flag: str) -> str:
    """The option of `cls` that `flag` sets (the class names those of --model and --base-url)."""
    if flag == "--model":
        return cls.model_option
    if flag == "--base-url":
        return cls.base_url_option
    return flag.removeprefix("--").replace("-", "_")


def flag_options(cls: type[Endpoint], given: Mapping[str, Any]) -> dict[str, Any]:
    """The options of `cls` that the flags `given` set (flag to value; None: not given).

    A flag whose option the endpoint does not have is refused, naming both.
    """
    known = {f.name for f in cls.option_fields()}
    options: dict[str, Any] = {}
    for flag in OPTION_FLAGS:
        value = given.get(flag)
        if value is None:
            continue
        option = _option_of(cls, flag)
        if option not in known:
            raise ValueError(f"{flag}: endpoint {cls.endpoint_type!r} has no option {option!r}")
        options[option] = value
    return options


def build_endpoint(
    name: str, options: dict[str, Any], flags: Mapping[str, Any] | None = None
) -> Endpoint:
    """An endpoint of registered type `name`, from `options` and the `flags` that set one
    option each (see `flag_options`); unknown options are named in the error."""
    cls = get_endpoint_type(name)
    options = {**options, **flag_options(cls, flags or {})}
    return cls.from_config({k: v for k, v in options.items() if v is not None})


def _default(field: attrs.Attribute[Any]) -> str:
    if Endpoint.is_secret(field):
        return "secret: never saved"
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        return "computed"
    return repr(field.default)


def describe_endpoints() -> str:
    """Every registered endpoint type: the plugin that provides it, its options and
    their defaults, and the flag of `llmeter-trio run` that sets an option, if any."""
    blocks = []
    sources = endpoint_sources()
    for name, cls in sorted(endpoint_types().items()):
        doc = (cls.__doc__ or "").strip().splitlines()
        lines = [f"{name}  ({cls.__module__}.{cls.__qualname__})"]
        lines.append(f"    provided by {sources[name]}")
        if doc:
            lines.append(f"    {doc[0]}")
        flags = {_option_of(cls, flag): flag for flag in OPTION_FLAGS}
        for field in cls.option_fields():
            flag = f"  ({flags[field.name]})" if field.name in flags else ""
            lines.append(f"    {field.name:<24} {_default(field)}{flag}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
