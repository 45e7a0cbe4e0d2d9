"""A tiny HTTP/1.1 server on 127.0.0.1 (h11 over trio) that streams a fixed SSE body.

Just enough to test what a mock transport cannot show: real connections being
opened, timed, pooled and reused. It counts the connections it accepted and
the most requests it had in flight at once.
"""

from __future__ import annotations

from functools import partial

import h11
import trio

from llmeter_trio.endpoints.openai import OpenAIChatEndpoint


class LoopbackServer:
    def __init__(self, body: bytes, delay: float = 0.0) -> None:
        self.body = body
        self.delay = delay  # seconds before answering each request
        self.connections = 0
        self.requests = 0
        self.in_flight = 0
        self.most_in_flight = 0

    async def start(self, nursery: trio.Nursery) -> str:
        """Serve in `nursery`; the base URL to use."""
        listeners = await nursery.start(partial(trio.serve_tcp, self.handle, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def handle(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        connection = h11.Connection(h11.SERVER)
        try:
            while await self._one_exchange(stream, connection):
                connection.start_next_cycle()
        except (h11.RemoteProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await stream.aclose()

    async def _one_exchange(self, stream: trio.SocketStream, connection: h11.Connection) -> bool:
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.ConnectionClosed):
                return False
            elif isinstance(event, h11.EndOfMessage):
                break
        self.requests += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await trio.sleep(self.delay)
            headers = [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")]
            await stream.send_all(connection.send(h11.Response(status_code=200, headers=headers)))
            await stream.send_all(connection.send(h11.Data(data=self.body)))
            await stream.send_all(connection.send(h11.EndOfMessage()))
        finally:
            self.in_flight -= 1
        return connection.our_state is not h11.MUST_CLOSE


def endpoint_for(base_url: str, **options: object) -> OpenAIChatEndpoint:
    return OpenAIChatEndpoint(base_url=base_url, model_id="m", **options)  # type: ignore[arg-type]
