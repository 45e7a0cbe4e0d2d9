"""`HttpEndpoint`: the HTTP side every provider shares, and the hooks each one fills in.

One request, as `invoke` runs it::

    request_path, is_streaming, JSON body, headers   not timed
    sign(request)                                    not timed (AWS SigV4 goes here)
    StreamRecorder()                                 send_time: handed to httpx now
    send it (see `HttpSession`), stream=True         a new connection is traced: connect_time
    read the body to its end                         stream_reader(recorder).feed(...) per read
    recorder.finish()                                time_to_last_token: the body ended
    close the response                               the connection goes back to the pool

Nothing is imported, created or warmed up lazily inside that: the client (and
its transport, `LeanTransport` by default) is made by `open_session` before the
run, or, when `invoke` is called outside a session, for that one call. The
hooks a provider writes:

- `default_base_url()`: `base_url` when none is given.
- `request_path(payload)`: where the request goes, relative to `base_url`
  (default: the class's `api_path`).
- `is_streaming(payload)`: whether to read the answer as a stream (default:
  the payload's ``stream``).
- `auth_headers()`: the credential headers, made once per session.
- `request_headers(streaming)`: ``Content-Type`` and ``Accept``, once per session.
- `sign(request)`: change a request right before it is sent, outside the
  time measured (default: nothing).
- `stream_reader(recorder)`: a `StreamReader` for one streamed answer
  (`SSEReader` around a stream state, for server-sent events).
- `read_body(body)` / `parse_body(obj)`: the record of a whole answer.
- `error_answer(status, headers, body, reason)`: the record of a non-2xx answer.
- `prompt_text(payload)`: the prompt's text, for counting its tokens locally.
"""

from __future__ import annotations

import os
import ssl
import sys
import warnings
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Literal, Protocol

import attrs
import httpx
import orjson

from .._version import __version__
from ._base import Endpoint, check_header_value, headers_field, query_field, url_field
from ._base_url import valid_base_url
from ._errors import (
    classify_exception,
    classify_status,
    describe_exception,
    rate_limit_headers,
    retry_after_seconds,
)
from ._http_session import ConnectTrace, HttpSession, environment_proxy
from ._lean_transport import LeanTransport
from ._response import ErrorClass, InvocationResponse
from ._timing import StreamRecorder
from ._tls import tls_context

__all__ = [
    "DEFAULT_MAX_RESPONSE_CHARS",
    "MAX_ERROR_BODY",
    "HttpEndpoint",
    "StreamReader",
    "body_text",
    "json_answer",
    "keep_text",
    "payload_is_prepared",
    "prepare_model_and_stream",
    "resolve_api_key",
]

DEFAULT_MAX_RESPONSE_CHARS = 1_000_000
MAX_ERROR_BODY = 2048  # characters of an error answer's body kept in the record
_URL_EXAMPLE = "e.g. http://127.0.0.1:8000/v1"
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_SSE_HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream"}


class StreamReader(Protocol):
    """Reads one streamed answer as its bytes arrive (made by `HttpEndpoint.stream_reader`).

    `feed` gets each read in order and records a chunk on the request's
    `StreamRecorder` for each piece of output it completes; `fail` notes an
    error from outside (the stream broke off; the first error is the one
    kept); `close` is called once at the end and returns the record, with
    any failure (a stream cut part-way, an answer without its end) noted.
    """

    def feed(self, data: bytes) -> None: ...

    def fail(self, error_class: ErrorClass, message: str) -> None: ...

    def close(self) -> InvocationResponse: ...


def _check_verify(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool | str | os.PathLike):
        raise TypeError(f"verify must be True, False or the path of a CA bundle, not {value!r}")


def _check_max_response_chars(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValueError(f"max_response_chars must be a whole number, 0 or more, or None: {value}")


def _outside_stacklevel() -> int:
    """The `warnings.warn` stacklevel of the first caller outside llmeter-trio's endpoints
    and attrs' generated methods: the user's line that made the endpoint."""
    frame = sys._getframe(1)  # the caller of this function: the one that warns
    level = 1
    while frame.f_back is not None and (
        frame.f_code.co_filename.startswith("<attrs generated")
        or str(frame.f_globals.get("__name__", "")).startswith(__package__ or "-")
    ):
        frame = frame.f_back
        level += 1
    return level


def resolve_api_key(api_key: str | None, api_key_env: str) -> str | None:
    """`api_key`, else the value of the environment variable `api_key_env` (if named and
    set), checked as a header value (the error names the option, never the value)."""
    from_environment = api_key is None and bool(api_key_env)
    if from_environment:
        api_key = os.environ.get(api_key_env) or None
    if api_key is not None:
        where = f" (from ${api_key_env})" if from_environment else ""
        check_header_value(f"api_key{where}", api_key)
    return api_key


def prepare_model_and_stream(
    payload: Mapping[str, Any], model_id: str, stream: bool | None
) -> dict[str, Any]:
    """A copy of `payload` with ``model`` (when it has none) and ``stream``: `stream` when
    set, else the payload's own flag (default true). For APIs that take both in the body."""
    prepared = dict(payload)
    if "model" not in prepared and model_id:
        prepared["model"] = model_id
    if stream is None:
        prepared.setdefault("stream", True)
    else:
        prepared["stream"] = stream
    return prepared


def payload_is_prepared(payload: Mapping[str, Any], model_id: str, stream: bool | None) -> bool:
    """Whether `prepare_model_and_stream` would leave `payload` as it is."""
    if "stream" not in payload or ("model" not in payload and model_id):
        return False
    return stream is None or payload["stream"] is stream


def body_text(body: bytes) -> str:
    """The start of an answer's body as text (`MAX_ERROR_BODY` characters), for an error."""
    text = body[: MAX_ERROR_BODY + 1].decode("utf-8", "replace")
    return text if len(text) <= MAX_ERROR_BODY else text[:MAX_ERROR_BODY] + "…"


def json_answer(body: bytes) -> dict[str, Any] | InvocationResponse:
    """A whole answer's JSON object, or the record of a PROTOCOL error when it is none."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return InvocationResponse.error_output(
            f"the answer is not JSON ({exc}): {body_text(body)}", ErrorClass.PROTOCOL
        )
    if not isinstance(obj, dict):
        return InvocationResponse.error_output(
            f"the answer is not a JSON object: {body_text(body)}", ErrorClass.PROTOCOL
        )
    return obj


def keep_text(response: InvocationResponse, max_chars: int | None) -> InvocationResponse:
    """Cut `response_text` to `max_chars` characters, noting how many were left out."""
    text = response.response_text
    if max_chars is not None and text is not None and len(text) > max_chars:
        response.truncated_chars = len(text) - max_chars
        response.response_text = text[:max_chars]
    return response


@attrs.define(kw_only=True)
class HttpEndpoint(Endpoint):
    """The base of every endpoint that POSTs JSON over HTTP: options, one client per run, timing.

    A provider subclasses it (an attrs class, ``@attrs.define(kw_only=True)``),
    gives `base_url` a default, sets `endpoint_type` and `api_path` (or
    `request_path`), and writes `stream_reader` and `parse_body` (see the
    module's list of hooks). What it gets: the options below, one pooled
    client per run with llmeter-trio's lean transport, connections opened
    before the clock starts, timestamps taken where bytes move, classified
    errors, and credentials masked wherever they could show.

    - `base_url`: the API root (default: `default_base_url`); credentials in
      it are masked when saved or shown. A query in it goes after each path.
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
    """

    base_url: str = url_field(
        default=attrs.Factory(lambda self: self.default_base_url(), takes_self=True),
        validator=valid_base_url,
    )
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
    _session: HttpSession | None = attrs.field(default=None, init=False, repr=False, eq=False)

    api_path: ClassVar[str] = ""  # relative to base_url, e.g. "/chat/completions"

    def __attrs_post_init__(self) -> None:
        if self.verify is False:
            warnings.warn(
                f"{type(self).__name__}: TLS certificate verification is off (verify=False): "
                "anyone on the path can read and change the traffic, API key included",
                stacklevel=_outside_stacklevel(),
            )
        if self.http2 and self.http_transport == "lean":
            raise ValueError(
                "http_transport='lean' speaks HTTP/1.1 only: for http2=True "
                "use http_transport='auto' or 'httpx'"
            )

    # -- hooks: what each provider defines ------------------------------------------

    def default_base_url(self) -> str:
        """`base_url` when none is given: the provider's API, or an environment variable's.

        (Fields declared after `base_url` are not set yet when this is called.)
        """
        raise ValueError(f"{type(self).__name__} needs a base_url, {_URL_EXAMPLE}")

    def request_path(self, payload: Mapping[str, Any]) -> str:
        """Where `payload` goes, relative to `base_url` (default: `api_path`)."""
        return self.api_path

    def is_streaming(self, payload: Mapping[str, Any]) -> bool:
        """Whether the answer to `payload` streams (default: its ``stream`` flag)."""
        return bool(payload.get("stream"))

    def is_prepared(self, payload: Mapping[str, Any]) -> bool:
        """Whether `payload` went through `prepare_payload` already (`invoke` asks, to
        prepare a payload given to it directly; default: always)."""
        return True

    def auth_headers(self) -> dict[str, str]:
        """Headers carrying the credentials, sent with every request (made once per session)."""
        return {}

    def request_headers(self, streaming: bool) -> Mapping[str, str]:
        """``Content-Type`` and ``Accept`` of a streaming or whole request (once per session)."""
        return _SSE_HEADERS if streaming else _JSON_HEADERS

    def sign(self, request: httpx.Request) -> None:
        """Change `request` right before it is sent, outside the time measured (default: no-op).

        Signatures that cover the time and the body (AWS SigV4) are made here.
        """

    def stream_reader(self, recorder: StreamRecorder) -> StreamReader:
        """A reader for one streamed answer, recording its chunks on `recorder`."""
        raise NotImplementedError(f"{type(self).__name__} does not read streamed answers")

    def read_body(self, body: bytes) -> InvocationResponse:
        """The record of a whole answer's bytes (default: its JSON object, by `parse_body`)."""
        obj = json_answer(body)
        return obj if isinstance(obj, InvocationResponse) else self.parse_body(obj)

    def parse_body(self, body: dict[str, Any]) -> InvocationResponse:
        """The record of a non-streamed answer (its JSON object)."""
        raise NotImplementedError

    def error_answer(
        self, status: int, headers: httpx.Headers, body: bytes, reason: str = ""
    ) -> InvocationResponse:
        """The record of a non-2xx answer: its status, class, and the start of its body.

        `reason` is the status line's reason phrase, when there was one.
        """
        return InvocationResponse.error_output(
            f"HTTP {status}{f' {reason}' if reason else ''}: {body_text(body)}",
            classify_status(status),
            status_code=status,
        )

    @staticmethod
    def prompt_text(payload: Mapping[str, Any]) -> str | None:
        """The text of the prompt in `payload`, for counting its tokens locally."""
        return None

    @staticmethod
    def answer_id(headers: httpx.Headers) -> str | None:
        """The record's id from the answer's headers, when its body gave none (default: none)."""
        return None

    # -- the run-wide client ----------------------------------------------------

    def _uses_lean_transport(self) -> bool:
        if self._transport is not None or self.http_transport == "httpx":
            return False
        if self.http_transport == "lean":
            return True
        return not self.http2 and not environment_proxy(self.base_url)

    def _new_session(self, concurrency: int) -> HttpSession:
        headers = {"User-Agent": f"llmeter-trio/{__version__}", **self.auth_headers()}
        headers.update(self.extra_headers)
        size = max(1, concurrency)
        transport = self._transport
        # TLS settings are loaded now, before the run, not while connecting.
        tls: ssl.SSLContext | None = None
        base_url = httpx.URL(self.base_url)
        if base_url.scheme == "https":
            tls = tls_context(self.verify)
        # A query in base_url (``?api-version=...``) goes after each request's path.
        params = httpx.QueryParams(base_url.query).merge(self.extra_query)
        if self._uses_lean_transport():
            transport = LeanTransport(size, ssl_context=tls)
        try:
            client = httpx.AsyncClient(
                base_url=base_url.copy_with(query=None),
                headers=headers,
                params=params or None,
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
        kinds = {True: self.request_headers(True), False: self.request_headers(False)}
        return HttpSession(client, transport, kinds)

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
        if not self.is_prepared(payload):
            payload = self.prepare_payload(payload)
        session = self._session
        if session is not None:
            return await self._exchange(session, payload)
        session = self._new_session(1)
        async with session.client:
            return await self._exchange(session, payload)

    async def _exchange(self, session: HttpSession, payload: dict[str, Any]) -> InvocationResponse:
        streaming = self.is_streaming(payload)
        trace = ConnectTrace()
        request = session.request(
            self.request_path(payload), orjson.dumps(payload), streaming, trace
        )
        self.sign(request)
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
            record.id = record.id or self.answer_id(answer.headers)
            if not record.failed:
                record.input_prompt = self.prompt_text(payload)
            _note_rate_limits(record, answer.headers)
        record.connect_time = trace.connect_time
        record.input_payload = payload
        return record

    async def _read(
        self, answer: httpx.Response, recorder: StreamRecorder, streaming: bool
    ) -> InvocationResponse:
        """Read the answer to its end; the record comes back with its timings stamped."""
        if not answer.is_success:
            return recorder.finish(await self._read_error(answer))
        content_type = answer.headers.get("content-type", "")
        if streaming and content_type.partition(";")[0].strip().lower() != "application/json":
            return await self._read_stream(answer, recorder)
        try:
            body = await answer.aread()
        except httpx.HTTPError as exc:
            error_class, _ = classify_exception(exc)
            record = InvocationResponse.error_output(
                f"the answer broke off: {describe_exception(exc)}", error_class
            )
            return recorder.finish(record)
        return recorder.finish(keep_text(self.read_body(body), self.max_response_chars))

    async def _read_stream(
        self, answer: httpx.Response, recorder: StreamRecorder
    ) -> InvocationResponse:
        reader = self.stream_reader(recorder)
        feed = reader.feed
        try:
            async for data in answer.aiter_bytes():
                feed(data)
        except httpx.HTTPError as exc:
            error_class, _ = classify_exception(exc)
            reader.fail(error_class, f"the stream broke off: {describe_exception(exc)}")
        # (after a break-off, the failure above is the one kept)
        return recorder.finish(reader.close())

    async def _read_error(self, answer: httpx.Response) -> InvocationResponse:
        """The record of a non-success answer (see `error_answer`)."""
        status = answer.status_code
        try:
            body = await answer.aread()
        except httpx.HTTPError as exc:
            reason = f" {answer.reason_phrase}" if answer.reason_phrase else ""
            return InvocationResponse.error_output(
                f"HTTP {status}{reason}: (the body broke off: {describe_exception(exc)})",
                classify_status(status),
                status_code=status,
            )
        return self.error_answer(status, answer.headers, body, answer.reason_phrase)


def _note_rate_limits(record: InvocationResponse, headers: httpx.Headers) -> None:
    """Keep what the answer's headers say about rate limits on its record: the limits and
    what remains (any answer), and the wait asked for (a failed one: 429, 503...)."""
    # one pass over the headers (most answers carry none of these)
    found = {k: v for k, v in headers.multi_items() if "ratelimit" in k or "retry-after" in k}
    if not found:
        return
    if record.rate_limit is None:
        record.rate_limit = rate_limit_headers(found)
    if record.failed and record.retry_after is None:
        record.retry_after = retry_after_seconds(found)
