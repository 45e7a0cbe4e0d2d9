"""`HttpEndpoint`'s hooks, through a toy provider a plugin author could write.

The toy API: ``POST {base_url}/models/{model}/run`` (``/stream`` when
streaming, chosen by the endpoint's option, not the payload), an ``X-Toy-Key``
header, a signature header made right before sending, JSON lines as its
stream (``{"text": ...}`` per line, ``{"done": true}`` at the end), and error
answers whose class is in an ``x-toy-error`` header.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import attrs
import h11
import httpx
import orjson
import pytest
import trio

from llmeter_trio.endpoints import (
    AnthropicMessages,
    AnthropicMessagesEndpoint,
    ErrorClass,
    HttpEndpoint,
    InvocationResponse,
    OpenAIChatEndpoint,
    StreamRecorder,
    secret_field,
)


class JsonLinesReader:
    """A `StreamReader` for the toy stream: one JSON object per line."""

    def __init__(self, recorder: StreamRecorder) -> None:
        self.recorder = recorder
        self.pending = b""
        self.text: list[str] = []
        self.done = False
        self.error: tuple[ErrorClass, str] | None = None

    def feed(self, data: bytes) -> None:
        *lines, self.pending = (self.pending + data).split(b"\n")
        for line in lines:
            obj = orjson.loads(line)
            if obj.get("done"):
                self.done = True
            elif "text" in obj:
                self.text.append(obj["text"])
                self.recorder.chunk(len(obj["text"]))

    def fail(self, error_class: ErrorClass, message: str) -> None:
        self.error = self.error or (error_class, message)

    def close(self) -> InvocationResponse:
        if self.error is None and not self.done:
            self.fail(ErrorClass.PROTOCOL, "no done line")
        if self.error is not None:
            return InvocationResponse.error_output(self.error[1], self.error[0])
        return InvocationResponse(response_text="".join(self.text))


@attrs.define(kw_only=True)
class ToyEndpoint(HttpEndpoint):
    """A toy provider on the HTTP base."""

    endpoint_type = "toy"
    base_url: str = "https://toy.example/api"
    key: str | None = secret_field()
    streaming: bool = True
    signed: list[str] = attrs.field(factory=list, init=False, repr=False, eq=False)

    def request_path(self, payload: Mapping[str, Any]) -> str:
        return f"/models/{self.model_id}/{'stream' if self.streaming else 'run'}"

    def is_streaming(self, payload: Mapping[str, Any]) -> bool:
        return self.streaming

    def auth_headers(self) -> dict[str, str]:
        return {"X-Toy-Key": self.key} if self.key else {}

    def request_headers(self, streaming: bool) -> Mapping[str, str]:
        accept = "application/jsonl" if streaming else "application/json"
        return {"Content-Type": "application/json", "Accept": accept}

    def sign(self, request: httpx.Request) -> None:
        signature = f"{request.url.path}:{len(request.content)}"
        request.headers["X-Toy-Signature"] = signature
        self.signed.append(signature)

    def stream_reader(self, recorder: StreamRecorder) -> JsonLinesReader:
        return JsonLinesReader(recorder)

    def parse_body(self, body: dict[str, Any]) -> InvocationResponse:
        return InvocationResponse(response_text=body["output"], num_tokens_output=body["tokens"])

    def error_answer(
        self, status: int, headers: httpx.Headers, body: bytes, reason: str = ""
    ) -> InvocationResponse:
        error_class = ErrorClass(headers.get("x-toy-error", "server"))
        return InvocationResponse.error_output(
            f"toy error {status}: {body.decode()}", error_class, status_code=status
        )

    @staticmethod
    def prompt_text(payload: Mapping[str, Any]) -> str | None:
        return str(payload.get("input"))


class ToyServer:
    """Answers the toy API, 10 ms between stream lines, and keeps the requests it saw."""

    def __init__(self, status: int = 200, error: str = "throttled") -> None:
        self.status = status
        self.error = error
        self.requests: list[httpx.Request] = []

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status, headers={"x-toy-error": self.error}, text="slow")
        if request.url.path.endswith("/run"):
            return httpx.Response(200, json={"output": "hello", "tokens": 2})
        return httpx.Response(200, headers={"content-type": "application/jsonl"}, stream=_Lines())

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


class _Lines(httpx.AsyncByteStream):
    async def __aiter__(self) -> Any:
        for line in (b'{"text": "hel"}\n', b'{"text": "lo"}\n{"done": true}\n'):
            await trio.sleep(0.01)
            yield line


class TestHooks:
    """Each hook is called where the base says, and what it returns is what is recorded."""

    async def test_streamed(self, autojump_clock: trio.testing.MockClock) -> None:
        """Path, headers and signature as the hooks made them; chunks from the reader."""
        server = ToyServer()
        endpoint = ToyEndpoint(model_id="m1", key="toy-k3y", transport=server.transport)
        async with endpoint.open_session(1):
            record = await endpoint.invoke({"input": "hi"})
            await endpoint.invoke({"input": "hi again"})
        assert record.error is None, record.error
        assert record.response_text == "hello"
        assert [(c.time, c.chars) for c in record.chunks] == [
            (pytest.approx(0.01), 3),
            (pytest.approx(0.02), 2),
        ]
        assert record.time_to_last_token == pytest.approx(0.02)
        assert record.input_prompt == "hi"
        request = server.requests[0]
        assert request.url == "https://toy.example/api/models/m1/stream"
        assert request.headers["x-toy-key"] == "toy-k3y"
        assert request.headers["accept"] == "application/jsonl"
        assert request.headers["x-toy-signature"] == endpoint.signed[0]
        assert orjson.loads(request.content) == {"input": "hi"}
        assert len(endpoint.signed) == 2  # each request signed on its own

    async def test_whole(self) -> None:
        """A whole answer goes through parse_body (outside a session: a client for the call)."""
        server = ToyServer()
        endpoint = ToyEndpoint(model_id="m2", streaming=False, transport=server.transport)
        record = await endpoint.invoke({"input": "hi"})
        assert (record.response_text, record.num_tokens_output) == ("hello", 2)
        assert server.requests[0].url.path == "/api/models/m2/run"
        assert server.requests[0].headers["accept"] == "application/json"
        assert "x-toy-key" not in server.requests[0].headers

    @pytest.mark.parametrize("error", ["throttled", "client"])
    async def test_error_answer(self, error: str) -> None:
        """A non-2xx answer is the provider's error_answer, with the status kept."""
        endpoint = ToyEndpoint(model_id="m", transport=ToyServer(503, error).transport)
        record = await endpoint.invoke({"input": "hi"})
        assert record.error_class is ErrorClass(error)
        assert (record.status_code, record.error) == (503, "toy error 503: slow")

    async def test_a_stream_cut_short(self, autojump_clock: trio.testing.MockClock) -> None:
        """A reader's close() decides what an incomplete stream is."""

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers={"content-type": "application/jsonl"},
                                  content=b'{"text": "hel"}\n')  # fmt: skip

        endpoint = ToyEndpoint(model_id="m", transport=httpx.MockTransport(answer))
        record = await endpoint.invoke({"input": "hi"})
        assert (record.error_class, record.error) == (ErrorClass.PROTOCOL, "no done line")

    def test_secrets_masked(self) -> None:
        """The base's fields and a provider's secret field are kept out of config and repr."""
        endpoint = ToyEndpoint(key="toy-k3y", extra_headers={"X-Auth": "h3ader"})
        config = endpoint.to_config()
        assert "key" not in config
        assert config["extra_headers"] == {"X-Auth": "***"}
        assert {"toy-k3y", "h3ader"} <= endpoint.secret_values()
        assert "toy-k3y" not in repr(endpoint) and "h3ader" not in repr(endpoint)


@pytest.mark.parametrize("http_transport", ["lean", "httpx"])
async def test_paths_and_query_over_either_transport(http_transport: str) -> None:
    """A path per model, each request to its own; a query in base_url goes after the path
    (the lean transport keeps a template per path)."""
    seen: list[str] = []

    async def handle(stream: trio.SocketStream) -> None:
        connection = h11.Connection(h11.SERVER)
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                if not data:
                    return
                connection.receive_data(data)
            elif isinstance(event, h11.Request):
                seen.append(event.target.decode())
            elif isinstance(event, h11.EndOfMessage):
                body = b'{"output": "ok", "tokens": 1}'
                headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
                await stream.send_all(
                    connection.send(h11.Response(status_code=200, headers=headers))
                )
                await stream.send_all(connection.send(h11.Data(data=body)))
                await stream.send_all(connection.send(h11.EndOfMessage()))
                connection.start_next_cycle()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handle, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        endpoint = ToyEndpoint(
            base_url=f"http://127.0.0.1:{port}/api?v=1",
            streaming=False,
            http_transport=http_transport,  # type: ignore[arg-type]
        )
        async with endpoint.open_session(1):
            for model in ("a", "b", "a"):
                endpoint.model_id = model
                record = await endpoint.invoke({"input": "x"})
                assert record.error is None, record.error
            assert endpoint._session is not None
            if http_transport == "lean":  # the base URL's, and one per path
                assert len(endpoint._session.templates) == 3
        nursery.cancel_scope.cancel()
    assert seen == ["/api/models/a/run?v=1", "/api/models/b/run?v=1", "/api/models/a/run?v=1"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: OpenAIChatEndpoint(verify=False),
        lambda: AnthropicMessagesEndpoint(verify=False),
        lambda: AnthropicMessages("m", verify=False),
        lambda: ToyEndpoint(verify=False),
    ],
)
def test_verify_false_warns_at_the_users_line(make: Any) -> None:
    """The warning names the line that made the endpoint, however deep the subclass."""
    with pytest.warns(UserWarning, match="verification is off") as caught:
        make()
    assert caught[0].filename == __file__


def test_default_base_url() -> None:
    """`default_base_url` gives base_url when none is given; without it, base_url is needed."""

    @attrs.define(kw_only=True)
    class Bare(HttpEndpoint):
        pass

    @attrs.define(kw_only=True)
    class Hosted(HttpEndpoint):
        def default_base_url(self) -> str:
            return "https://api.example/v2"

    with pytest.raises(ValueError, match="Bare needs a base_url"):
        Bare()
    assert Bare(base_url="http://127.0.0.1:9").base_url == "http://127.0.0.1:9"
    assert Hosted().base_url == "https://api.example/v2"
    assert Hosted(base_url="http://127.0.0.1:9").base_url == "http://127.0.0.1:9"
