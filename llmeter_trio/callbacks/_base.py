"""`Callback`: the base class for objects that hook into a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..endpoints import InvocationResponse
    from ..results import Result

__all__ = ["RUN_HOOKS", "Callback"]

RUN_HOOKS = ("before_run", "before_invoke", "after_invoke", "after_run")


class Callback:
    """Override any of the run hooks; each may be a plain method or a coroutine.

    Only the methods a subclass overrides are called, so an unused hook costs
    nothing per request. See `llmeter_trio.hookspecs` for when each runs.
    """

    def before_run(self, run_config: dict[str, Any]) -> Any:
        """The run is about to start."""

    def before_invoke(self, payload: dict[str, Any]) -> Any:
        """A request is about to be sent; change `payload` in place if needed."""

    def after_invoke(self, response: InvocationResponse) -> Any:
        """A request's record is ready; what this adds to it is saved with it."""

    def after_run(self, result: Result, interrupted: bool) -> Any:
        """The run ended (`interrupted` says whether it was stopped early)."""
