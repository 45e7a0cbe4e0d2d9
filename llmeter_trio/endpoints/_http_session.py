"""One run's HTTP side: its `httpx.AsyncClient`, how a request is made and sent, and timing
the opening of a connection. `HttpEndpoint` makes one `HttpSession` per run."""

from __future__ import annotations

import base64
import urllib.request
from collections.abc import Mapping
from typing import Any

import httpx
import trio

__all__ = ["ConnectTrace", "HttpSession", "environment_proxy"]

_CONNECT_STARTED = frozenset(
    {"connection.connect_tcp.started", "connection.connect_unix_socket.started"}
)
_CONNECT_COMPLETE = frozenset(
    {"connection.connect_tcp.complete", "connection.connect_unix_socket.complete",
     "connection.start_tls.complete", "http2.send_connection_init.complete"}
)  # fmt: skip


def environment_proxy(base_url: str) -> bool:
    """Whether httpx would send requests to `base_url` through a proxy from the environment."""
    proxies = urllib.request.getproxies()
    url = httpx.URL(base_url)
    if not (proxies.get(url.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(url.host)


class ConnectTrace:
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


class _Template:
    """What every request to one path shares: URL (query included), headers, timeouts."""

    __slots__ = ("headers", "timeout", "url")

    def __init__(self, url: httpx.URL, headers: httpx.Headers, timeout: Any) -> None:
        self.url = url
        self.headers = headers
        self.timeout = timeout


class HttpSession:
    """One run's HTTP side: its `httpx.AsyncClient`, and how a request is made and sent.

    With httpx's own transport (``http_transport="httpx"``) every request goes
    through ``client.build_request`` and ``client.send``, as in any httpx
    program. When the endpoint holds the transport (`LeanTransport`, or a
    test's), the request is made from a template the client built once per
    path (URL with query, merged headers, timeouts) and handed to the
    transport directly: the client's per-request machinery (URL merging, auth
    and redirect flows, cookie jar) costs about 0.1 ms of CPU per request, and
    these requests use none of it (credentials are plain headers, those in
    the URL's user info included, as httpx's Basic auth would send them;
    redirects are not followed; no cookies are kept between requests).

    `request_headers` holds the headers of a streaming (True) and a whole
    (False) request, on top of the client's own.
    """

    __slots__ = ("client", "request_headers", "templates", "transport", "url")

    def __init__(
        self,
        client: httpx.AsyncClient,
        transport: httpx.AsyncBaseTransport | None,
        request_headers: Mapping[bool, Mapping[str, str]],
    ) -> None:
        self.client = client
        self.transport = transport
        self.request_headers = request_headers
        self.templates: dict[tuple[str, bool], _Template] = {}
        self.url = self._template("", False).url  # the base URL: where connections go

    def _template(self, path: str, streaming: bool) -> _Template:
        template = self.templates.get((path, streaming))
        if template is not None:
            return template
        request = self.client.build_request("POST", path, headers=self.request_headers[streaming])
        headers = httpx.Headers(
            [h for h in request.headers.raw if h[0].lower() != b"content-length"]
        )
        url = request.url
        if url.userinfo:  # what httpx's client would send: Basic auth, not user info
            basic = base64.b64encode(f"{url.username}:{url.password}".encode())
            headers["Authorization"] = "Basic " + basic.decode("ascii")
            url = url.copy_with(userinfo=b"")
        template = _Template(url, headers, request.extensions.get("timeout"))
        self.templates[(path, streaming)] = template
        return template

    def request(
        self, path: str, body: bytes, streaming: bool, trace: ConnectTrace
    ) -> httpx.Request:
        """The POST request of `body` to `path` (relative to the base URL)."""
        if self.transport is None:
            return self.client.build_request(
                "POST",
                path,
                content=body,
                headers=self.request_headers[streaming],
                extensions={"trace": trace},
            )
        template = self.templates.get((path, streaming)) or self._template(path, streaming)
        # What ``httpx.Request(content=body)`` makes (the template's headers, then
        # Content-Length; the body read), without its encoding machinery.
        sent = httpx.Headers(template.headers)
        sent["Content-Length"] = str(len(body))
        extensions = {"timeout": template.timeout, "trace": trace}
        request = httpx.Request(
            "POST", template.url, headers=sent, stream=httpx.ByteStream(body), extensions=extensions
        )
        request.read()
        return request

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send `request`; the answer's body is read by the caller, as it arrives."""
        if self.transport is None:
            return await self.client.send(request, stream=True)
        response = await self.transport.handle_async_request(request)
        response.request = request
        return response
