"""A scripted HTTP/1.1 server on 127.0.0.1 (trio) for the lean transport's edge cases.

Each request path maps to a `Reply`: how the body is framed (chunked,
Content-Length, or ended by closing), in which pieces it goes out, and what the
server does after: keep the connection, announce ``Connection: close``, hang
up silently, drop part-way through the body, or stall until the client goes
away. Answers are written byte by byte as scripted (no HTTP library), so
broken ones are exactly as broken as asked. The server counts connections,
requests, requests in flight, requests it closed the connection on without
answering, and clients that hung up on a stalled answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import trio

Framing = Literal["chunked", "length", "eof"]
After = Literal["keep", "close", "hangup", "drop", "stall"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    `then`: ``keep`` (keep-alive), ``close`` (``Connection: close``, then
    close), ``hangup`` (close after a complete answer without saying so),
    ``drop`` (close after the pieces, before the body's end) or ``stall``
    (after the pieces, wait until the client closes the connection).
    """

    pieces: Sequence[bytes] = (b"hello",)
    framing: Framing = "chunked"
    then: After = "keep"
    status: int = 200
    content_type: bytes = b"text/plain"
    delay: float = 0.0  # seconds before the answer
    gap: float = 0.0  # seconds between pieces


@dataclass
class ScriptedServer:
    replies: dict[str, Reply] = field(default_factory=dict)
    default: Reply = Reply()
    # answer this many requests per connection, then read the next and close without
    # answering (a server closing an idle keep-alive connection as a request comes in)
    answers_per_connection: int | None = None
    unanswered: int = 0
    connections: int = 0
    requests: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    hung_up_on_stall: int = 0
    paths: list[str] = field(default_factory=list)
    _hung_up: trio.Event = field(default_factory=trio.Event)

    async def hang_ups(self, count: int) -> None:
        """Wait until `count` clients in all hung up on stalled answers."""
        while self.hung_up_on_stall < count:
            await self._hung_up.wait()

    async def start(self, nursery: trio.Nursery) -> str:
        """Serve in `nursery`; the origin (``http://127.0.0.1:PORT``)."""
        listeners = await nursery.start(partial(trio.serve_tcp, self._handle, 0, host="127.0.0.1"))
        return f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"

    async def _handle(self, stream: trio.abc.Stream) -> None:
        self.connections += 1
        buffer = bytearray()
        answered = 0
        try:
            while True:
                path = await _read_request(stream, buffer)
                if path is None:
                    return
                if answered == self.answers_per_connection:
                    self.unanswered += 1
                    return
                answered += 1
                self.requests += 1
                self.paths.append(path)
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                try:
                    keep = await self._answer(stream, self.replies.get(path, self.default))
                finally:
                    self.in_flight -= 1
                if not keep:
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            with trio.CancelScope(shield=True):
                await stream.aclose()

    async def _answer(self, stream: trio.abc.Stream, reply: Reply) -> bool:
        await trio.sleep(reply.delay)
        head = [b"HTTP/1.1 %d Whatever" % reply.status, b"content-type: " + reply.content_type]
        total = sum(len(piece) for piece in reply.pieces)
        if reply.framing == "chunked":
            head.append(b"transfer-encoding: chunked")
        elif reply.framing == "length":
            declared = total + (10 if reply.then == "drop" else 0)
            head.append(b"content-length: %d" % declared)
        if reply.then == "close":
            head.append(b"connection: close")
        await stream.send_all(b"\r\n".join(head) + b"\r\n\r\n")
        for piece in reply.pieces:
            await trio.sleep(reply.gap)
            framed = b"%x\r\n%s\r\n" % (len(piece), piece) if reply.framing == "chunked" else piece
            if piece:
                await stream.send_all(framed)
        if reply.then == "stall":
            while await stream.receive_some(65536):  # until the client hangs up
                pass
            self.hung_up_on_stall += 1
            self._hung_up.set()
            self._hung_up = trio.Event()
            return False
        if reply.then == "drop":
            return False
        if reply.framing == "chunked":
            await stream.send_all(b"0\r\n\r\n")
        return reply.then == "keep" and reply.framing != "eof"


async def _read_request(stream: trio.abc.Stream, buffer: bytearray) -> str | None:
    """The path of the next request (its body read and dropped); None once the client closed."""
    while b"\r\n\r\n" not in buffer:
        data = await stream.receive_some(65536)
        if not data:
            return None
        buffer += data
    end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    del buffer[:end]
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(buffer) < length:
        data = await stream.receive_some(65536)
        if not data:
            return None
        buffer += data
    del buffer[:length]
    return head[0].split(" ")[1]
