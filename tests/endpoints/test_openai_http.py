"""The HTTP side: one pooled client per run, connection timing, HTTP/2, the engine's deadline."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest
import trio

from llmeter_trio import Runner
from llmeter_trio.endpoints import ErrorClass, OpenAIChatEndpoint
from llmeter_trio.endpoints.openai import _endpoint

from ._openai_loopback import LoopbackServer, endpoint_for
from ._openai_support import Server, chat_chunk, sse, usage_chunk

BODY = sse(chat_chunk("Hel"), chat_chunk("lo"), usage_chunk(2, 2), "[DONE]")
PAYLOAD = OpenAIChatEndpoint.create_payload("hi")


@pytest.fixture
def made_clients(monkeypatch: pytest.MonkeyPatch) -> list[tuple[httpx.AsyncClient, dict]]:
    """Every httpx.AsyncClient the adapters make, with the arguments it was made with."""
    made: list[tuple[httpx.AsyncClient, dict]] = []
    real = httpx.AsyncClient

    def spy(**kwargs: Any) -> httpx.AsyncClient:
        client = real(**kwargs)
        made.append((client, kwargs))
        return client

    monkeypatch.setattr(_endpoint.httpx, "AsyncClient", spy)
    return made


class TestSession:
    """open_session makes one client for the run; direct calls get their own."""

    async def test_one_client_per_run(self, made_clients) -> None:
        """Every request of a session goes through one client, closed when the session ends."""
        server = Server(parts=[(0, BODY)])
        endpoint = OpenAIChatEndpoint(transport=server.transport)
        async with endpoint.open_session(8):
            for _ in range(3):
                assert not (await endpoint.invoke(PAYLOAD)).failed
        assert len(made_clients) == 1
        client, _ = made_clients[0]
        assert client.is_closed
        assert len(server.requests) == 3

    async def test_client_settings(self, made_clients) -> None:
        """Pool sized to the concurrency, no httpx timeouts, HTTP/1.1 unless asked."""
        endpoint = OpenAIChatEndpoint(base_url="http://127.0.0.1:9/v1")
        async with endpoint.open_session(24):
            pass
        _, kwargs = made_clients[0]
        assert kwargs["limits"] == httpx.Limits(max_connections=24, max_keepalive_connections=24)
        assert kwargs["timeout"] == httpx.Timeout(None)
        assert kwargs["http2"] is False
        assert kwargs["base_url"] == "http://127.0.0.1:9/v1"

    async def test_direct_invoke_makes_a_client_for_the_call(self, made_clients) -> None:
        """Outside a session, invoke works with a client of its own, closed afterwards."""
        server = Server(parts=[(0, BODY)])
        endpoint = OpenAIChatEndpoint(transport=server.transport)
        assert not (await endpoint.invoke(PAYLOAD)).failed
        assert len(made_clients) == 1
        assert made_clients[0][0].is_closed

    async def test_http2_needs_h2(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without h2, asking for HTTP/2 fails up front, naming the extra to install."""
        monkeypatch.setitem(sys.modules, "h2", None)
        endpoint = OpenAIChatEndpoint(http2=True)
        with pytest.raises(ImportError, match=r"llmeter-trio\[http2\]"):
            async with endpoint.open_session(1):
                pass

    async def test_http2_client(self, made_clients) -> None:
        """With h2 installed, http2=True makes an HTTP/2-capable client."""
        pytest.importorskip("h2")
        async with OpenAIChatEndpoint(http2=True).open_session(4):
            pass
        assert made_clients[0][1]["http2"] is True


class _ConnectingTransport(httpx.AsyncBaseTransport):
    """Reports (through the trace extension) a new connection on the first request only."""

    def __init__(self, inner: httpx.AsyncBaseTransport, tcp: float, tls: float) -> None:
        self.inner = inner
        self.tcp = tcp
        self.tls = tls
        self.connected = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace = request.extensions["trace"]
        if not self.connected:
            self.connected = True
            await trace("connection.connect_tcp.started", {"host": "h", "port": 443})
            await trio.sleep(self.tcp)
            await trace("connection.connect_tcp.complete", {"return_value": None})
            await trace("connection.start_tls.started", {})
            await trio.sleep(self.tls)
            await trace("connection.start_tls.complete", {"return_value": None})
        await trace("http11.send_request_headers.started", {"request": None})
        await trace("http11.send_request_headers.complete", {"return_value": None})
        return await self.inner.handle_async_request(request)


class TestConnectTime:
    """Opening a connection is timed apart; a reused connection has no connect time."""

    async def test_exact_connect_time(self, autojump_clock: trio.abc.Clock) -> None:
        """TCP and TLS setup add up to connect_time, which is part of the first token's time."""
        server = Server(parts=[(0.5, BODY)])
        transport = _ConnectingTransport(server.transport, tcp=0.125, tls=0.25)
        endpoint = OpenAIChatEndpoint(transport=transport)
        async with endpoint.open_session(1):
            first = await endpoint.invoke(PAYLOAD)
            second = await endpoint.invoke(PAYLOAD)
        assert first.connect_time == 0.375
        assert first.time_to_first_token == 0.875
        assert second.connect_time is None
        assert second.time_to_first_token == 0.5

    async def test_real_connections_are_timed_and_reused(self, nursery: trio.Nursery) -> None:
        """Against a loopback server: one connection for sequential requests, timed once."""
        server = LoopbackServer(BODY)
        endpoint = endpoint_for(await server.start(nursery))
        with trio.fail_after(10):
            async with endpoint.open_session(1):
                records = [await endpoint.invoke(PAYLOAD) for _ in range(3)]
        assert [r.error for r in records] == [None, None, None]
        assert [r.response_text for r in records] == ["Hello"] * 3
        assert records[0].connect_time is not None
        assert 0 < records[0].connect_time < 5
        assert records[1].connect_time is None
        assert records[2].connect_time is None
        assert server.connections == 1

    async def test_pool_is_sized_to_the_concurrency(
        self, nursery: trio.Nursery, autojump_clock: trio.abc.Clock
    ) -> None:
        """Six requests at once through a session for two clients use two connections."""
        server = LoopbackServer(BODY, delay=0.05)
        endpoint = endpoint_for(await server.start(nursery))
        records = []

        async def one() -> None:
            records.append(await endpoint.invoke(PAYLOAD))

        with trio.fail_after(10):
            async with endpoint.open_session(2), trio.open_nursery() as requests:
                for _ in range(6):
                    requests.start_soon(one)
        assert [r.error for r in records] == [None] * 6
        assert server.connections == 2
        assert server.most_in_flight == 2

    async def test_http2_option_falls_back_to_http1_on_plain_http(self, nursery) -> None:
        """http2=True still talks to an HTTP/1.1-only server (no upgrade on cleartext)."""
        pytest.importorskip("h2")
        server = LoopbackServer(BODY)
        endpoint = endpoint_for(await server.start(nursery), http2=True)
        with trio.fail_after(10):
            async with endpoint.open_session(1):
                record = await endpoint.invoke(PAYLOAD)
        assert record.error is None
        assert record.response_text == "Hello"


class TestWithTheEngine:
    """The Runner drives the adapter: sessions, records, and its per-request deadline."""

    async def test_run(self, autojump_clock: trio.abc.Clock) -> None:
        """A run of 2 clients x 2 requests records four timed answers with server counts."""
        server = Server(parts=[(0.25, sse(chat_chunk("a"))), (0.25, sse(chat_chunk("b"))),
                               (0, sse(usage_chunk(3, 2), "[DONE]"))])  # fmt: skip
        endpoint = OpenAIChatEndpoint(model_id="m", transport=server.transport)
        result = await Runner(endpoint).run(payload=PAYLOAD, clients=2, n_requests=2)
        records = result.responses
        assert len(records) == 4
        assert {r.client for r in records} == {0, 1}
        for record in records:
            assert record.error is None
            assert record.time_to_first_token == 0.25
            assert record.time_to_last_token == 0.5
            assert record.num_tokens_output == 2
        assert all(body["model"] == "m" and body["stream"] for body in server.bodies)

    async def test_request_deadline(self, autojump_clock: trio.abc.Clock) -> None:
        """A stream that stalls is cut by the run's timeout, not by httpx."""
        server = Server(parts=[(0.25, sse(chat_chunk("a"))), (3600, sse("[DONE]"))])
        endpoint = OpenAIChatEndpoint(transport=server.transport)
        result = await Runner(endpoint).run(payload=PAYLOAD, clients=1, n_requests=1, timeout=2)
        (record,) = result.responses
        assert record.error_class is ErrorClass.TIMEOUT
        assert server.streams[0].closed
