"""The plugin manager: built-in plugins plus third-party ones from entry points.

Built-in adapters are registered exactly like third-party ones. A distribution
ships plugins by declaring, in its pyproject.toml::

    [project.entry-points.llmeter_trio]
    my_plugin = "my_package.llmeter_plugin"

Set ``LLMETER_TRIO_PLUGINS`` to a comma-separated list of entry-point names to
load only those (an empty value loads none): useful to pin what a benchmark
runs with, and in tests (`reset_plugin_manager` reloads them after a change).

The manager remembers where each plugin came from (`PluginSource`: built in,
or an entry point of an installed distribution), so `endpoint_sources` can say
which plugin provides each endpoint type.

Every lookup by name lives here: endpoint types, schedules, tokenizers and
callbacks, each rebuilt from a configuration ``{KIND_KEY: NAME, **options}``
(`endpoint_from_config`, `schedule_from_config`, `tokenizer_from_config`,
`callback_from_config`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import attrs
import pluggy

from . import hookspecs
from ._version import __version__
from .callbacks import CostModel
from .endpoints import AnthropicMessagesEndpoint, Endpoint, FakeEndpoint
from .endpoints.openai import (
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
)
from .hookspecs import hookimpl
from .schedules import (
    ClosedLoop,
    ConstantRate,
    Gamma,
    Poisson,
    Ramp,
    Schedule,
    TokenRate,
    TraceReplay,
)
from .tokenizers import DummyTokenizer, HuggingFaceTokenizer, TiktokenTokenizer, Tokenizer

__all__ = [
    "BUILTIN_PLUGIN",
    "BUILTIN_SOURCE",
    "ENTRY_POINT_GROUP",
    "PLUGINS_ENV_VAR",
    "PluginManager",
    "PluginSource",
    "callback_from_config",
    "callback_types",
    "endpoint_from_config",
    "endpoint_sources",
    "endpoint_types",
    "get_endpoint_type",
    "get_plugin_manager",
    "new_plugin_manager",
    "reset_plugin_manager",
    "schedule_from_config",
    "schedule_types",
    "tokenizer_factories",
    "tokenizer_from_config",
]

ENTRY_POINT_GROUP = "llmeter_trio"
PLUGINS_ENV_VAR = "LLMETER_TRIO_PLUGINS"


class _Builtins:
    """What ships with llmeter-trio, registered through the hooks any plugin uses."""

    @hookimpl
    def register_endpoints(self, register: Callable[[type[Endpoint]], None]) -> None:
        for endpoint in (
            FakeEndpoint,
            OpenAIChatEndpoint,
            OpenAICompletionsEndpoint,
            OpenAIResponsesEndpoint,
            AnthropicMessagesEndpoint,
        ):
            register(endpoint)

    @hookimpl
    def register_tokenizers(
        self, register: Callable[[str, Callable[..., Tokenizer]], None]
    ) -> None:
        register(DummyTokenizer.tokenizer_type, DummyTokenizer)
        register(HuggingFaceTokenizer.tokenizer_type, HuggingFaceTokenizer.from_file)
        register(TiktokenTokenizer.tokenizer_type, TiktokenTokenizer.from_file)

    @hookimpl
    def register_schedules(self, register: Callable[[type[Schedule]], None]) -> None:
        for schedule in (ClosedLoop, ConstantRate, Poisson, Gamma, Ramp, TraceReplay, TokenRate):
            register(schedule)

    @hookimpl
    def register_callbacks(self, register: Callable[[str, Callable[..., Any]], None]) -> None:
        register(CostModel.callback_type, CostModel.from_options)


BUILTIN_PLUGIN = _Builtins()
_BUILTIN_NAME = "llmeter_trio.builtins"


@attrs.frozen
class PluginSource:
    """Where a plugin came from: llmeter-trio itself, an installed distribution's entry
    point, or code that registered it by hand (`name` is then the name it was given).

    ``str()`` says it in one line: ``built in (llmeter-trio 0.1.0)``,
    ``llmeter-trio-echo 0.1.0 (entry point 'echo')``, ``plugin 'mine'``.
    """

    name: str  # the entry point's name, or the name the plugin was registered under
    distribution: str | None = None  # the installed distribution declaring the entry point
    version: str | None = None
    builtin: bool = False

    @classmethod
    def from_entry_point(cls, point: EntryPoint) -> PluginSource:
        """The source of a plugin loaded from `point` (its distribution, when known)."""
        dist = point.dist
        if dist is None:
            return cls(point.name)
        return cls(point.name, distribution=dist.name, version=dist.version)

    def __str__(self) -> str:
        if self.builtin:
            return f"built in ({self.distribution} {self.version})"
        if self.distribution is None:
            return f"plugin {self.name!r}"
        version = f" {self.version}" if self.version else ""
        return f"{self.distribution}{version} (entry point {self.name!r})"


BUILTIN_SOURCE = PluginSource(
    _BUILTIN_NAME, distribution="llmeter-trio", version=__version__, builtin=True
)


class PluginManager(pluggy.PluginManager):
    """pluggy's manager for llmeter-trio's hooks, which remembers where its plugins came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.entry_point_sources: dict[str, PluginSource] = {}  # by plugin name

    def source_of(self, plugin: object) -> PluginSource:
        """Where `plugin` (registered with this manager) came from."""
        if plugin is BUILTIN_PLUGIN:
            return BUILTIN_SOURCE
        name = self.get_name(plugin) or repr(plugin)
        return self.entry_point_sources.get(name) or PluginSource(name)


_manager: PluginManager | None = None


def new_plugin_manager() -> PluginManager:
    """An empty plugin manager that knows every llmeter-trio hook."""
    return PluginManager()


def _load_entry_points(pm: PluginManager) -> None:
    allowed = os.environ.get(PLUGINS_ENV_VAR)
    names = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if names is not None and ep.name not in names:
            continue
        if pm.get_plugin(ep.name) is None:
            pm.register(ep.load(), name=ep.name)
            pm.entry_point_sources[ep.name] = PluginSource.from_entry_point(ep)


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, loading plugins on first use."""
    global _manager
    if _manager is None:
        pm = new_plugin_manager()
        pm.register(BUILTIN_PLUGIN, name=_BUILTIN_NAME)
        _load_entry_points(pm)
        _manager = pm
    return _manager


def reset_plugin_manager() -> None:
    """Forget the plugins loaded: the next lookup loads them again, e.g. after changing
    ``LLMETER_TRIO_PLUGINS`` in a test (plugins registered by hand are forgotten too)."""
    global _manager
    _manager = None


def _registered_by(impl: pluggy.HookImpl) -> list[tuple[Any, ...]]:
    """What one plugin's registration hook passes to `register`, call by call."""
    registered: list[tuple[Any, ...]] = []

    def register(*args: Any) -> None:
        registered.append(args)

    hook_args = {"register": register}
    impl.function(*[hook_args[name] for name in impl.argnames])
    return registered


def _registrations(hook_name: str) -> Iterator[tuple[object, tuple[Any, ...]]]:
    """Call a registration hook plugin by plugin: (the plugin, the arguments it gave
    `register`) for each registration, in the order a hook call makes them."""
    hook = getattr(get_plugin_manager().hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):  # pluggy calls the last registered first
        for args in _registered_by(impl):
            yield impl.plugin, args


def _named(args: tuple[Any, ...], name_of: Callable[[Any], str] | None) -> tuple[str, Any]:
    """(name, thing) from what `register` got: ``(name, thing)``, or ``(thing,)`` named by
    `name_of`."""
    if len(args) == 2:
        return args[0], args[1]
    (registered,) = args
    name = name_of(registered) if name_of else ""
    if not name:
        raise ValueError(f"{registered!r} has no name to register under")
    return name, registered


def _collect(hook_name: str, name_of: Callable[[Any], str] | None = None) -> dict[str, Any]:
    """Call a registration hook; `name_of` names what a one-argument `register` gets.
    When two plugins register one name, the one a hook call reaches last wins."""
    return dict(_named(args, name_of) for _, args in _registrations(hook_name))


def _lookup(kind: str, name: object, known: Mapping[str, Any]) -> Any:
    """`known[name]`, or a KeyError naming the known ones and how to add more."""
    if isinstance(name, str) and name in known:
        return known[name]
    raise KeyError(
        f"no {kind} {name!r} is registered; known: {sorted(known)}. "
        f"Is the plugin that provides it installed (and allowed by {PLUGINS_ENV_VAR})?"
    )


def _options(config: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != key}


# -- endpoints ------------------------------------------------------------------


def _endpoint_name(cls: type[Endpoint]) -> str:
    return cls.endpoint_type


def endpoint_types() -> dict[str, type[Endpoint]]:
    """Every registered endpoint class, by name."""
    return _collect("register_endpoints", _endpoint_name)


def endpoint_sources() -> dict[str, PluginSource]:
    """Which plugin provides each registered endpoint type, by name."""
    pm = get_plugin_manager()
    return {
        _named(args, _endpoint_name)[0]: pm.source_of(plugin)
        for plugin, args in _registrations("register_endpoints")
    }


def get_endpoint_type(name: str) -> type[Endpoint]:
    """The endpoint class registered as `name`, or a KeyError listing the known names."""
    endpoint: type[Endpoint] = _lookup("endpoint type", name, endpoint_types())
    return endpoint


def endpoint_from_config(config: Mapping[str, Any]) -> Endpoint:
    """Rebuild a saved endpoint from its configuration (secrets come from the environment)."""
    if "endpoint_type" not in config:
        raise ValueError("endpoint configuration has no 'endpoint_type'")
    return get_endpoint_type(config["endpoint_type"]).from_config(config)


# -- schedules ------------------------------------------------------------------


def schedule_types() -> dict[str, type[Schedule]]:
    """Every registered schedule class, by name."""
    return _collect("register_schedules", lambda cls: cls.name)


def schedule_from_config(config: Mapping[str, Any]) -> Schedule:
    """A schedule from ``{"schedule": NAME, **options}`` (`Schedule.to_config()` output)."""
    name = config.get("schedule")
    cls: type[Schedule] = _lookup("schedule", name, schedule_types())
    options = _options(config, "schedule")
    fields = {f.name: f for f in attrs.fields(cls) if f.init}
    unknown = set(options) - set(fields)
    if unknown:
        raise ValueError(
            f"schedule {name!r} has no option(s) {sorted(unknown)}; it has {sorted(fields)}"
        )
    missing = [n for n, f in fields.items() if f.default is attrs.NOTHING and n not in options]
    if missing:
        raise ValueError(f"schedule {name!r} needs option(s) {missing}")
    return cls(**options)


# -- tokenizers -----------------------------------------------------------------


def tokenizer_factories() -> dict[str, Callable[..., Tokenizer]]:
    """Every registered tokenizer factory, by name."""
    return _collect("register_tokenizers")


def tokenizer_from_config(config: Mapping[str, Any] | None) -> Tokenizer | None:
    """Rebuild a saved tokenizer; None when none was saved or it cannot be rebuilt.

    The ``tokenizer_type`` names a factory registered through the
    `register_tokenizers` hook; the other entries are its keyword arguments.
    """
    if not config or not config.get("tokenizer_type"):
        return None
    factory = _lookup("tokenizer type", config["tokenizer_type"], tokenizer_factories())
    tokenizer: Tokenizer = factory(**_options(config, "tokenizer_type"))
    return tokenizer


# -- callbacks ------------------------------------------------------------------


def callback_types() -> dict[str, Callable[..., Any]]:
    """Every registered callback factory (usually a `Callback` subclass), by name."""
    return _collect("register_callbacks", lambda cls: getattr(cls, "callback_type", ""))


def callback_from_config(config: Mapping[str, Any]) -> Any:
    """A callback from ``{"callback_type": NAME, **options}``: its factory, given the options."""
    if "callback_type" not in config:
        raise ValueError("callback configuration has no 'callback_type'")
    factory = _lookup("callback type", config["callback_type"], callback_types())
    return factory(**_options(config, "callback_type"))
