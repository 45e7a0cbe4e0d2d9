"""`LeanTransport`: HTTP/1.1 for httpx, straight over h11 and trio streams.

httpx stays the API (requests, responses, auth, `httpx.MockTransport` in
tests); this replaces only what sits under `httpx.AsyncClient`: httpcore's
connection pool. On a loopback stream of ten small chunks that pool costs
several times the client CPU of the HTTP exchange itself (see "The lean
transport" in docs/performance.md), and a load generator's CPU is latency it
adds to what it measures and load it cannot offer.

The model is the one a closed-loop load test needs, one connection per request
in flight::

    request  -> take the most recently used idle connection to the origin
                (skipping any the server has closed), or open one if fewer than
                `max_connections` are open, or wait for one to come back
             -> send head and body in one write; read until the response head
    response -> its body streams to httpx as it arrives (`httpx.AsyncByteStream`)
    body end -> the connection goes back to the idle stack, unless either side
                asked to close it
    anything else (an error, a cancellation, a body closed before its end)
             -> the connection is closed at once, never reused half-read

`preconnect` opens idle connections ahead of the first requests (a run does so
before its clock starts).

Errors are httpx's: `httpx.ConnectError`, `httpx.ReadError` and
`httpx.WriteError` for the network, `httpx.RemoteProtocolError` when the server
broke HTTP (e.g. closed the connection part-way through a body), and the
timeout classes when the request's ``timeout`` extension sets limits. Their
messages keep the reason, e.g. the TLS failure behind a `httpx.ConnectError`.

A new connection is reported through the request's ``trace`` extension with
httpcore's event names and info (``connection.connect_tcp.started`` /
``.complete`` / ``.failed``, and ``connection.start_tls.*`` for HTTPS), so
connection timing works the same over either transport. Requests on a reused
connection report nothing.

What it does not do: HTTP/2, proxies, Unix sockets, and retries, except one:
a request that fails on a reused keep-alive connection before a single byte of
answer came back (the server had closed that idle connection as the request
went out) is sent again, once, on a new connection, when its body can be sent
again.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import h11
import httpx
import trio

from ._base import mask_url
from ._errors import describe_exception
from ._tls import tls_context

__all__ = ["LeanTransport"]

_READ_SIZE = 65536
_HEAD_CACHE_SIZE = 64  # distinct request heads kept (see `LeanTransport._request_head`)
_DEFAULT_PORTS = {b"http": 80, b"https": 443}
_CONNECTION_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)

Origin = tuple[bytes, str, int]  # (scheme, host, port)
Trace = Callable[[str, dict[str, Any]], Awaitable[None]]


class _Stale(Exception):
    """A reused connection failed before any byte of the answer came back."""


class _Connection:
    """One HTTP/1.1 connection: a trio stream and the h11 state machine over it."""

    __slots__ = ("h11", "origin", "socket", "stream")

    def __init__(self, origin: Origin, stream: trio.abc.Stream, socket: trio.socket.SocketType):
        self.origin = origin
        self.stream = stream
        self.socket = socket
        self.h11 = h11.Connection(h11.CLIENT)

    def close(self) -> None:
        """Close at once (no TLS close_notify): safe anywhere, even in a cancelled scope."""
        self.socket.close()

    def is_stale(self) -> bool:
        """Whether an idle connection can no longer be used.

        An idle HTTP/1.1 connection has nothing to read; if it is readable,
        the server closed it (or sent bytes nobody asked for).
        """
        return self.socket.fileno() < 0 or self.socket.is_readable()

    async def receive(self, read_timeout: float | None) -> bool:
        """Feed h11 the next bytes from the server; False at the end of the stream."""
        try:
            if read_timeout is None:
                data = await self.stream.receive_some(_READ_SIZE)
            else:
                with trio.fail_after(read_timeout):
                    data = await self.stream.receive_some(_READ_SIZE)
        except trio.TooSlowError:
            raise httpx.ReadTimeout(f"no data from the server within {read_timeout:g} s") from None
        except _CONNECTION_ERRORS as exc:
            raise httpx.ReadError(_describe(exc)) from exc
        self.h11.receive_data(data)  # type: ignore[arg-type]  # bytes in practice
        return bool(data)


class LeanTransport(httpx.AsyncBaseTransport):
    """An httpx transport for HTTP/1.1 that keeps at most `max_connections` open.

    Give it to an `httpx.AsyncClient` (``transport=LeanTransport(n)``) sized to
    the number of requests that will be in flight at once: each request in
    flight holds one connection, and a request beyond `max_connections` waits
    for one to be free (the ``pool`` timeout, when set, bounds that wait).
    Connections are kept alive and reused most-recent first, so N closed-loop
    clients use N connections.

    `ssl_context` is used for ``https`` origins (set to offer HTTP/1.1 only);
    by default it is `tls_context()`'s, which trusts what httpx trusts by
    default (``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, else certifi's CA bundle),
    made when the first HTTPS connection opens.
    """

    def __init__(self, max_connections: int = 1, *, ssl_context: ssl.SSLContext | None = None):
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections!r}")
        self.max_connections = max_connections
        if ssl_context is not None:
            ssl_context.set_alpn_protocols(["http/1.1"])
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open = 0  # connections open or being opened, idle or not
        self._waiters = trio.lowlevel.ParkingLot()
        self._closed = False
        # h11 request events by method, target and headers (see `_request_head`).
        self._heads: dict[tuple[str, bytes, tuple[tuple[bytes, bytes], ...]], h11.Request] = {}

    @property
    def open_connections(self) -> int:
        """Connections open (or being opened) now, idle or in use."""
        return self._open

    @property
    def idle_connections(self) -> int:
        """Open connections waiting for a request."""
        return sum(len(stack) for stack in self._idle.values())

    # -- the pool -----------------------------------------------------------------

    async def _acquire(
        self, origin: Origin, pool_timeout: float | None, fresh: bool = False
    ) -> _Connection | None:
        """An idle connection to `origin` (unless `fresh`), or None: then a slot is
        reserved for a new one."""
        if pool_timeout is None:
            return await self._acquire_forever(origin, fresh)
        try:
            with trio.fail_after(pool_timeout):
                return await self._acquire_forever(origin, fresh)
        except trio.TooSlowError:
            raise httpx.PoolTimeout(
                f"no connection free within {pool_timeout:g} s ({self.max_connections} in use)"
            ) from None

    async def _acquire_forever(self, origin: Origin, fresh: bool) -> _Connection | None:
        while True:
            if self._closed:
                raise RuntimeError("the transport is closed")
            stack = None if fresh else self._idle.get(origin)
            while stack:
                connection = stack.pop()
                if not connection.is_stale():
                    return connection
                self._forget(connection)
            if self._open < self.max_connections:
                self._open += 1
                return None
            if not self._close_an_idle_connection():
                await self._waiters.park()

    def _close_an_idle_connection(self) -> bool:
        """Make room by closing an idle connection to another origin, if there is one."""
        for stack in self._idle.values():
            if stack:
                self._forget(stack.pop(0))  # the least recently used
                return True
        return False

    def _forget(self, connection: _Connection) -> None:
        """Close a connection that is no longer in the idle stack nor in use; free its slot."""
        connection.close()
        self._open -= 1
        self._waiters.unpark()

    def _release(self, connection: _Connection) -> None:
        """A response ended: keep the connection for the next request if both sides agree."""
        state = connection.h11
        if state.our_state is h11.DONE and state.their_state is h11.DONE and not self._closed:
            state.start_next_cycle()
            self._idle.setdefault(connection.origin, []).append(connection)
            self._waiters.unpark()
        else:
            self._forget(connection)

    async def aclose(self) -> None:
        """Close the idle connections; those in use close when their responses do."""
        self._closed = True
        for stack in self._idle.values():
            while stack:
                self._forget(stack.pop())
        self._waiters.unpark_all()
        await trio.lowlevel.checkpoint()

    async def preconnect(
        self, url: httpx.URL | str, connections: int, connect_timeout: float | None = None
    ) -> int:
        """Open up to `connections` idle connections to `url`'s origin, at once; how many opened.

        Never more than the pool has room for. A connection that cannot be
        opened (the server is down, TLS fails) is not an error here: its slot
        stays free, and the request that needs it will try again and fail as
        usual. No ``trace`` events: these connections belong to no request.
        """
        origin = _origin(httpx.URL(url))
        wanted = min(connections, self.max_connections - self._open)
        opened = 0

        async def open_one() -> None:
            nonlocal opened
            self._open += 1  # the slot, reserved while connecting
            try:
                connection = await self._connect(origin, None, connect_timeout)
            except httpx.TransportError:
                self._open -= 1
                self._waiters.unpark()
                return
            except BaseException:
                self._open -= 1
                self._waiters.unpark()
                raise
            if self._closed:
                self._forget(connection)
                return
            self._idle.setdefault(origin, []).append(connection)
            self._waiters.unpark()
            opened += 1

        async with trio.open_nursery() as nursery:
            for _ in range(max(0, wanted)):
                nursery.start_soon(open_one)
        return opened

    # -- one request --------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = _origin(request.url)
        extensions = request.extensions
        timeouts: dict[str, float | None] = extensions.get("timeout") or {}
        trace: Trace | None = extensions.get("trace")
        can_resend = isinstance(request.stream, httpx.ByteStream)
        connection = await self._acquire(origin, timeouts.get("pool"))
        while True:
            reused = connection is not None
            try:
                if connection is None:
                    connection = await self._connect(origin, trace, timeouts.get("connect"))
                head = await self._send(connection, request, timeouts, reused and can_resend)
            except _Stale:  # sent again, once, on a new connection
                assert connection is not None
                self._forget(connection)
                connection = await self._acquire(origin, timeouts.get("pool"), fresh=True)
                continue
            except BaseException:
                if connection is None:
                    self._open -= 1  # the slot reserved for a connection that never opened
                    self._waiters.unpark()
                else:
                    self._forget(connection)
                raise
            break
        return httpx.Response(
            head.status_code,
            headers=head.headers.raw_items(),
            stream=_ResponseBody(self, connection, timeouts.get("read")),
            extensions={"http_version": b"HTTP/" + head.http_version, "reason_phrase": head.reason},
        )

    async def _connect(
        self, origin: Origin, trace: Trace | None, connect_timeout: float | None
    ) -> _Connection:
        scheme, host, port = origin
        try:
            with trio.fail_after(connect_timeout if connect_timeout is not None else math.inf):
                if trace is not None:
                    info = {"host": host, "port": port, "local_address": None,
                            "timeout": connect_timeout, "socket_options": None}  # fmt: skip
                    await trace("connection.connect_tcp.started", info)
                try:
                    tcp = await trio.open_tcp_stream(host, port)
                except BaseException as exc:
                    if trace is not None:
                        await trace("connection.connect_tcp.failed", {"exception": exc})
                    raise
                try:
                    if trace is not None:
                        await trace("connection.connect_tcp.complete", {"return_value": tcp})
                    stream: trio.abc.Stream = tcp
                    if scheme == b"https":
                        stream = await self._start_tls(tcp, host, trace)
                except BaseException:
                    tcp.socket.close()
                    raise
                return _Connection(origin, stream, tcp.socket)
        except trio.TooSlowError:
            raise httpx.ConnectTimeout(
                f"could not connect to {host}:{port} within {connect_timeout:g} s"
            ) from None
        except _CONNECTION_ERRORS as exc:  # ssl.SSLError included (an OSError)
            raise httpx.ConnectError(
                f"could not connect to {host}:{port}: {_describe(exc)}"
            ) from exc

    async def _start_tls(
        self, tcp: trio.SocketStream, host: str, trace: Trace | None
    ) -> trio.SSLStream[trio.SocketStream]:
        if self._ssl_context is None:
            self._ssl_context = tls_context()
            self._ssl_context.set_alpn_protocols(["http/1.1"])
        info = {"ssl_context": self._ssl_context, "server_hostname": host, "timeout": None}
        if trace is not None:
            await trace("connection.start_tls.started", info)
        stream = trio.SSLStream(tcp, self._ssl_context, server_hostname=host, https_compatible=True)
        try:
            await stream.do_handshake()
        except BaseException as exc:
            if trace is not None:
                await trace("connection.start_tls.failed", {"exception": exc})
            raise
        if trace is not None:
            await trace("connection.start_tls.complete", {"return_value": stream})
        return stream

    async def _send(
        self,
        connection: _Connection,
        request: httpx.Request,
        timeouts: dict[str, float | None],
        may_be_stale: bool,
    ) -> h11.Response:
        """Send the request; read up to the end of the answer's head."""
        state = connection.h11
        received = False  # any byte of an answer yet
        try:
            head = self._request_head(request)
            if isinstance(request.stream, httpx.ByteStream):  # bytes in memory: one write
                body = b"".join(request.stream)
                data = state.send(head) + (state.send(h11.Data(data=body)) if body else b"")
                data += state.send(h11.EndOfMessage())
                await _write(connection, data, timeouts.get("write"))
            elif isinstance(request.stream, httpx.AsyncByteStream):
                await _write(connection, state.send(head), timeouts.get("write"))
                async for chunk in request.stream:
                    if chunk:
                        await _write(connection, state.send(h11.Data(data=chunk)), None)
                await _write(connection, state.send(h11.EndOfMessage()), timeouts.get("write"))
            else:
                raise TypeError("LeanTransport needs an async request body (httpx.AsyncClient)")
            read_timeout = timeouts.get("read")
            while True:
                event = state.next_event()
                if event is h11.NEED_DATA:
                    if await connection.receive(read_timeout):
                        received = True
                    elif not received:
                        if may_be_stale:
                            raise _Stale
                        raise httpx.RemoteProtocolError(
                            "the server closed the connection without sending an answer"
                        )
                elif type(event) is h11.Response:
                    return event
                elif not isinstance(event, h11.InformationalResponse):  # e.g. 100 Continue
                    raise httpx.RemoteProtocolError(f"unexpected {event!r} before the answer")
        except (httpx.ReadError, httpx.WriteError):
            if may_be_stale and not received:
                raise _Stale from None
            raise
        except h11.ProtocolError as exc:
            _protocol_error(exc)

    def _request_head(self, request: httpx.Request) -> h11.Request:
        """The h11 request event, made (and so validated) once per distinct request head.

        h11 checks every header name and value against its grammar, and a run
        sends the same head (but for Content-Length, which varies little) again
        and again; h11 events are immutable, so the same event can be sent again.
        """
        key = (request.method, request.url.raw_path, tuple(request.headers.raw))
        head = self._heads.get(key)
        if head is None:
            head = h11.Request(method=key[0], target=key[1], headers=list(key[2]))
            if len(self._heads) >= _HEAD_CACHE_SIZE:
                self._heads.clear()
            self._heads[key] = head
        return head


async def _write(connection: _Connection, data: bytes, write_timeout: float | None) -> None:
    try:
        if write_timeout is None:
            await connection.stream.send_all(data)
        else:
            with trio.fail_after(write_timeout):
                await connection.stream.send_all(data)
    except trio.TooSlowError:
        raise httpx.WriteTimeout(f"could not send within {write_timeout:g} s") from None
    except _CONNECTION_ERRORS as exc:
        raise httpx.WriteError(_describe(exc)) from exc


class _ResponseBody(httpx.AsyncByteStream):
    """The body of one answer, read from its connection as httpx asks for it."""

    __slots__ = ("_connection", "_read_timeout", "_transport")

    def __init__(
        self, transport: LeanTransport, connection: _Connection, read_timeout: float | None
    ) -> None:
        self._transport = transport
        self._connection: _Connection | None = connection
        self._read_timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            raise httpx.StreamClosed()
        state = connection.h11
        try:
            while True:
                event = state.next_event()
                if type(event) is h11.Data:
                    yield bytes(event.data)
                elif event is h11.NEED_DATA:
                    await connection.receive(self._read_timeout)
                elif type(event) is h11.EndOfMessage:
                    break
                else:  # ConnectionClosed or PAUSED: neither can come before the body ends
                    raise httpx.RemoteProtocolError(f"unexpected {event!r} in the answer's body")
        except h11.ProtocolError as exc:
            _protocol_error(exc)
        self._connection = None
        self._transport._release(connection)

    async def aclose(self) -> None:
        """Closed before its end (or never read): the connection is not reusable."""
        connection, self._connection = self._connection, None
        if connection is not None:
            self._transport._forget(connection)


def _origin(url: httpx.URL) -> Origin:
    scheme = url.raw_scheme
    if scheme not in _DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(
            f"LeanTransport speaks http and https, not {url.scheme!r} ({mask_url(str(url))})"
        )
    return (scheme, url.host, url.port or _DEFAULT_PORTS[scheme])


def _protocol_error(exc: h11.ProtocolError) -> NoReturn:
    message = str(exc)
    if isinstance(exc, h11.LocalProtocolError):
        raise httpx.LocalProtocolError(message) from exc
    if "peer closed connection" in message or "incomplete" in message:
        message = f"the server closed the connection part-way through the answer ({message})"
    raise httpx.RemoteProtocolError(message) from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, trio.ClosedResourceError):
        return "the connection was closed"
    if isinstance(exc, trio.BrokenResourceError) and exc.__cause__ is not None:
        exc = exc.__cause__
    return describe_exception(exc)
