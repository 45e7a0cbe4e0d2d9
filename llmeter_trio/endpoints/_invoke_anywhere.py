"""`endpoint.invoke(payload)` outside a run: blocking in a script, awaitable under a loop.

An adapter writes `invoke` as a trio coroutine, and the engine awaits it inside
a run. `Endpoint` wraps each adapter's `invoke` with `callable_anywhere`, so that
the same call also works where LLMeter's synchronous `invoke` is used:

- under trio (the engine, or your own trio code): the adapter's coroutine, as written;
- with no event loop running (a script, a REPL): one request, blocking, and its
  `InvocationResponse`;
- under a running asyncio loop (a Jupyter notebook, `asyncio.run`): an awaitable,
  ``response = await endpoint.invoke(payload)``, run as a trio guest on that loop.
  Blocking there would stop the loop (and everything else the notebook runs), so the
  call never blocks; a result used without ``await`` says so.

A direct call is what a run does for one request: `prepare_payload`, the endpoint's
session for one client, an exception turned into an error record (LLMeter's `invoke`
does not raise either), credentials scrubbed from the error. The record also gets
LLMeter's `id` and `request_time` when the adapter set none.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Generator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import sniffio
import trio

from .._loops import _asyncio_loop_running, run_on_any_loop
from ._errors import classify_exception
from ._response import InvocationResponse

if TYPE_CHECKING:
    from ._base import Endpoint

__all__ = ["PendingInvocation", "callable_anywhere"]

RawInvoke = Callable[[Any, dict[str, Any]], Awaitable[InvocationResponse]]
_MARK = "_llmeter_trio_callable_anywhere"


class PendingInvocation:
    """What ``endpoint.invoke(payload)`` returns under a running asyncio loop: await it."""

    __slots__ = ("_call",)

    def __init__(self, call: Coroutine[Any, Any, InvocationResponse]) -> None:
        self._call = call

    def __await__(self) -> Generator[Any, None, InvocationResponse]:
        return self._call.__await__()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"no attribute {name!r}: under a running event loop (a notebook), "
            "endpoint.invoke(...) does not block; write response = await endpoint.invoke(payload)"
        )

    def __repr__(self) -> str:
        return "<PendingInvocation: await it for the InvocationResponse>"


def callable_anywhere(invoke: RawInvoke) -> Callable[..., Any]:
    """`invoke` (an adapter's trio coroutine function), callable outside a run too."""
    if getattr(invoke, _MARK, False):
        return invoke

    @functools.wraps(invoke)
    def dispatch(self: Endpoint, payload: dict[str, Any]) -> Any:
        try:
            library: str | None = sniffio.current_async_library()
        except sniffio.AsyncLibraryNotFoundError:
            library = "asyncio" if _asyncio_loop_running() else None
        if library == "trio":
            return invoke(self, payload)  # the engine's path: the coroutine as written
        if library is None:
            return trio.run(invoke_directly, invoke, self, payload)
        return PendingInvocation(run_on_any_loop(invoke_directly, invoke, self, payload))

    setattr(dispatch, _MARK, True)
    return dispatch


async def invoke_directly(
    invoke: RawInvoke, endpoint: Endpoint, payload: dict[str, Any]
) -> InvocationResponse:
    """One request outside a run, as a run sends it (in trio)."""
    from ._base import scrubber

    prepared = endpoint.prepare_payload(payload)
    request_time = datetime.now(timezone.utc)
    try:
        async with endpoint.open_session(1):
            response = await invoke(endpoint, prepared)
    except Exception as exc:
        error_class, status = classify_exception(exc)
        response = InvocationResponse.error_output(
            f"{type(exc).__name__}: {exc}", error_class, status_code=status
        )
    if response.error is not None:
        response.error = scrubber(endpoint.secret_values())(response.error)
    if response.input_payload is None:
        response.input_payload = prepared
    if response.request_time is None:
        response.request_time = request_time
    if response.id is None:
        response.id = uuid.uuid4().hex
    return response
