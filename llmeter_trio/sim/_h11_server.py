"""A lean HTTP/1.1 server for ASGI apps such as `SimApp`: h11 parses, trio carries.

Why not hypercorn: serving a ten-token stream through hypercorn costs the
simulated server about 0.7-1.2 ms of CPU per request, which on a small
machine is CPU taken from the load generator it is there to measure. This
server does the same job for an ASGI app of `SimApp`'s kind (``http`` scopes
only, no lifespan, no HTTP/2, no TLS) at a fraction of that cost:

- one trio task per connection (`trio.serve_listeners`), requests on it one
  after the other (keep-alive; pipelined requests wait their turn);
- h11 parses each request head and body (content-length or chunked); a new
  h11 state machine per request, fed what the last one had buffered;
- response heads are built here, straight to bytes, and sent with the
  response's first body message: one ``send_all`` per ASGI body message
  (as the ASGI spec asks, nothing goes out before the first body message).
  A body without ``content-length`` goes out chunked (HTTP/1.1), an empty
  body message sends nothing;
- ``receive()``, once the request body has been read, waits for the client
  to go away and then returns ``http.disconnect`` (so an app can cancel its
  work); bytes the client sends meanwhile are kept for the next request.
  When the response has ended, it returns ``http.disconnect`` at once;
- ``send()`` on a connection whose client went away raises
  `ClientDisconnected` (an `OSError`, as the ASGI spec asks);
- an app that returns before ending its response gets its connection
  closed where it stopped (headers flushed first if they were pending): the
  client sees a broken body, which is how `SimApp` drops a connection; an
  app that returns without starting one, or fails before, answers 500;
- shutdown (`serve` once `shutdown_trigger` returns): stop accepting, close
  idle connections at once, give requests in flight `graceful_timeout`
  seconds to end their responses, then cancel them and close.
"""

from __future__ import annotations

import contextlib
import logging
import socket as stdlib_socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import unquote

import h11
import trio

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

__all__ = ["ClientDisconnected", "H11Server", "open_listeners", "serve"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_LOGGER = logging.getLogger("llmeter_trio.sim")

_READ_SIZE: Final = 65536
_MAX_HELD: Final = 65536  # bytes of a client's next request held while its response is made
_MAX_DRAIN: Final = 1 << 20  # bytes of an unread request body read (and dropped) to keep alive
_ASGI: Final = {"version": "3.0", "spec_version": "2.3"}

# response states
_NOT_STARTED: Final = 0  # no http.response.start yet
_HEAD_PENDING: Final = 1  # started; the head goes out with the first body message
_SENDING: Final = 2  # head sent, body under way
_WRITING: Final = 3  # a send_all in progress (if it never ends, the connection is unusable)
_COMPLETE: Final = 4  # the body's end was sent

_STATUS_LINES: Final = {
    status.value: b"HTTP/1.1 %d %s\r\n" % (status.value, status.phrase.encode("ascii"))
    for status in HTTPStatus
}
_NO_BODY_STATUSES: Final = frozenset({204, 304})
_FRAMING_HEADERS: Final = frozenset({b"connection", b"keep-alive", b"transfer-encoding"})
_CHUNKED: Final = b"transfer-encoding: chunked\r\n"
_CLOSE: Final = b"connection: close\r\n"
_LAST_CHUNK: Final = b"0\r\n\r\n"
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


class ClientDisconnected(OSError):
    """`send` on a connection whose client went away."""


def _error_response(status: int) -> bytes:
    phrase = HTTPStatus(status).phrase.encode("ascii")
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, phrase, len(phrase), phrase)
    )


def _only_disconnects(error: BaseException) -> bool:
    """Whether `error` (maybe an exception group) is nothing but clients going away."""
    if isinstance(error, BaseExceptionGroup):
        return all(_only_disconnects(inner) for inner in error.exceptions)
    return isinstance(error, ClientDisconnected)


def _address(sockaddr: Any) -> tuple[str, int] | None:
    if isinstance(sockaddr, tuple) and len(sockaddr) >= 2:
        return (str(sockaddr[0]), int(sockaddr[1]))
    return None


class _Connection:
    """One client connection: its requests, one at a time, and their ASGI calls.

    The per-request state lives here (reset for each request) rather than in
    an object per request; `receive` and `send` are what the app is given.
    """

    __slots__ = (
        "_body_done",
        "_chunked",
        "_continued",
        "_disconnected",
        "_drop_body",
        "_head",
        "_held",
        "_http10",
        "_keep_alive",
        "_method",
        "_parser",
        "_remaining",
        "_state",
        "_waiter",
        "cancel_scope",
        "client",
        "idle",
        "local",
        "server",
        "socket",
        "stream",
    )

    def __init__(self, server: H11Server, stream: trio.SocketStream) -> None:
        self.server = server
        self.stream = stream
        self.socket = stream.socket
        self.cancel_scope = trio.CancelScope()
        self.idle = True  # waiting for a request (closed at once on shutdown)
        try:
            self.client = _address(self.socket.getpeername())
            self.local = _address(self.socket.getsockname())
        except OSError:
            self.client = self.local = None
        self._parser = h11.Connection(h11.SERVER)
        self._reset(b"GET", False)

    def _reset(self, method: bytes, http10: bool) -> None:
        self._method = method
        self._http10 = http10
        self._keep_alive = not http10
        self._body_done = False  # the request body was read to its end
        self._continued = False  # "100 Continue" sent
        self._disconnected = False
        self._held = 0  # bytes read ahead while waiting for a disconnect
        self._state = _NOT_STARTED
        self._head = b""
        self._drop_body = False  # HEAD, 204, 304: the body is not sent
        self._chunked = False
        self._remaining = -1  # content-length bytes still to send; -1 when not fixed
        self._waiter: trio.CancelScope | None = None

    # -- the connection's life --------------------------------------------------------

    async def run(self) -> None:
        try:
            with self.cancel_scope:
                while not self.server.closing:
                    request = await self._next_request()
                    if request is None or not await self._serve(request):
                        return
                    data, closed = self._parser.trailing_data
                    if closed:
                        return
                    self._parser = h11.Connection(h11.SERVER)
                    if data:
                        self._parser.receive_data(data)
        finally:
            self.socket.close()
            self.server.connections.discard(self)

    async def _recv(self) -> bytes:
        """The next bytes from the client; b"" once it closed (or broke) the connection."""
        try:
            return await self.stream.receive_some(_READ_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return b""

    async def _write(self, data: bytes) -> None:
        if self._disconnected:
            raise ClientDisconnected("the client went away")
        try:
            await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            self._disconnected = True
            raise ClientDisconnected("the client went away") from exc

    async def _write_quietly(self, data: bytes) -> None:
        with contextlib.suppress(ClientDisconnected):
            await self._write(data)

    async def _next_request(self) -> h11.Request | None:
        parser = self._parser
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as exc:  # not HTTP/1.1: say so, and close
                await self._write_quietly(_error_response(exc.error_status_hint))
                return None
            if type(event) is h11.Request:
                self.idle = False
                return event
            if event is not h11.NEED_DATA:  # ConnectionClosed
                return None
            self.idle = True
            if self.server.closing:
                return None
            parser.receive_data(await self._recv())  # b"": the client closed

    async def _serve(self, request: h11.Request) -> bool:
        """Run the app for one request; whether the connection can carry another."""
        method = request.method
        http10 = request.http_version == b"1.0"
        self._reset(method, http10)
        headers = []
        for name, value in request.headers:
            if name == b"connection" and b"close" in value.lower():
                self._keep_alive = False
            headers.append((name, value))
        raw_path, _, query = request.target.partition(b"?")
        path = raw_path.decode("latin-1")
        scope = {
            "type": "http",
            "asgi": dict(_ASGI),
            "http_version": "1.0" if http10 else "1.1",
            "method": method.decode("ascii"),
            "scheme": "http",
            "path": unquote(path) if "%" in path else path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": self.client,
            "server": self.local,
        }
        try:
            await self.server.app(scope, self.receive, self.send)
        except Exception as exc:
            if not _only_disconnects(exc):
                _LOGGER.error(
                    "the app failed on %s %s", scope["method"], scope["path"], exc_info=exc
                )
            if self._state <= _HEAD_PENDING and not self._disconnected:
                await self._write_quietly(_error_response(500))
            return False
        finally:
            waiter = self._waiter
            if waiter is not None:
                waiter.cancel()
        state = self._state
        if state == _COMPLETE:
            return self._keep_alive and not self._disconnected and await self._finish_request()
        # The app returned before ending its response: close where it stopped.
        if state == _NOT_STARTED:
            if not self._disconnected:
                _LOGGER.error("the app sent no response to %s %s", scope["method"], scope["path"])
                await self._write_quietly(_error_response(500))
        elif state == _HEAD_PENDING:
            await self._write_quietly(self._head)
        return False

    async def _finish_request(self) -> bool:
        """Read what is left of a request body the app did not read; False if that fails."""
        if self._body_done:
            return True
        parser = self._parser
        if parser.they_are_waiting_for_100_continue and not self._continued:
            return False  # the client has not sent the body and will not
        drained = 0
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError:
                return False
            kind = type(event)
            if kind is h11.EndOfMessage:
                return True
            if kind is h11.Data:
                continue
            if event is not h11.NEED_DATA or drained > _MAX_DRAIN:
                return False
            data = await self._recv()
            if not data:
                return False
            drained += len(data)
            parser.receive_data(data)

    # -- ASGI -------------------------------------------------------------------------

    async def receive(self) -> Message:
        if not self._body_done and not self._disconnected:
            return await self._receive_body()
        if not self._disconnected and self._state != _COMPLETE:
            await self._wait_for_disconnect()
        return {"type": "http.disconnect"}

    async def _receive_body(self) -> Message:
        parser = self._parser
        parts: list[bytes] = []
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError:  # e.g. the client closed part-way through the body
                event = h11.ConnectionClosed()
            if type(event) is h11.Data:
                parts.append(event.data)
            elif type(event) is h11.EndOfMessage:
                self._body_done = True
                body = bytes(parts[0]) if len(parts) == 1 else b"".join(parts)
                return {"type": "http.request", "body": body, "more_body": False}
            elif event is h11.NEED_DATA:
                if parts:
                    return {"type": "http.request", "body": b"".join(parts), "more_body": True}
                if (
                    parser.they_are_waiting_for_100_continue
                    and not self._continued
                    and self._state == _NOT_STARTED
                ):
                    self._continued = True
                    await self._write_quietly(_CONTINUE)
                parser.receive_data(await self._recv())  # b"": the client closed
            else:  # the connection closed before the body's end
                self._disconnected = True
                self._keep_alive = False
                return {"type": "http.disconnect"}

    async def _wait_for_disconnect(self) -> None:
        """Until the client goes away, or the response ends (then `_waiter` is cancelled)."""
        with trio.CancelScope() as waiter:
            self._waiter = waiter
            try:
                while True:
                    data = await self._recv()
                    if not data:
                        self._disconnected = True
                        return
                    self._parser.receive_data(data)  # the next request, read ahead
                    self._held += len(data)
                    if self._held > _MAX_HELD:
                        await trio.sleep_forever()  # read no more until the response ends
            finally:
                if self._waiter is waiter:
                    self._waiter = None

    async def send(self, message: Message) -> None:
        kind = message["type"]
        state = self._state
        if kind == "http.response.body":
            if state != _HEAD_PENDING and state != _SENDING:
                raise RuntimeError(
                    "http.response.body before http.response.start"
                    if state == _NOT_STARTED
                    else "http.response.body after the response's end"
                    if state == _COMPLETE
                    else "http.response.body while another is being sent"
                )
            body: bytes = message.get("body", b"")
            more: bool = message.get("more_body", False)
            if self._drop_body:
                body = b""
            elif self._chunked:
                if body:
                    body = b"%x\r\n%b\r\n" % (len(body), body)
                if not more:
                    body += _LAST_CHUNK
            elif self._remaining >= 0:
                if len(body) > self._remaining:
                    raise RuntimeError("the response body is longer than its content-length")
                self._remaining -= len(body)
                if not more and self._remaining:
                    raise RuntimeError("the response body is shorter than its content-length")
            if state == _HEAD_PENDING:
                body = self._head + body
                self._head = b""
            if body:
                self._state = _WRITING
                await self._write(body)
            if more:
                self._state = _SENDING
            else:
                self._state = _COMPLETE
                waiter = self._waiter
                if waiter is not None:
                    waiter.cancel()
        elif kind == "http.response.start":
            if state != _NOT_STARTED:
                raise RuntimeError("http.response.start sent twice")
            self._head = self._build_head(message["status"], message.get("headers", ()))
            self._state = _HEAD_PENDING
        else:
            raise ValueError(f"unexpected ASGI message type {kind!r}")

    def _build_head(self, status: int, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
        line = _STATUS_LINES.get(status)
        if line is None:
            if not 200 <= status <= 999:
                raise ValueError(f"bad response status {status!r}")
            line = b"HTTP/1.1 %d \r\n" % status
        parts = [line]
        length = -1
        for name, value in headers:
            lower = name.lower()
            if b"\n" in value or b"\r" in value or b"\n" in name or b"\r" in name or b":" in name:
                raise ValueError(f"bad response header {name!r}: {value!r}")
            if lower in _FRAMING_HEADERS:  # the server frames the body and owns the connection
                if lower == b"connection" and b"close" in value.lower():
                    self._keep_alive = False
                continue
            if lower == b"content-length":
                length = int(value)
            parts.append(b"%s: %s\r\n" % (name, value))
        if self._method == b"HEAD" or status in _NO_BODY_STATUSES:
            self._drop_body = True
        elif length >= 0:
            self._remaining = length
        elif self._http10:
            self._keep_alive = False  # the body ends when the connection does
        else:
            self._chunked = True
            parts.append(_CHUNKED)
        if not self._keep_alive:
            parts.append(_CLOSE)
        parts.append(b"\r\n")
        return b"".join(parts)


class H11Server:
    """Serves one ASGI app on the streams handed to `handle` (see `serve`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.connections: set[_Connection] = set()
        self.closing = False

    async def handle(self, stream: trio.SocketStream) -> None:
        """Serve one connection until either side closes it (or `close_idle` says so)."""
        if self.closing:
            return
        connection = _Connection(self, stream)
        self.connections.add(connection)
        await connection.run()

    def close_idle(self) -> None:
        """Take no more requests: close the idle connections now, the others after
        their current response."""
        self.closing = True
        for connection in list(self.connections):
            if connection.idle:
                connection.cancel_scope.cancel()


def _split_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, [IPV6]:PORT or fd://N, not {bind!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


async def open_listeners(bind: str) -> list[trio.SocketListener]:
    """Listeners for ``host:port`` (``[::1]:port`` for IPv6, port 0 picks a free
    one), or ``fd://N``: a socket already bound and listening, e.g. inherited."""
    if bind.startswith("fd://"):
        sock = stdlib_socket.socket(fileno=int(bind[len("fd://") :]))
        return [trio.SocketListener(trio.socket.from_stdlib_socket(sock))]
    host, port = _split_bind(bind)
    return await trio.open_tcp_listeners(port, host=host)


def listener_url(listener: trio.SocketListener) -> str:
    host, port = listener.socket.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(
    app: ASGIApp,
    bind: str,
    *,
    shutdown_trigger: Callable[[], Awaitable[object]],
    graceful_timeout: float = 0.0,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` on `bind` (see `open_listeners`) until `shutdown_trigger`
    returns; reports the bound ``http://host:port`` through `task_status`.

    Then idle connections close at once and requests in flight get
    `graceful_timeout` seconds to end their responses before they are
    cancelled (their connections closed where they are).
    """
    listeners = await open_listeners(bind)
    server = H11Server(app)
    async with trio.open_nursery() as connections:
        try:
            async with trio.open_nursery() as accepting:
                # the listeners close when this is cancelled
                await accepting.start(
                    partial(trio.serve_listeners, handler_nursery=connections),
                    server.handle,
                    listeners,
                )
                task_status.started(listener_url(listeners[0]))
                await shutdown_trigger()
                accepting.cancel_scope.cancel()
        finally:
            server.close_idle()
            connections.cancel_scope.deadline = trio.current_time() + max(graceful_timeout, 0.0)
