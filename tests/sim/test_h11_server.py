"""The lean HTTP/1.1 engine (`llmeter_trio.sim._h11_server`) on its own edge cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import h11
import httpx
import orjson
import pytest
import trio
import trio.testing

from llmeter_trio.sim import Faults, SimApp, SimConfig, simulated_server
from llmeter_trio.sim._h11_server import ASGIApp, ClientDisconnected, Message, Receive, Send, serve

from ._support import CHAT, chat_body, data_events

Scope = dict[str, Any]


@asynccontextmanager
async def serving(app: ASGIApp, *, graceful_timeout: float = 0.0) -> AsyncIterator[str]:
    """Serve `app` on a free port for the block; yields ``http://127.0.0.1:PORT``."""
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url: str = await nursery.start(
            partial(
                serve,
                app,
                "127.0.0.1:0",
                shutdown_trigger=stop.wait,
                graceful_timeout=graceful_timeout,
            )
        )
        try:
            yield url
        finally:
            stop.set()


async def connect(url: str) -> trio.SocketStream:
    host, port = url.removeprefix("http://").split("/")[0].rsplit(":", 1)
    return await trio.open_tcp_stream(host, int(port))


async def exchange(
    stream: trio.SocketStream, state: h11.Connection, path: str, body: bytes
) -> tuple[h11.Response, bytes]:
    """One POST and its whole response over an h11 client connection."""
    headers = [("host", "sim"), ("content-length", str(len(body)))]
    data = state.send(h11.Request(method="POST", target=path, headers=headers))
    data += state.send(h11.Data(data=body)) if body else b""
    await stream.send_all(data + state.send(h11.EndOfMessage()))
    response: h11.Response | None = None
    parts = []
    while True:
        event = state.next_event()
        if event is h11.NEED_DATA:
            state.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            parts.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            assert response is not None
            return response, b"".join(parts)
        else:
            raise AssertionError(f"unexpected {event!r}")


async def read_until_closed(stream: trio.SocketStream) -> bytes:
    data = b""
    while piece := await stream.receive_some(65536):
        data += piece
    return data


# -- a small ASGI app of SimApp's kind, to see what the engine hands an app --------


class Recorder:
    """Echoes each request (method, path, query, body parts, client port) as JSON."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []
        self.messages: list[list[Message]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        messages: list[Message] = []
        self.messages.append(messages)
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message["more_body"]:
                break
        body = orjson.dumps(
            {
                "method": scope["method"],
                "path": scope["path"],
                "query": scope["query_string"].decode(),
                "body": b"".join(m.get("body", b"") for m in messages).decode(),
                "parts": len(messages),
                "port": scope["client"][1],
            }
        )
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# -- keep-alive ------------------------------------------------------------------------


async def test_one_connection_carries_many_requests() -> None:
    app = SimApp(SimConfig(ttft_base=0.0, itl=0.0, output_tokens=3))
    body = orjson.dumps(chat_body(stream=True))
    with trio.fail_after(10):
        async with serving(app) as url:
            stream = await connect(url + "/v1")
            state = h11.Connection(h11.CLIENT)
            for _ in range(100):
                response, raw = await exchange(stream, state, "/v1/chat/completions", body)
                assert response.status_code == 200
                assert (b"transfer-encoding", b"chunked") in list(response.headers)
                assert data_events(raw)[-1] == "[DONE]"
                assert state.our_state is h11.DONE and state.their_state is h11.DONE
                state.start_next_cycle()
            await stream.aclose()


async def test_httpx_reuses_its_connection() -> None:
    app = Recorder()
    with trio.fail_after(10):
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            for i in range(20):
                response = await client.post(f"/echo/a%20b?i={i}", content=b"x" * i)
                assert response.json()["body"] == "x" * i
    assert len({scope["client"] for scope in app.scopes}) == 1
    assert app.scopes[3]["path"] == "/echo/a b" and app.scopes[3]["raw_path"] == b"/echo/a%20b"
    assert app.scopes[3]["query_string"] == b"i=3"
    assert app.scopes[0]["http_version"] == "1.1" and app.scopes[0]["scheme"] == "http"
    assert (b"host", url.removeprefix("http://").encode()) in app.scopes[0]["headers"]


async def test_pipelined_requests_are_answered_in_order() -> None:
    app = Recorder()
    requests = b"".join(
        b"POST /p%d HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\n%d" % (i, i) for i in range(3)
    )
    with trio.fail_after(10):
        async with serving(app) as url:
            stream = await connect(url)
            await stream.send_all(
                requests + b"GET /last HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
            )
            raw = await read_until_closed(stream)
    assert raw.count(b"HTTP/1.1 200 OK\r\n") == 4
    assert [s["path"] for s in app.scopes] == ["/p0", "/p1", "/p2", "/last"]
    assert b"connection: close\r\n" in raw.rsplit(b"HTTP/1.1", 1)[1]


# -- request bodies --------------------------------------------------------------------


async def test_chunked_request_body_arrives_in_parts() -> None:
    app = Recorder()
    sent = trio.Event()

    async def body() -> AsyncIterator[bytes]:
        for piece in (b"one ", b"two ", b"three"):
            yield piece
            await trio.sleep(0.02)  # each piece in a packet of its own
        sent.set()

    with trio.fail_after(10):
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            response = await client.post("/upload", content=body())
    assert response.json()["body"] == "one two three"
    assert response.json()["parts"] >= 2  # more_body=True parts, then the end
    assert dict(app.scopes[0]["headers"])[b"transfer-encoding"] == b"chunked"
    assert app.messages[0][-1]["more_body"] is False


async def test_simapp_reads_a_chunked_request() -> None:
    async def body() -> AsyncIterator[bytes]:
        raw = orjson.dumps(chat_body("a b c", stream=True))
        yield raw[:10]
        await trio.sleep(0.01)
        yield raw[10:]

    config = SimConfig(ttft_base=0.0, itl=0.0, output_tokens=2)
    with trio.fail_after(10):
        async with simulated_server(config) as url, httpx.AsyncClient(base_url=url) as client:
            response = await client.post(CHAT, content=body())
    assert response.status_code == 200
    assert data_events(response.content)[-1] == "[DONE]"


async def test_expect_100_continue() -> None:
    app = Recorder()
    with trio.fail_after(10):
        async with serving(app) as url:
            stream = await connect(url)
            await stream.send_all(
                b"POST /e HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n"
            )
            interim = await stream.receive_some(65536)
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            await stream.send_all(b"ok")
            state = h11.Connection(h11.CLIENT)
            state.send(h11.Request(method="POST", target="/e", headers=[("host", "x")]))
            state.receive_data(await stream.receive_some(65536))
            response = state.next_event()
            assert isinstance(response, h11.Response) and response.status_code == 200
            await stream.aclose()
    assert app.messages[0][-1]["body"] == b"ok"


async def test_unread_body_is_skipped_and_the_connection_kept() -> None:
    async def ignores_the_body(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b"never sent"})

    with trio.fail_after(10):
        async with serving(ignores_the_body) as url:
            stream = await connect(url)
            state = h11.Connection(h11.CLIENT)
            for _ in range(3):
                response, raw = await exchange(stream, state, "/", b"x" * 100_000)
                assert response.status_code == 204 and raw == b""
                state.start_next_cycle()
            await stream.aclose()


# -- responses -------------------------------------------------------------------------


async def test_streamed_headers_go_out_before_the_first_token(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = SimConfig(ttft_base=0.3, itl=0.0, output_tokens=2)
    with trio.fail_after(10):
        async with simulated_server(config) as url, httpx.AsyncClient(base_url=url) as client:
            start = trio.current_time()
            async with client.stream("POST", CHAT, json=chat_body(stream=True)) as response:
                headers_at = trio.current_time() - start
                raw = await response.aread()
            total = trio.current_time() - start
    assert response.headers["transfer-encoding"] == "chunked"
    assert headers_at == 0 and total == pytest.approx(0.3)  # in virtual time: exact
    assert data_events(raw)[-1] == "[DONE]"


async def test_each_body_message_is_one_chunk_and_empty_ones_send_nothing() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for body in (b"", b"abc", b"", b"defgh"):
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    with trio.fail_after(10):
        async with serving(app) as url:
            stream = await connect(url)
            await stream.send_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            raw = await read_until_closed(stream)
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head == (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close")
    assert body == b"3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n"


async def test_http10_and_head_requests() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1")]})
        await send({"type": "http.response.body", "body": b"hello", "more_body": True})
        await send({"type": "http.response.body", "body": b" world"})

    with trio.fail_after(10):
        async with serving(app) as url:
            stream = await connect(url)
            await stream.send_all(b"GET / HTTP/1.0\r\n\r\n")  # no chunks: the close ends the body
            raw = await read_until_closed(stream)
            assert raw == b"HTTP/1.1 200 OK\r\nx-a: 1\r\nconnection: close\r\n\r\nhello world"
            async with httpx.AsyncClient(base_url=url) as client:
                head = await client.head("/")
                get = await client.get("/")
    assert head.status_code == 200 and head.content == b""
    assert get.content == b"hello world"


async def test_app_failures_answer_500() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/raise":
            raise ValueError("boom")
        if scope["path"] == "/late":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise ValueError("after the start, before any byte")
        # "/nothing": returns without a response

    with trio.fail_after(10):
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            for path in ("/raise", "/late", "/nothing"):
                response = await client.get(path)
                assert response.status_code == 500, path
                assert response.headers["connection"] == "close"
            assert (await client.get("/raise")).status_code == 500  # still serving


async def test_bad_requests_are_refused() -> None:
    with trio.fail_after(10):
        async with serving(Recorder()) as url:
            stream = await connect(url)
            await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
            raw = await read_until_closed(stream)
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")


# -- clients that go away ----------------------------------------------------------------


async def test_drop_fault_is_a_broken_stream() -> None:
    config = SimConfig(ttft_base=0.0, itl=0.0, output_tokens=5, faults=Faults(drop_after_chunks=2))
    body = orjson.dumps(chat_body(stream=True))
    request = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n"
    request += b"x-sim-fault: drop\r\n\r\n%s"
    with trio.fail_after(10):
        async with simulated_server(config) as url:
            stream = await connect(url)
            await stream.send_all(request % (len(body), body))
            raw = await read_until_closed(stream)  # the server closed the connection
            async with httpx.AsyncClient(base_url=url) as client:
                with pytest.raises(httpx.RemoteProtocolError):
                    await client.post(
                        CHAT, json=chat_body(stream=True), headers={"x-sim-fault": "drop"}
                    )
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n") and b"transfer-encoding: chunked" in raw
    assert raw.count(b'"content":"tok') == 2
    assert not raw.endswith(b"0\r\n\r\n")  # no last chunk: the body is cut


async def test_client_leaving_mid_stream_frees_the_slot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = SimConfig(ttft_base=0.0, itl=0.05, output_tokens=200, max_concurrency=1)
    with trio.fail_after(10):
        async with simulated_server(config) as url, httpx.AsyncClient(base_url=url) as client:
            async with client.stream("POST", CHAT, json=chat_body(stream=True)) as response:
                async for _ in response.aiter_raw():
                    break  # 10 s of stream left: hang up
            start = trio.current_time()
            short = await client.post(CHAT, json=chat_body(stream=True, max_tokens=1))
            waited = trio.current_time() - start
    assert short.status_code == 200 and data_events(short.content)[-1] == "[DONE]"
    assert waited == 0  # in virtual time: the slot was freed when the first client left


async def test_the_app_hears_of_a_disconnect_and_send_fails() -> None:
    heard = trio.Event()
    send_error: list[BaseException] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "http.request"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        assert (await receive())["type"] == "http.disconnect"  # blocks until the client leaves
        heard.set()
        assert (await receive())["type"] == "http.disconnect"  # and stays so
        try:
            await send({"type": "http.response.body", "body": b"late", "more_body": True})
        except OSError as exc:
            send_error.append(exc)

    with trio.fail_after(10):
        async with serving(app) as url:
            stream = await connect(url)
            await stream.send_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            assert b"first" in await stream.receive_some(65536)
            await trio.sleep(0.05)
            assert not heard.is_set()
            await stream.aclose()
            await heard.wait()
    assert len(send_error) == 1 and isinstance(send_error[0], ClientDisconnected)


async def test_receive_after_the_response_says_disconnect_at_once() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        assert (await receive())["type"] == "http.request"
        assert (await receive())["type"] == "http.disconnect"  # not a wait for the client

    with trio.fail_after(10):
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            for _ in range(3):
                assert (await client.get("/")).content == b"done"


# -- binding and shutdown -----------------------------------------------------------------


async def test_port_zero_picks_free_ports() -> None:
    with trio.fail_after(10):
        async with serving(Recorder()) as one, serving(Recorder()) as two:
            assert one != two and not one.endswith(":0")
            for url in (one, two):
                async with httpx.AsyncClient(base_url=url) as client:
                    assert (await client.get("/")).status_code == 200
        async with httpx.AsyncClient(base_url=one) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/")


async def test_shutdown_cancels_requests_in_flight_and_closes_idle_connections(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = SimConfig(ttft_base=0.0, itl=0.0, faults=Faults(stall_duration=60.0))
    app = SimApp(config)
    body = orjson.dumps(chat_body(stream=True))
    request = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n"
    stall = request % len(body) + b"x-sim-fault: stall\r\n\r\n" + body
    results: dict[str, bytes] = {}
    closed_at: dict[str, float] = {}

    async def read(name: str, stream: trio.SocketStream) -> None:
        results[name] = await read_until_closed(stream)
        closed_at[name] = trio.current_time()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            async with serving(app, graceful_timeout=1.0) as url:
                idle = await connect(url)
                nursery.start_soon(read, "idle", idle)
                busy = [await connect(url) for _ in range(3)]
                for i, stream in enumerate(busy):
                    await stream.send_all(stall)
                    assert (await stream.receive_some(65536)).startswith(b"HTTP/1.1 200 OK")
                    nursery.start_soon(read, f"busy{i}", stream)
                # graceful_timeout=1: the idle connection closes at once, the stalled
                # streams after 1 s, unless their responses end first
                leaving = trio.current_time()
            left = trio.current_time() - leaving
    assert left == pytest.approx(1.0)  # in virtual time: exactly the grace
    assert results["idle"] == b"" and closed_at["idle"] == leaving
    for i in range(3):
        assert not results[f"busy{i}"].endswith(b"0\r\n\r\n")


async def test_shutdown_lets_requests_end_within_the_grace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = SimConfig(ttft_base=0.2, itl=0.0, output_tokens=3)
    outcome: list[bytes] = []

    async def one(url: str, started: trio.Event) -> None:
        stream = await connect(url)
        body = orjson.dumps(chat_body(stream=True))
        head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n"
        await stream.send_all(head % len(body) + body)
        started.set()
        outcome.append(await read_until_closed(stream))

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            async with serving(SimApp(config), graceful_timeout=2.0) as url:
                started = trio.Event()
                nursery.start_soon(one, url, started)
                await started.wait()
                await trio.sleep(0.05)  # the request is in flight
                leaving = trio.current_time()
            left = trio.current_time() - leaving
    assert left == pytest.approx(0.15)  # it ended at 0.2 s, not after the whole grace
    assert outcome[0].endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")  # whole, then closed
