"""The HTTP side the OpenAI adapters share: options, one pooled client per run, timing.

One request, as `invoke` runs it::

    build the request (JSON body, headers)      not timed
    StreamRecorder()                            send_time: handed to httpx now
    send it (see `_Session`), stream=True       a new connection is traced: connect_time
    read the body to its end                    a chunk per streamed output event
    recorder.finish()                           time_to_last_token: the body ended
    close the response                          the connection goes back to the pool

Nothing is imported, created or warmed up lazily inside that: the client (and
its transport, `LeanTransport` by default) is made by `open_session` before the
run, or, when `invoke` is called outside a session, for that one call.
"""

from __future__ import annotations

import base64
import os
import ssl
import urllib.request
import warnings
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Literal

import attrs
import httpx
import orjson
import trio

from ..._version import __version__
from .._base import (
    Endpoint,
    check_header_value,
    headers_field,
    query_field,
    secret_field,
    url_field,
)
from .._base_url import valid_base_url
from .._errors import classify_exception, classify_status, describe_exception
from .._lean_transport import LeanTransport
from .._response import ErrorClass, InvocationResponse
from .._timing import StreamRecorder
from .._tls import tls_context
from ._parsing import (
    MAX_ERROR_BODY,
    StreamState,
    classify_error_object,
    describe_error_object,
    keep_text,
)
from ._sse import SSEDecoder

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MAX_RESPONSE_CHARS", "OpenAIEndpointBase", "ask_for_usage"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MAX_RESPONSE_CHARS = 1_000_000
_REQUEST_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_STREAM_HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream"}
_CONNECT_STARTED = frozenset(
    {"connection.connect_tcp.started", "connection.connect_unix_socket.started"}
)
_CONNECT_COMPLETE = frozenset(
    {"connection.connect_tcp.complete", "connection.connect_unix_socket.complete",
     "connection.start_tls.complete", "http2.send_connection_init.complete"}
)  # fmt: skip


def _default_base_url() -> str:
    return os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL


def _check_verify(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool | str | os.PathLike):
        raise TypeError(f"verify must be True, False or the path of a CA bundle, not {value!r}")


def _check_max_response_chars(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValueError(f"max_response_chars must be a whole number, 0 or more, or None: {value}")


def _environment_proxy(base_url: str) -> bool:
    """Whether httpx would send requests to `base_url` through a proxy from the environment."""
    proxies = urllib.request.getproxies()
    url = httpx.URL(base_url)
    if not (proxies.get(url.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(url.host)


class _ConnectTrace:
    """An httpx ``trace`` extension that times the opening of a new connection.

    Both transports (httpcore's and `LeanTransport`) report
    ``connection.connect_tcp.*`` (and ``start_tls.*`` for HTTPS) only when the
    request opens a connection; on a reused one they report neither, and
    `connect_time` stays None.
    """

    __slots__ = ("ended", "started")

    def __init__(self) -> None:
        self.started: float | None = None
        self.ended: float | None = None

    async def __call__(self, name: str, info: Mapping[str, Any]) -> None:
        if name in _CONNECT_STARTED:
            self.started = trio.current_time()
        elif name in _CONNECT_COMPLETE and self.started is not None:
            self.ended = trio.current_time()

    @property
    def connect_time(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


class _Session:
    """One run's HTTP side: its `httpx.AsyncClient`, and how a request is made and sent.

    With httpx's own transport (``http_transport="httpx"``) every request goes
    through ``client.build_request`` and ``client.send``, as in any httpx
    program. When the endpoint holds the transport (`LeanTransport`, or a
    test's), the request is made from a template the client built once (URL
    with query, merged headers, timeouts) and handed to the transport
    directly: the client's per-request machinery (URL merging, auth and
    redirect flows, cookie jar) costs about 0.1 ms of CPU per request, and
    these requests use none of it (credentials are plain headers, those in
    the URL's user info included, as httpx's Basic auth would send them;
    redirects are not followed; no cookies are kept between requests).
    """

    __slots__ = ("client", "headers", "path", "timeout", "transport", "url")

    def __init__(
        self, client: httpx.AsyncClient, transport: httpx.AsyncBaseTransport | None, path: str
    ) -> None:
        self.client = client
        self.transport = transport
        self.path = path
        self.headers: dict[bool, httpx.Headers] = {}
        for streaming, extra in ((True, _STREAM_HEADERS), (False, _REQUEST_HEADERS)):
            template = client.build_request("POST", path, headers=extra)
            raw = template.headers.raw
            self.headers[streaming] = httpx.Headers(
                [h for h in raw if h[0].lower() != b"content-length"]
            )
        self.url = template.url
        if self.url.userinfo:  # what httpx's client would send: Basic auth, not user info
            basic = base64.b64encode(f"{self.url.username}:{self.url.password}".encode())
            for headers in self.headers.values():
                headers["Authorization"] = "Basic " + basic.decode("ascii")
            self.url = self.url.copy_with(userinfo=b"")
        self.timeout = template.extensions.get("timeout")

    def request(self, body: bytes, streaming: bool, trace: _ConnectTrace) -> httpx.Request:
        if self.transport is None:
            headers = _STREAM_HEADERS if streaming else _REQUEST_HEADERS
            return self.client.build_request(
                "POST", self.path, content=body, headers=headers, extensions={"trace": trace}
            )
        # What ``httpx.Request(content=body)`` makes (the template's headers, then
        # Content-Length; the body read), without its encoding machinery.
        sent = httpx.Headers(self.headers[streaming])
        sent["Content-Length"] = str(len(body))
        extensions = {"timeout": self.timeout, "trace": trace}
        request = httpx.Request(
            "POST", self.url, headers=sent, stream=httpx.ByteStream(body), extensions=extensions
        )
        request.read()
        return request

    async def send(self, request: httpx.Request) -> httpx.Response:
        if self.transport is None:
            return await self.client.send(request, stream=True)
        response = await self.transport.handle_async_request(request)
        response.request = request
        return response


@attrs.define(kw_only=True)
class OpenAIEndpointBase(Endpoint):
    """Options and HTTP plumbing shared by the OpenAI-compatible endpoints.

    - `base_url`: the API root, ``https://api.openai.com/v1`` unless the
      ``OPENAI_BASE_URL`` environment variable says otherwise (as for the
      openai SDK); for a local server, e.g. ``http://127.0.0.1:8000/v1``.
    - `api_key`: sent as ``Authorization: Bearer ...``; when not given, read
      from the environment variable named by `api_key_env` (``OPENAI_API_KEY``).
      It is never saved nor shown. Without a key no Authorization is sent.
    - `extra_headers`, `extra_query`: added to every request. A header's
      value is saved and shown only for headers that carry no credential
      (``Content-Type``, ``Accept``, ``User-Agent``, ...); any other is
      masked as ``***``, as is a query value named like a credential
      (``api_key``, ``key``, ``sig``, ``...token...``). Credentials in
      `base_url` (``https://user:key@host``, ``?api_key=...``) are masked
      too. A reloaded configuration lacks the masked values.
    - `verify`: TLS certificate checks: True (the default: ``SSL_CERT_FILE``
      / ``SSL_CERT_DIR``, else certifi's CA bundle, as httpx), the path of a
      CA bundle (file or directory), or False: no checks at all, with a
      warning; the saved configuration keeps ``verify: false``.
    - `max_response_chars`: characters of each answer's text kept in its
      record (default 1,000,000; None: all). Timing and the server's token
      counts still cover the whole answer; `truncated_chars` says how many
      characters were left out.
    - `http2`: negotiate HTTP/2 (needs the ``http2`` extra: ``h2``).
    - `http_transport`: what carries the requests under httpx. ``"lean"``
      is llmeter-trio's HTTP/1.1 transport over h11 and trio (a fraction of
      the client CPU per request: the generator adds less latency and offers
      more load); ``"httpx"`` is httpx's own (httpcore) pool; ``"auto"`` (the
      default) is ``"lean"`` unless `http2` is set or an environment proxy
      (``HTTPS_PROXY``, ...) applies to `base_url`, which only httpx supports.

    The payload's ``stream`` flag chooses streaming (the default) or not.
    """

    provider: str = "openai"
    base_url: str = url_field(factory=_default_base_url, validator=valid_base_url)
    api_key: str | None = secret_field()
    api_key_env: str = "OPENAI_API_KEY"
    extra_headers: dict[str, str] = headers_field()
    extra_query: dict[str, str] = query_field()
    http2: bool = False
    http_transport: Literal["auto", "lean", "httpx"] = attrs.field(
        default="auto", validator=attrs.validators.in_(("auto", "lean", "httpx"))
    )
    verify: bool | str = attrs.field(default=True, validator=_check_verify)
    max_response_chars: int | None = attrs.field(
        default=DEFAULT_MAX_RESPONSE_CHARS, validator=_check_max_response_chars
    )
    # Test hook: an httpx transport to use instead of the network (not configuration).
    _transport: httpx.AsyncBaseTransport | None = attrs.field(
        default=None, repr=False, eq=False, alias="transport"
    )
    _session: _Session | None = attrs.field(default=None, init=False, repr=False, eq=False)

    api_path: ClassVar[str] = ""  # relative to base_url, e.g. "/chat/completions"
    stream_state: ClassVar[type[StreamState]] = StreamState

    def __attrs_post_init__(self) -> None:
        from_environment = self.api_key is None and bool(self.api_key_env)
        if from_environment:
            self.api_key = os.environ.get(self.api_key_env) or None
        if self.api_key is not None:
            where = f" (from ${self.api_key_env})" if from_environment else ""
            check_header_value(f"api_key{where}", self.api_key)
        if self.verify is False:
            warnings.warn(
                f"{type(self).__name__}: TLS certificate verification is off (verify=False): "
                "anyone on the path can read and change the traffic, API key included",
                stacklevel=3,
            )
        if self.http2 and self.http_transport == "lean":
            raise ValueError(
                "http_transport='lean' speaks HTTP/1.1 only: for http2=True "
                "use http_transport='auto' or 'httpx'"
            )

    # -- configuration ----------------------------------------------------------

    def prepare_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload with the model id (when it has none) and ``stream`` (default true)."""
        prepared = dict(payload)
        if "model" not in prepared and self.model_id:
            prepared["model"] = self.model_id
        if prepared.setdefault("stream", True):
            self._prepare_stream(prepared)
        return prepared

    def _prepare_stream(self, payload: dict[str, Any]) -> None:
        """Adjust a streaming payload (the Chat and Completions APIs ask for usage)."""

    # -- the run-wide client ----------------------------------------------------

    def _uses_lean_transport(self) -> bool:
        if self._transport is not None or self.http_transport == "httpx":
            return False
        if self.http_transport == "lean":
            return True
        return not self.http2 and not _environment_proxy(self.base_url)

    def _new_session(self, concurrency: int) -> _Session:
        headers = {"User-Agent": f"llmeter-trio/{__version__}"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        headers.update(self.extra_headers)
        size = max(1, concurrency)
        transport = self._transport
        # TLS settings are loaded now, before the run, not while connecting.
        tls: ssl.SSLContext | None = None
        if httpx.URL(self.base_url).scheme == "https":
            tls = tls_context(self.verify)
        if self._uses_lean_transport():
            transport = LeanTransport(size, ssl_context=tls)
        try:
            client = httpx.AsyncClient(
                base_url=self.base_url,
                headers=headers,
                params=self.extra_query or None,
                # No httpx timeouts, the pool's included: the run puts a
                # deadline over each whole request.
                timeout=httpx.Timeout(None),
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                http1=True,
                http2=self.http2,
                verify=tls if tls is not None else True,
                transport=transport,
            )
        except ImportError as exc:
            raise ImportError(
                f"{type(self).__name__}(http2=True) needs the h2 package: "
                "pip install 'llmeter-trio[http2]'"
            ) from exc
        return _Session(client, transport, self.api_path)

    @asynccontextmanager
    async def open_session(self, concurrency: int) -> AsyncIterator[None]:
        """One `httpx.AsyncClient` for the run, with at most `concurrency` connections."""
        session = self._new_session(concurrency)
        previous, self._session = self._session, session
        try:
            async with session.client:
                yield
        finally:
            self._session = previous

    async def preconnect(self, connections: int) -> None:
        """Open `connections` idle connections through the session's lean transport.

        Only `LeanTransport` can hold connections opened ahead of a request;
        with httpx's own pool (``http_transport="httpx"``, HTTP/2, proxies)
        this does nothing, and the first request of each client opens its
        connection, as its `connect_time` shows.
        """
        session = self._session
        if session is not None and isinstance(session.transport, LeanTransport):
            await session.transport.preconnect(session.url, connections)

    # -- one request --------------------------------------------------------------

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        """Send one request and record its answer, streamed or not.

        Outside `open_session` (a direct call), a client is made for this call.
        A payload that did not go through `prepare_payload` is prepared here.
        """
        if "stream" not in payload or ("model" not in payload and self.model_id):
            payload = self.prepare_payload(payload)
        session = self._session
        if session is not None:
            return await self._exchange(session, payload)
        session = self._new_session(1)
        async with session.client:
            return await self._exchange(session, payload)

    async def _exchange(self, session: _Session, payload: dict[str, Any]) -> InvocationResponse:
        streaming = bool(payload.get("stream"))
        trace = _ConnectTrace()
        request = session.request(orjson.dumps(payload), streaming, trace)
        recorder = StreamRecorder()
        try:
            answer = await session.send(request)
        except httpx.HTTPError as exc:
            error_class, status = classify_exception(exc)
            record = InvocationResponse.error_output(
                describe_exception(exc), error_class, status_code=status
            )
            record = recorder.finish(record)
        else:
            try:
                record = await self._read(answer, recorder, streaming)
            finally:
                await answer.aclose()
            record.status_code = answer.status_code
            if not record.failed:
                record.input_prompt = self.prompt_text(payload)
        record.connect_time = trace.connect_time
        record.input_payload = payload
        return record

    async def _read(
        self, answer: httpx.Response, recorder: StreamRecorder, streaming: bool
    ) -> InvocationResponse:
        """Read the answer to its end; the record comes back with its timings stamped."""
        if not answer.is_success:
            return recorder.finish(await _error_answer(answer))
        content_type = answer.headers.get("content-type", "")
        if streaming and not content_type.startswith("application/json"):
            return await self._read_stream(answer, recorder)
        try:
            body = await answer.aread()
        except httpx.HTTPError as exc:
            error_class, _ = classify_exception(exc)
            record = InvocationResponse.error_output(
                f"the answer broke off: {describe_exception(exc)}", error_class
            )
            return recorder.finish(record)
        return recorder.finish(keep_text(self._read_body(body), self.max_response_chars))

    async def _read_stream(
        self, answer: httpx.Response, recorder: StreamRecorder
    ) -> InvocationResponse:
        decoder = SSEDecoder()
        state = self.stream_state(recorder, self.max_response_chars)
        feed = decoder.feed
        on_event = state.on_event
        try:
            async for data in answer.aiter_bytes():
                for event in feed(data):
                    on_event(event)
        except httpx.HTTPError as exc:
            error_class, _ = classify_exception(exc)
            state.fail(error_class, f"the stream broke off: {describe_exception(exc)}")
        # (after a break-off, the failure above is the one kept)
        if decoder.close():
            state.fail(
                ErrorClass.PROTOCOL,
                "the stream ended in the middle of an event (its last event was never "
                "ended by a blank line)",
            )
        elif not state.finished:
            state.fail(
                ErrorClass.PROTOCOL,
                f"the stream ended before the answer was complete ({state.end_marker} never came)",
            )
        return recorder.finish(state.response())

    def _read_body(self, body: bytes) -> InvocationResponse:
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return InvocationResponse.error_output(
                f"the answer is not JSON ({exc}): {_body_text(body)}", ErrorClass.PROTOCOL
            )
        if not isinstance(obj, dict):
            return InvocationResponse.error_output(
                f"the answer is not a JSON object: {_body_text(body)}", ErrorClass.PROTOCOL
            )
        error = obj.get("error")
        if error:
            return InvocationResponse.error_output(
                describe_error_object(error), classify_error_object(error)
            )
        return self.parse_body(obj)

    # -- what each API defines ----------------------------------------------------

    def parse_body(self, body: dict[str, Any]) -> InvocationResponse:
        """The record of a non-streamed answer (its JSON object)."""
        raise NotImplementedError

    @staticmethod
    def prompt_text(payload: Mapping[str, Any]) -> str | None:
        """The text of the prompt in `payload`, for counting its tokens locally."""
        return None


def _body_text(body: bytes) -> str:
    text = body[: MAX_ERROR_BODY + 1].decode("utf-8", "replace")
    return text if len(text) <= MAX_ERROR_BODY else text[:MAX_ERROR_BODY] + "…"


async def _error_answer(answer: httpx.Response) -> InvocationResponse:
    """The record of a non-success answer: status, class, and the start of the body."""
    status = answer.status_code
    try:
        body = await answer.aread()
        detail = _body_text(body)
    except httpx.HTTPError as exc:
        detail = f"(the body broke off: {describe_exception(exc)})"
    reason = f" {answer.reason_phrase}" if answer.reason_phrase else ""
    return InvocationResponse.error_output(
        f"HTTP {status}{reason}: {detail}", classify_status(status), status_code=status
    )


def ask_for_usage(payload: dict[str, Any], include_usage: bool) -> None:
    """Ask a streaming Chat/Completions request for its usage, unless it says otherwise."""
    if not include_usage:
        return
    options = payload.get("stream_options")
    if options is None:
        payload["stream_options"] = {"include_usage": True}
    elif isinstance(options, Mapping) and "include_usage" not in options:
        payload["stream_options"] = {**options, "include_usage": True}
