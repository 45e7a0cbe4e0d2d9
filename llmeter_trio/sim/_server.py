"""Serving `SimApp`, in-process or from the command line, with one of two engines.

- ``"h11"`` (the default): the lean HTTP/1.1 server of `._h11_server`, h11 on
  trio streams, built for this app: a fraction of hypercorn's CPU per request,
  which matters when the server shares a machine with the load generator.
- ``"hypercorn"``: hypercorn's trio worker, a complete ASGI server. Optional:
  ``pip install 'llmeter-trio[sim-hypercorn]'``.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

import trio

from . import _h11_server
from ._app import SimApp
from ._model import SimConfig

if TYPE_CHECKING:
    from hypercorn.config import Config

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

__all__ = ["ENGINES", "Engine", "engine_installed", "serve_app", "simulated_server"]

Engine = Literal["h11", "hypercorn"]
ENGINES: tuple[Engine, ...] = get_args(Engine)
DEFAULT_ENGINE: Engine = "h11"

_LOGGER = logging.getLogger("llmeter_trio.sim")


def hypercorn_config(bind: str, *, graceful_timeout: float = 0.0) -> Config:
    """A quiet hypercorn configuration tuned for many short requests."""
    from hypercorn.config import Config

    config = Config()
    config.bind = [bind]
    config.accesslog = None
    config.errorlog = _LOGGER  # hypercorn's "Running on ..." and app errors, via logging
    config.graceful_timeout = graceful_timeout
    config.keep_alive_max_requests = 2**31  # never force clients to reconnect
    return config


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def engine_installed(engine: Engine) -> bool:
    """Whether `engine` can serve here: h11 always (a dependency), hypercorn when the
    ``sim-hypercorn`` extra is installed."""
    return engine == "h11" or importlib.util.find_spec("hypercorn") is not None


def check_engine(engine: str) -> Engine:
    """`engine` if it names one that is installed (raises ValueError saying what to do
    otherwise)."""
    for known in ENGINES:
        if engine == known:
            if not engine_installed(known):
                raise ValueError(
                    f"the {known} engine needs {known}, which is not installed: "
                    f"pip install 'llmeter-trio[sim-{known}]' (or use the h11 engine)"
                )
            return known
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")


async def serve_app(
    app: SimApp,
    bind: str,
    *,
    shutdown_trigger: Callable[[], Awaitable[Any]],
    graceful_timeout: float = 0.0,
    engine: Engine = DEFAULT_ENGINE,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` on `bind` (``host:port``, ``[v6host]:port`` or ``fd://N``) with
    `engine` until `shutdown_trigger` returns; reports the bound
    ``http://host:port`` through `task_status`.

    In-flight requests get `graceful_timeout` seconds to finish, then are cancelled.
    """
    if check_engine(engine) == "h11":
        await _h11_server.serve(
            app,
            bind,
            shutdown_trigger=shutdown_trigger,
            graceful_timeout=graceful_timeout,
            task_status=task_status,
        )
        return

    import hypercorn.trio

    config = hypercorn_config(bind, graceful_timeout=graceful_timeout)

    async def serve(task_status: trio.TaskStatus[list[str]]) -> None:
        await hypercorn.trio.serve(
            cast(Any, app), config, shutdown_trigger=shutdown_trigger, task_status=task_status
        )

    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(serve)
        task_status.started(binds[0])


@asynccontextmanager
async def simulated_server(
    config: SimConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    engine: Engine = DEFAULT_ENGINE,
) -> AsyncIterator[str]:
    """Run a simulated OpenAI-compatible server for the duration of the block.

    Yields its base URL, e.g. ``http://127.0.0.1:54321/v1`` (``port=0`` picks a
    free port). `engine` is ``"h11"`` (the lean built-in server, the default) or
    ``"hypercorn"`` (needs the ``sim-hypercorn`` extra). On exit the server stops
    at once: requests still in flight are cancelled and their connections closed.
    """
    check_engine(engine)
    shutdown = trio.Event()
    try:
        async with trio.open_nursery() as nursery:
            origin: str = await nursery.start(
                partial(
                    serve_app,
                    SimApp(config),
                    _bind(host, port),
                    shutdown_trigger=shutdown.wait,
                    engine=engine,
                )
            )
            try:
                yield origin + "/v1"
            finally:
                shutdown.set()
    except BaseExceptionGroup as group:
        # One error (from the block, or the server failing to start): raise it as is,
        # so `pytest.raises(ValueError)` around the block works.
        error: BaseException = group
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        if error is group or isinstance(error, BaseExceptionGroup):
            raise
        raise error from None
