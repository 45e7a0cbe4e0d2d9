"""Every pluggy hook of llmeter-trio, in one page.

Two kinds of hooks:

- **Registration hooks** run once, when the plugin manager loads plugins. They
  are synchronous and receive a `register` callable, so a plugin module reads::

      from llmeter_trio import hookimpl

      @hookimpl
      def register_endpoints(register):
          register(MyEndpoint)  # registered under MyEndpoint.endpoint_type

- **Run hooks** are called by the runner on callback objects (see
  `llmeter_trio.Callback`). They may be plain functions or coroutines: the
  runner awaits whatever is awaitable. `before_invoke` runs in the client's
  task before the timer starts: its time is never measured, but the next
  request waits for it. `after_invoke` runs in the run's writer task, just
  before the record is stored (what it adds to the record is saved), so it
  is not timed either; but records reach the writer through a bounded
  channel (1,024 records), so a callback slower than
  the requests fills it, and then each finished request waits to hand over
  its record before its client sends the next one (in an open loop, the
  request keeps its `max_concurrency` slot meanwhile). Keep both quick.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .endpoints import Endpoint, InvocationResponse
    from .results import Result
    from .schedules import Schedule
    from .tokenizers import Tokenizer

PROJECT = "llmeter_trio"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Maybe = Awaitable[None] | None


@hookspec
def register_endpoints(register: Callable[[type[Endpoint]], None]) -> None:
    """Register endpoint classes: ``register(OpenAIChatEndpoint)``."""


@hookspec
def register_tokenizers(register: Callable[[str, Callable[..., Tokenizer]], None]) -> None:
    """Register tokenizer factories by name: ``register("dummy", DummyTokenizer)``."""


@hookspec
def register_schedules(register: Callable[[type[Schedule]], None]) -> None:
    """Register schedule classes (registered under their ``name``): ``register(MySchedule)``."""


@hookspec
def register_callbacks(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register callback factories by name: ``register("cost", CostCallback)``.

    A run then takes ``{"callback_type": "cost", **options}`` in `callbacks`,
    and the command line ``--callback cost:{"budget": 5}``; the factory is
    called with the options.
    """


@hookspec
def before_run(run_config: dict[str, Any]) -> Maybe:
    """The run is about to start; `run_config` is what will be saved for it."""


@hookspec
def before_invoke(payload: dict[str, Any]) -> Maybe:
    """A request is about to be sent (outside the timer); the payload may be changed in place."""


@hookspec
def after_invoke(response: InvocationResponse) -> Maybe:
    """A request finished (or failed, or was cancelled); its record is stored next."""


@hookspec
def after_run(result: Result, interrupted: bool) -> Maybe:
    """The run ended; `interrupted` is True when Ctrl-C, SIGTERM or an error stopped it."""
