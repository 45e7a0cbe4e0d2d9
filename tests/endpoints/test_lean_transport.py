"""`LeanTransport` against real loopback servers: pooling, framing, failures, cancellation.

Two servers: the simulated OpenAI-compatible server (what a run looks like),
and `ScriptedServer`, whose answers can be framed, cut and stalled at will.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmeter_trio import Runner
from llmeter_trio.endpoints import ErrorClass, OpenAIChatEndpoint
from llmeter_trio.endpoints._lean_transport import LeanTransport
from llmeter_trio.sim import SimConfig, simulated_server

from ._openai_support import Server, chat_chunk, sse, usage_chunk
from ._scripted_server import Reply, ScriptedServer
from ._tls_support import tls_contexts as _tls_contexts

LIMIT = 10  # seconds: the most any test here may take
SSE_BODY = sse(chat_chunk("Hel"), chat_chunk("lo"), usage_chunk(2, 2), "[DONE]")
PAYLOAD = OpenAIChatEndpoint.create_payload("hi", 4)


def client_for(origin: str, transport: LeanTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=origin, transport=transport, timeout=httpx.Timeout(None))


async def get(client: httpx.AsyncClient, path: str) -> bytes:
    """The whole body, read as a stream (as the endpoints read it)."""
    async with client.stream("GET", path) as response:
        return b"".join([piece async for piece in response.aiter_bytes()])


class Recorder:
    """A ``trace`` extension that keeps every event name."""

    def __init__(self) -> None:
        self.names: list[str] = []

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        self.names.append(name)


class TestKeepAlive:
    """Connections are kept and reused; a new one opens when the server closed the old."""

    async def test_sequential_requests_share_one_connection(self, nursery) -> None:
        """Five requests one after another: one connection, five answers."""
        server = ScriptedServer()
        transport = LeanTransport(4)
        with trio.fail_after(LIMIT):
            async with client_for(await server.start(nursery), transport) as client:
                bodies = [await get(client, f"/{i}") for i in range(5)]
                assert transport.open_connections == transport.idle_connections == 1
        assert bodies == [b"hello"] * 5
        assert (server.connections, server.requests) == (1, 5)
        assert transport.open_connections == 0  # closed with the client

    @pytest.mark.parametrize("then", ["close", "hangup"])
    async def test_a_closed_connection_is_replaced(self, nursery, then: str) -> None:
        """After ``Connection: close``, or a silent close of an idle connection, the next
        request opens a new connection and succeeds."""
        server = ScriptedServer(default=Reply(then=then))  # type: ignore[arg-type]
        transport = LeanTransport(1)
        with trio.fail_after(LIMIT):
            async with client_for(await server.start(nursery), transport) as client:
                for _ in range(4):
                    assert await get(client, "/") == b"hello"
                    await trio.sleep(0.01)  # let a silent close reach us, sometimes
        assert (server.connections, server.requests) == (4, 4)

    async def test_stale_connection_found_at_once(self, nursery) -> None:
        """A request right after the server silently closed the idle connection
        succeeds on a new one (stale check or one resend), whatever the timing."""
        server = ScriptedServer(default=Reply(then="hangup", framing="length"))
        transport = LeanTransport(1)
        with trio.fail_after(LIMIT):
            async with client_for(await server.start(nursery), transport) as client:
                results = [await get(client, "/") for _ in range(20)]
        assert results == [b"hello"] * 20
        assert server.requests == 20

    async def test_request_on_a_connection_closed_meanwhile_is_sent_again(self, nursery) -> None:
        """The server closes a reused connection on the request without answering: the
        request goes again, once, on a new connection, unseen by the caller."""
        server = ScriptedServer(answers_per_connection=1)
        transport = LeanTransport(1)
        with trio.fail_after(LIMIT):
            async with client_for(await server.start(nursery), transport) as client:
                bodies = [await get(client, f"/{i}") for i in range(4)]
        assert bodies == [b"hello"] * 4
        assert server.paths == ["/0", "/1", "/2", "/3"]
        assert (server.connections, server.unanswered) == (4, 3)  # each reuse: one retry

    async def test_a_streamed_request_body_is_not_sent_again(self, nursery) -> None:
        """A body that cannot be replayed is never resent: the caller sees the failure."""
        server = ScriptedServer(answers_per_connection=1)

        async def body() -> AsyncIterator[bytes]:
            yield b"once"

        with trio.fail_after(LIMIT):
            async with client_for(await server.start(nursery), LeanTransport(1)) as client:
                assert (await client.post("/", content=b"replayable")).content == b"hello"
                with pytest.raises((httpx.RemoteProtocolError, httpx.NetworkError)):
                    await client.post("/", content=body())  # the server hung up on it
        assert (server.connections, server.requests, server.unanswered) == (1, 1, 1)

    async def test_simulated_server_run(self) -> None:
        """A cold-start run: every request succeeds; each client opens one connection, timed."""
        config = SimConfig(ttft_base=0.01, itl=0.001, output_tokens=5)
        with trio.fail_after(LIMIT):
            async with simulated_server(config) as base_url:
                endpoint = OpenAIChatEndpoint(base_url=base_url, model_id=config.model)
                runner = Runner(endpoint, seed=0, preconnect=False)
                result = await runner.run(payload=PAYLOAD, clients=3, n_requests=4)
        records = result.responses
        assert [r.error for r in records] == [None] * 12
        assert all(r.num_tokens_output == 4 for r in records)
        for client in range(3):
            mine = sorted((r for r in records if r.client == client), key=lambda r: r.send_time)
            assert mine[0].connect_time is not None
            assert [r.connect_time for r in mine[1:]] == [None] * 3


class TestPool:
    """At most `max_connections` open; requests beyond wait for a free one."""

    async def test_requests_beyond_the_limit_wait(self, nursery, autojump_clock) -> None:
        """Nine requests at once through three connections: three at a time, three connections."""
        server = ScriptedServer(default=Reply(delay=0.02))
        transport = LeanTransport(3)
        bodies: list[bytes] = []
        with trio.fail_after(LIMIT):
            origin = await server.start(nursery)
            async with client_for(origin, transport) as client, trio.open_nursery() as requests:
                for i in range(9):
                    requests.start_soon(lambda i=i: _append(bodies, get(client, f"/{i}")))
        assert bodies == [b"hello"] * 9
        assert (server.connections, server.most_in_flight) == (3, 3)

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(limit=st.integers(1, 5), clients=st.integers(1, 8), per_client=st.integers(1, 3))
    def test_never_more_connections_than_allowed(
        self, limit: int, clients: int, per_client: int
    ) -> None:
        """Closed-loop clients over a pool of `limit`: min(limit, clients) connections, no more."""
        server = ScriptedServer(default=Reply(delay=0.002))
        transport = LeanTransport(limit)
        peak = 0

        async def one_client(client: httpx.AsyncClient) -> None:
            nonlocal peak
            for _ in range(per_client):
                assert await get(client, "/") == b"hello"
                peak = max(peak, transport.open_connections)

        async def main() -> None:
            with trio.fail_after(LIMIT):
                async with trio.open_nursery() as nursery:
                    origin = await server.start(nursery)
                    async with client_for(origin, transport) as client, trio.open_nursery() as run:
                        for _ in range(clients):
                            run.start_soon(one_client, client)
                    nursery.cancel_scope.cancel()

        trio.run(main)
        assert server.requests == clients * per_client
        assert server.connections == min(limit, clients)
        assert peak <= limit
        assert transport.open_connections == 0

    async def test_pool_timeout(self, nursery, autojump_clock) -> None:
        """With a pool timeout, a request that finds no free connection in time fails so."""
        server = ScriptedServer(default=Reply(delay=1.0))
        transport = LeanTransport(1)
        with trio.fail_after(LIMIT):
            origin = await server.start(nursery)
            timeout = httpx.Timeout(None, pool=0.05)
            async with (
                httpx.AsyncClient(base_url=origin, transport=transport, timeout=timeout) as client,
                trio.open_nursery() as requests,
            ):
                requests.start_soon(get, client, "/slow")
                await trio.sleep(0.1)
                with pytest.raises(httpx.PoolTimeout):
                    await get(client, "/waits")
                requests.cancel_scope.cancel()
        assert transport.open_connections == 0

    async def test_endpoint_session_sized_to_concurrency(self, nursery, autojump_clock) -> None:
        """The OpenAI endpoint's session pool holds as many connections as the run has clients."""
        server = ScriptedServer(default=Reply(pieces=(SSE_BODY,), delay=0.02))
        endpoint = OpenAIChatEndpoint(base_url=await server.start(nursery) + "/v1")
        with trio.fail_after(LIMIT):
            result = await Runner(endpoint, seed=0).run(payload=PAYLOAD, clients=4, n_requests=3)
        assert [r.response_text for r in result.responses] == ["Hello"] * 12
        assert (server.connections, server.most_in_flight) == (4, 4)


async def _append(into: list[bytes], body: Any) -> None:
    into.append(await body)


class TestFraming:
    """Chunked, Content-Length and close-delimited bodies arrive whole, in order."""

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        pieces=st.lists(st.binary(min_size=1, max_size=300), max_size=6),
        framing=st.sampled_from(["chunked", "length", "eof"]),
        then=st.sampled_from(["keep", "close"]),
    )
    def test_bodies_arrive_whole(self, pieces: list[bytes], framing: str, then: str) -> None:
        """Whatever the pieces and framing, the body is their concatenation, twice in a row."""
        server = ScriptedServer(default=Reply(pieces=pieces, framing=framing, then=then))  # type: ignore[arg-type]

        async def main() -> list[bytes]:
            with trio.fail_after(LIMIT):
                async with trio.open_nursery() as nursery:
                    transport = LeanTransport(1)
                    async with client_for(await server.start(nursery), transport) as client:
                        bodies = [await get(client, "/"), await get(client, "/")]
                    nursery.cancel_scope.cancel()
            return bodies

        bodies = trio.run(main)
        assert bodies == [b"".join(pieces)] * 2
        reused = framing != "eof" and then == "keep"
        assert server.connections == (1 if reused else 2)

    async def test_status_headers_and_reason(self, nursery) -> None:
        """Status, headers and reason phrase come through to the httpx response."""
        server = ScriptedServer(default=Reply(status=503, content_type=b"application/json"))
        with trio.fail_after(LIMIT):
            async with client_for(await server.start(nursery), LeanTransport(1)) as client:
                response = await client.get("/")
        assert response.status_code == 503
        assert response.reason_phrase == "Whatever"
        assert response.headers["content-type"] == "application/json"
        assert response.http_version == "HTTP/1.1"
        assert response.content == b"hello"

    async def test_request_body_and_query_reach_the_server(self) -> None:
        """A POST with a JSON body and query parameters, to the simulated server."""
        with trio.fail_after(LIMIT):
            async with simulated_server(SimConfig(ttft_base=0, itl=0)) as base_url:
                transport = LeanTransport(1)
                async with client_for(base_url, transport) as client:
                    answer = await client.post(
                        "/chat/completions",
                        params={"api-version": "1"},
                        json={"model": "sim-model", "messages": [{"role": "user", "content": "a"}],
                              "max_tokens": 3},
                    )  # fmt: skip
        assert answer.status_code == 200
        assert answer.json()["usage"]["completion_tokens"] == 3


class TestFailures:
    """Broken connections become httpx errors (CONNECTION records); the pool recovers."""

    @pytest.mark.parametrize("framing", ["chunked", "length"])
    async def test_server_drops_mid_stream(self, nursery, framing: str) -> None:
        """A body cut short raises RemoteProtocolError; the next request gets a new connection."""
        server = ScriptedServer(
            replies={"/drop": Reply(pieces=(b"part",), framing=framing, then="drop")}  # type: ignore[arg-type]
        )
        transport = LeanTransport(1)
        with trio.fail_after(LIMIT):
            async with client_for(await server.start(nursery), transport) as client:
                with pytest.raises(httpx.RemoteProtocolError, match="part-way"):
                    await get(client, "/drop")
                assert transport.open_connections == 0
                assert await get(client, "/fine") == b"hello"
        assert server.connections == 2

    async def test_drop_is_a_connection_error_record(self, nursery) -> None:
        """Through the endpoint, a stream cut part-way is a CONNECTION failure, text kept."""
        first_event = sse(chat_chunk("Hel"))
        server = ScriptedServer(
            default=Reply(pieces=(first_event,), then="drop", content_type=b"text/event-stream")
        )
        endpoint = OpenAIChatEndpoint(base_url=await server.start(nursery) + "/v1")
        with trio.fail_after(LIMIT):
            record = await endpoint.invoke(PAYLOAD)
        assert record.error_class is ErrorClass.CONNECTION
        assert record.error is not None and "broke off" in record.error
        assert record.response_text == "Hel"

    async def test_server_closes_without_answering(self, nursery) -> None:
        """A server that accepts and closes is a RemoteProtocolError on a new connection."""

        async def close_at_once(stream: trio.abc.Stream) -> None:
            await stream.receive_some(65536)
            await stream.aclose()

        listeners = await nursery.start(partial(trio.serve_tcp, close_at_once, 0, host="127.0.0.1"))
        origin = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        transport = LeanTransport(1)
        with trio.fail_after(LIMIT):
            async with client_for(origin, transport) as client:
                with pytest.raises(httpx.RemoteProtocolError, match="without sending an answer"):
                    await client.get("/")
        assert transport.open_connections == 0

    async def test_connection_refused(self) -> None:
        """Nobody listening: ConnectError, and a CONNECTION record through the endpoint."""
        with trio.socket.socket() as sock:  # a port that was free a moment ago
            await sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        transport = LeanTransport(1)
        with trio.fail_after(LIMIT):
            async with client_for(f"http://127.0.0.1:{port}", transport) as client:
                with pytest.raises(httpx.ConnectError, match=f"127.0.0.1:{port}"):
                    await client.get("/")
            record = await OpenAIChatEndpoint(base_url=f"http://127.0.0.1:{port}/v1").invoke(
                PAYLOAD
            )
        assert record.error_class is ErrorClass.CONNECTION
        assert transport.open_connections == 0

    async def test_unsupported_scheme(self) -> None:
        """Only http and https."""
        async with httpx.AsyncClient(transport=LeanTransport(1)) as client:
            with pytest.raises(httpx.UnsupportedProtocol):
                await client.get("ftp://127.0.0.1/")


class TestCancellation:
    """A cancelled request's connection is closed, never reused half-read."""

    async def test_cancelled_mid_stream_then_reuse(self, nursery) -> None:
        """Cancel while the body streams: the server sees the connection close, the pool
        frees the slot, and the next request works on a new connection."""
        server = ScriptedServer(replies={"/stall": Reply(pieces=(b"part",), then="stall")})
        transport = LeanTransport(1)
        with trio.fail_after(LIMIT):
            async with client_for(await server.start(nursery), transport) as client:
                with trio.move_on_after(5) as scope:
                    async with client.stream("GET", "/stall") as response:
                        async for piece in response.aiter_bytes():
                            assert piece == b"part"
                            scope.cancel()
                assert scope.cancelled_caught
                assert transport.open_connections == 0
                assert await get(client, "/after") == b"hello"
                await server.hang_ups(1)
        assert server.connections == 2
        assert server.paths == ["/stall", "/after"]

    async def test_deadline_mid_stream_through_the_runner(self, nursery, autojump_clock) -> None:
        """The run's per-request deadline cuts a stalled stream; the connection is not reused."""
        first_event = sse(chat_chunk("a"))
        server = ScriptedServer(
            default=Reply(pieces=(first_event,), then="stall", content_type=b"text/event-stream")
        )
        endpoint = OpenAIChatEndpoint(base_url=await server.start(nursery) + "/v1")
        with trio.fail_after(LIMIT):
            result = await Runner(endpoint).run(
                payload=PAYLOAD, clients=1, n_requests=2, timeout=0.2
            )
            await server.hang_ups(2)
        assert [r.error_class for r in result.responses] == [ErrorClass.TIMEOUT] * 2
        assert server.connections == 2

    async def test_cancelled_while_waiting_for_the_pool(self, nursery, autojump_clock) -> None:
        """A request cancelled while waiting for a connection takes no slot with it."""
        server = ScriptedServer(replies={"/slow": Reply(delay=0.2)})
        transport = LeanTransport(1)
        with trio.fail_after(LIMIT):
            async with client_for(await server.start(nursery), transport) as client:
                async with trio.open_nursery() as requests:
                    requests.start_soon(get, client, "/slow")
                    await trio.sleep(0.05)
                    with trio.move_on_after(0.05):
                        await get(client, "/never")
                assert await get(client, "/next") == b"hello"
        assert server.paths == ["/slow", "/next"]
        assert server.connections == 1

    async def test_body_closed_early_discards_the_connection(self, nursery, autojump_clock) -> None:
        """Closing a response before its end (no cancellation) also discards its connection."""
        server = ScriptedServer(default=Reply(pieces=(b"a", b"b"), gap=0.05))
        transport = LeanTransport(1)
        with trio.fail_after(LIMIT):
            async with client_for(await server.start(nursery), transport) as client:
                async with client.stream("GET", "/") as response:
                    async for _ in response.aiter_bytes():
                        break
                assert transport.open_connections == 0
                assert await get(client, "/") == b"ab"
        assert server.connections == 2


class TestConnectTrace:
    """New connections are reported through ``trace`` as httpcore does; reused ones are not."""

    async def test_connect_events_on_first_request_only(self, nursery) -> None:
        server = ScriptedServer()
        origin = await server.start(nursery)
        traces = [Recorder(), Recorder()]
        with trio.fail_after(LIMIT):
            async with client_for(origin, LeanTransport(1)) as client:
                for trace in traces:
                    response = await client.get("/", extensions={"trace": trace})
                    assert response.content == b"hello"
        connect = ["connection.connect_tcp.started", "connection.connect_tcp.complete"]
        assert traces[0].names == connect
        assert traces[1].names == []

    async def test_connect_time_on_first_request_only(self, nursery) -> None:
        """The endpoint's connect_time: set for the request that connected, None after."""
        server = ScriptedServer(default=Reply(pieces=(SSE_BODY,)))
        endpoint = OpenAIChatEndpoint(base_url=await server.start(nursery) + "/v1")
        with trio.fail_after(LIMIT):
            async with endpoint.open_session(1):
                records = [await endpoint.invoke(PAYLOAD) for _ in range(3)]
        assert [r.response_text for r in records] == ["Hello"] * 3
        assert records[0].connect_time is not None and 0 < records[0].connect_time < LIMIT
        assert [r.connect_time for r in records[1:]] == [None, None]

    async def test_https(self, nursery, tmp_path: Path) -> None:
        """Over TLS: the handshake is traced too, and the connection is reused."""
        server_context, client_context = _tls_contexts(tmp_path)
        server = ScriptedServer()
        listeners = await nursery.start(
            partial(trio.serve_ssl_over_tcp, server._handle, 0, server_context, host="127.0.0.1")
        )
        origin = f"https://127.0.0.1:{listeners[0].transport_listener.socket.getsockname()[1]}"
        traces = [Recorder(), Recorder()]
        with trio.fail_after(LIMIT):
            async with client_for(origin, LeanTransport(1, ssl_context=client_context)) as client:
                for trace in traces:
                    response = await client.get("/", extensions={"trace": trace})
                    assert response.content == b"hello"
        assert traces[0].names == [
            "connection.connect_tcp.started", "connection.connect_tcp.complete",
            "connection.start_tls.started", "connection.start_tls.complete",
        ]  # fmt: skip
        assert traces[1].names == []
        assert server.connections == 1

    async def test_https_with_an_untrusted_certificate(self, nursery, tmp_path: Path) -> None:
        """A certificate the client does not trust: ConnectError, nothing left open."""
        server_context, _ = _tls_contexts(tmp_path)
        server = ScriptedServer()
        listeners = await nursery.start(
            partial(trio.serve_ssl_over_tcp, server._handle, 0, server_context, host="127.0.0.1")
        )
        origin = f"https://127.0.0.1:{listeners[0].transport_listener.socket.getsockname()[1]}"
        transport = LeanTransport(1)  # httpx's default trust store
        with trio.fail_after(LIMIT):
            async with client_for(origin, transport) as client:
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await client.get("/")
        assert transport.open_connections == 0


class TestEndpointChoice:
    """Which transport an OpenAI endpoint uses, and that the choice is saved."""

    @staticmethod
    def transport_of(endpoint: OpenAIChatEndpoint) -> httpx.AsyncBaseTransport | None:
        return endpoint._new_session(7).transport

    def test_lean_by_default(self) -> None:
        transport = self.transport_of(OpenAIChatEndpoint(base_url="http://127.0.0.1:9/v1"))
        assert isinstance(transport, LeanTransport)
        assert transport.max_connections == 7

    @pytest.mark.parametrize(
        "options",
        [{"http_transport": "httpx"}, {"http2": True}, {"http2": True, "http_transport": "httpx"}],
    )
    def test_httpx_when_asked_or_for_http2(self, options: dict[str, Any]) -> None:
        pytest.importorskip("h2")
        endpoint = OpenAIChatEndpoint(base_url="http://127.0.0.1:9/v1", **options)
        assert self.transport_of(endpoint) is None  # httpx makes its own

    def test_lean_with_http2_is_refused(self) -> None:
        with pytest.raises(ValueError, match=r"HTTP/1\.1 only"):
            OpenAIChatEndpoint(http2=True, http_transport="lean")

    def test_unknown_choice_is_refused(self) -> None:
        with pytest.raises(ValueError, match="http_transport"):
            OpenAIChatEndpoint(http_transport="curl")  # type: ignore[arg-type]

    def test_environment_proxy_keeps_httpx(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Only httpx's transport knows proxies: "auto" keeps it when one applies."""
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert self.transport_of(OpenAIChatEndpoint(base_url="https://api.example.com/v1")) is None
        bypassed = OpenAIChatEndpoint(base_url="http://127.0.0.1:9/v1")
        assert isinstance(self.transport_of(bypassed), LeanTransport)
        forced = OpenAIChatEndpoint(base_url="https://api.example.com/v1", http_transport="lean")
        assert isinstance(self.transport_of(forced), LeanTransport)

    def test_test_transport_wins(self) -> None:
        mock = Server(parts=[(0, SSE_BODY)]).transport
        assert self.transport_of(OpenAIChatEndpoint(transport=mock)) is mock

    @pytest.mark.parametrize("choice", ["auto", "lean", "httpx"])
    def test_saved_and_reloaded(self, choice: str) -> None:
        endpoint = OpenAIChatEndpoint(http_transport=choice)  # type: ignore[arg-type]
        config = endpoint.to_config()
        assert config["http_transport"] == choice
        assert OpenAIChatEndpoint.from_config(config).http_transport == choice

    async def test_same_records_over_either_transport(self) -> None:
        """Against the simulated server, lean and httpx transports record the same answers."""
        config = SimConfig(ttft_base=0.005, itl=0.001, output_tokens=6, tokens_per_chunk=2)
        texts: dict[str, list[tuple[object, ...]]] = {}
        with trio.fail_after(LIMIT):
            async with simulated_server(config) as base_url:
                for choice in ("lean", "httpx"):
                    endpoint = OpenAIChatEndpoint(
                        base_url=base_url, model_id=config.model, http_transport=choice
                    )
                    result = await Runner(endpoint, seed=0).run(
                        payload=PAYLOAD, clients=2, n_requests=2
                    )
                    texts[choice] = [
                        (r.error, r.response_text, r.num_tokens_output, len(r.chunks))
                        for r in result.responses
                    ]
        assert texts["lean"] == texts["httpx"]
        assert texts["lean"][0] == (None, "tok tok tok tok ", 4, 2)
