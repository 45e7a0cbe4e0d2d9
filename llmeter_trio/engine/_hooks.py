"""Calling the run hooks of a run's callbacks through pluggy, awaiting what is awaitable."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import pluggy

from .. import hookspecs
from ..callbacks._base import RUN_HOOKS, Callback
from ..plugins import get_plugin_manager

__all__ = ["RunHooks"]


class _CallbackManager(pluggy.PluginManager):
    """Also accepts `Callback` subclasses' overridden methods as hook implementations."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        overridden = (
            isinstance(plugin, Callback)
            and name in RUN_HOOKS
            and getattr(type(plugin), name) is not getattr(Callback, name)
        )
        return {} if opts is None and overridden else opts


def _global_run_hook_plugins() -> list[Any]:
    """Installed plugins that implement a run hook: they take part in every run."""
    hook = get_plugin_manager().hook
    plugins = {
        id(i.plugin): i.plugin for name in RUN_HOOKS for i in getattr(hook, name).get_hookimpls()
    }
    return list(plugins.values())


class RunHooks:
    """The run hooks of one run's callbacks."""

    def __init__(self, callbacks: Iterable[Any] = ()) -> None:
        pm = _CallbackManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        for plugin in _global_run_hook_plugins():
            pm.register(plugin)
        for callback in callbacks:
            pm.register(callback)
        self._pm = pm
        self.active = {name for name in RUN_HOOKS if getattr(pm.hook, name).get_hookimpls()}

    async def call(self, name: str, **kwargs: Any) -> None:
        """Call hook `name` on every callback in registration order, awaiting coroutines."""
        if name not in self.active:
            return
        hook = getattr(self._pm.hook, name)
        for impl in hook.get_hookimpls():  # in registration order (pluggy calls them LIFO)
            outcome = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            if inspect.isawaitable(outcome):
                await outcome
