"""The plugin manager: built-in plugins plus third-party ones from entry points.

Built-in adapters are registered exactly like third-party ones. A distribution
ships plugins by declaring, in its pyproject.toml::

    [project.entry-points.llmeter_trio]
    my_plugin = "my_package.llmeter_plugin"

Set ``LLMETER_TRIO_PLUGINS`` to a comma-separated list of entry-point names to
load only those (an empty value loads none): useful to pin what a benchmark
runs with, and in tests.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

import pluggy

from . import hookspecs
from .endpoints import Endpoint

__all__ = [
    "ENTRY_POINT_GROUP",
    "PLUGINS_ENV_VAR",
    "endpoint_from_config",
    "endpoint_types",
    "get_endpoint_type",
    "get_plugin_manager",
    "schedule_types",
    "tokenizer_factories",
]

ENTRY_POINT_GROUP = "llmeter_trio"
PLUGINS_ENV_VAR = "LLMETER_TRIO_PLUGINS"
BUILTIN_PLUGINS = (
    "llmeter_trio.endpoints._plugin",
    "llmeter_trio.tokenizers",
    "llmeter_trio.schedules",
)

_manager: pluggy.PluginManager | None = None


def new_plugin_manager() -> pluggy.PluginManager:
    """An empty plugin manager that knows every llmeter-trio hook."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    allowed = os.environ.get(PLUGINS_ENV_VAR)
    names = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if names is not None and ep.name not in names:
            continue
        if pm.get_plugin(ep.name) is None:
            pm.register(ep.load(), name=ep.name)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, loading plugins on first use."""
    global _manager
    if _manager is None:
        pm = new_plugin_manager()
        for module_name in BUILTIN_PLUGINS:
            pm.register(importlib.import_module(module_name), name=module_name)
        _load_entry_points(pm)
        _manager = pm
    return _manager


def _collect(hook_name: str, name_of: Callable[[Any], str] | None = None) -> dict[str, Any]:
    """Call a registration hook; `name_of` names what a one-argument `register` gets."""
    found: dict[str, Any] = {}

    def register(*args: Any) -> None:
        if len(args) == 2:
            found[args[0]] = args[1]
            return
        (registered,) = args
        name = name_of(registered) if name_of else ""
        if not name:
            raise ValueError(f"{registered!r} has no name to register under")
        found[name] = registered

    getattr(get_plugin_manager().hook, hook_name)(register=register)
    return found


def endpoint_types() -> dict[str, type[Endpoint]]:
    """Every registered endpoint class, by name."""
    return _collect("register_endpoints", lambda cls: cls.endpoint_type)


def get_endpoint_type(name: str) -> type[Endpoint]:
    """The endpoint class registered as `name`, or a KeyError listing the known names."""
    known = endpoint_types()
    try:
        return known[name]
    except KeyError:
        raise KeyError(
            f"no endpoint type {name!r} is registered; known: {sorted(known)}. "
            f"Is the plugin that provides it installed (and allowed by {PLUGINS_ENV_VAR})?"
        ) from None


def endpoint_from_config(config: Mapping[str, Any]) -> Endpoint:
    """Rebuild a saved endpoint from its configuration (secrets come from the environment)."""
    if "endpoint_type" not in config:
        raise ValueError("endpoint configuration has no 'endpoint_type'")
    return get_endpoint_type(config["endpoint_type"]).from_config(config)


def schedule_types() -> dict[str, Any]:
    """Every registered schedule class, by name."""
    return _collect("register_schedules", lambda cls: cls.name)


def tokenizer_factories() -> dict[str, Callable[..., Any]]:
    """Every registered tokenizer factory, by name."""
    return _collect("register_tokenizers")
