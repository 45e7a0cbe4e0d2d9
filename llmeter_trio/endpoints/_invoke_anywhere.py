"""`endpoint.invoke(payload)` outside a run: blocking in a script, awaitable under a loop.

An adapter writes `invoke` as a trio coroutine, and the engine awaits it inside
a run. `Endpoint` wraps each adapter's `invoke` with `callable_anywhere`, so that
the same call also works where LLMeter's synchronous `invoke` is used:

- under trio (the engine, or your own trio code): the adapter's coroutine, as written;
- with no event loop running (a script, a REPL): one request, blocking, and its
  `InvocationResponse`;
- under a running asyncio loop (a Jupyter notebook, `asyncio.run`): a `PendingInvocation`.
  Awaited, ``response = await endpoint.invoke(payload)``, the request runs as a trio
  guest on that loop, which keeps running meanwhile. Used as the response without
  ``await`` (LLMeter's notebooks: ``print(endpoint.invoke(payload))``), it sends the
  request then, in a thread of its own, and blocks the loop until the answer, as
  LLMeter's `invoke` does, with a `RuntimeWarning` saying so: never silently.

A direct call is what a run does for one request: `prepare_payload`, the endpoint's
session for one client, an exception turned into an error record (LLMeter's `invoke`
does not raise either), credentials scrubbed from the error. The record also gets
LLMeter's `id` and `request_time` when the adapter set none.
"""

from __future__ import annotations

import functools
import threading
import uuid
import warnings
from collections.abc import Awaitable, Callable, Generator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import outcome
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
    """What ``endpoint.invoke(payload)`` returns under a running asyncio loop.

    Await it for the `InvocationResponse` (the loop keeps running). Using it as the
    response instead (``pending.response_text``, ``print(pending)``, its repr) sends the
    request in a thread and blocks until the answer, with a `RuntimeWarning`. Neither
    awaited nor used, it sends nothing, and says so when it is discarded.
    """

    __slots__ = ("_endpoint", "_invoke", "_payload", "_response", "_started")

    def __init__(self, invoke: RawInvoke, endpoint: Endpoint, payload: dict[str, Any]) -> None:
        self._invoke, self._endpoint, self._payload = invoke, endpoint, payload
        self._response: InvocationResponse | None = None
        self._started = False

    def __await__(self) -> Generator[Any, None, InvocationResponse]:
        self._started = True
        if self._response is None:
            call = run_on_any_loop(invoke_directly, self._invoke, self._endpoint, self._payload)
            self._response = yield from call.__await__()
        return self._response

    def result(self) -> InvocationResponse:
        """The response, waited for: blocks the running loop (warned) if not awaited yet."""
        if self._response is None:
            self._started = True
            warnings.warn(_BLOCKED, RuntimeWarning, stacklevel=3)
            self._response = _in_a_thread(self._invoke, self._endpoint, self._payload)
        return self._response

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not hasattr(InvocationResponse, name):
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        return getattr(self.result(), name)

    def __str__(self) -> str:
        return str(self.result())

    def __repr__(self) -> str:  # (a notebook cell ending with the response shows it)
        return repr(self.result())

    def __del__(self) -> None:
        if not self._started:
            warnings.warn(_NEVER_SENT, RuntimeWarning, stacklevel=2)


_BLOCKED = (
    "endpoint.invoke(...) under a running event loop (a notebook) returns an awaitable; its "
    "response was used without await, so the loop was blocked until it came. Write "
    "response = await endpoint.invoke(payload) to keep the loop running."
)


_NEVER_SENT = (
    "endpoint.invoke(...) was never awaited, so no request was sent: "
    "write response = await endpoint.invoke(payload)"
)


def _in_a_thread(
    invoke: RawInvoke, endpoint: Endpoint, payload: dict[str, Any]
) -> InvocationResponse:
    """`invoke_directly` in a trio run of its own, in a thread (this one runs a loop)."""
    ended: list[outcome.Outcome[InvocationResponse]] = []

    def run() -> None:
        ended.append(outcome.capture(trio.run, invoke_directly, invoke, endpoint, payload))

    thread = threading.Thread(target=run, name="llmeter-trio invoke", daemon=True)
    thread.start()
    thread.join()
    return ended[0].unwrap()


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
        return PendingInvocation(invoke, self, payload)

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
