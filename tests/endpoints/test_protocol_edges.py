"""Protocol edge cases found by probing: broken event streams, TLS, huge answers."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import httpx
import orjson
import pytest
import trio

from llmeter_trio import Runner
from llmeter_trio.endpoints import ErrorClass, OpenAIChatEndpoint
from llmeter_trio.endpoints._errors import describe_exception
from llmeter_trio.tokenizers import DummyTokenizer

from ._openai_support import Server, chat_chunk, sse, usage_chunk
from ._scripted_server import Reply, ScriptedServer
from ._tls_support import certificate_file, tls_contexts

LIMIT = 30  # seconds: the most any test here may take (50 MB on a busy machine included)
TRANSPORTS = ["lean", "httpx"]
PAYLOAD = OpenAIChatEndpoint.create_payload("hi")
SSE = b"text/event-stream"


async def invoke_once(endpoint: OpenAIChatEndpoint, payload: dict | None = None):  # type: ignore[no-untyped-def]
    with trio.fail_after(LIMIT):
        async with endpoint.open_session(1):
            return await endpoint.invoke(endpoint.prepare_payload(payload or PAYLOAD))


class TestUnterminatedEvent:
    """A body ending cleanly mid-event broke the SSE format; one cut short lost its connection."""

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_clean_end_is_protocol(self, nursery: trio.Nursery, transport: str) -> None:
        body = sse(chat_chunk("a")) + b'data: {"choices": []}\n'  # no blank line after it
        server = ScriptedServer(default=Reply(pieces=(body,), content_type=SSE))
        base_url = await server.start(nursery) + "/v1"
        record = await invoke_once(OpenAIChatEndpoint(base_url=base_url, http_transport=transport))
        assert record.error_class is ErrorClass.PROTOCOL
        assert "never ended by a blank line" in (record.error or "")

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_dropped_connection_is_connection(
        self, nursery: trio.Nursery, transport: str
    ) -> None:
        body = sse(chat_chunk("a")) + b'data: {"choices": ['
        server = ScriptedServer(default=Reply(pieces=(body,), content_type=SSE, then="drop"))
        base_url = await server.start(nursery) + "/v1"
        record = await invoke_once(OpenAIChatEndpoint(base_url=base_url, http_transport=transport))
        assert record.error_class is ErrorClass.CONNECTION


class TestMessages:
    async def test_missing_end_marker(self) -> None:
        """The stream that never finished says what never came, in plain words."""
        server = Server(parts=[(0, sse(chat_chunk("a")))])
        record = await OpenAIChatEndpoint(transport=server.transport).invoke(PAYLOAD)
        assert record.error_class is ErrorClass.PROTOCOL
        assert record.error == (
            "the stream ended before the answer was complete (a finish_reason or [DONE] never came)"
        )

    def test_an_exception_without_a_message_is_explained_by_its_cause(self) -> None:
        """httpx's TLS ConnectError has no text: the SSL error under it speaks instead."""
        try:
            try:
                try:
                    raise OSError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
                except OSError as ssl_error:
                    raise trio.BrokenResourceError from ssl_error
            except trio.BrokenResourceError as broken:
                raise httpx.ConnectError("") from broken
        except httpx.ConnectError as exc:
            assert describe_exception(exc) == (
                "ConnectError: OSError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
            )
        assert describe_exception(ValueError()) == "ValueError"
        assert describe_exception(ValueError("x")) == "ValueError: x"


async def _plain_http(stream: trio.SocketStream) -> None:
    """Answers a TLS hello with plain HTTP, as a server on the wrong port would."""
    await stream.receive_some(65536)
    await stream.send_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
    await stream.aclose()


async def _hang_up(stream: trio.SocketStream) -> None:
    await stream.aclose()


async def _tls_server(nursery: trio.Nursery, folder: Path) -> str:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate; its base URL."""
    server_context, _ = tls_contexts(folder)
    server = ScriptedServer(
        default=Reply(
            pieces=(sse(chat_chunk("ok"), usage_chunk(1, 1), "[DONE]"),), content_type=SSE
        )
    )
    listeners = await nursery.start(
        partial(trio.serve_ssl_over_tcp, server._handle, 0, server_context, host="127.0.0.1")
    )
    return f"https://127.0.0.1:{listeners[0].transport_listener.socket.getsockname()[1]}/v1"


class TestTls:
    """TLS failures keep their reason on both transports; `verify` chooses what is trusted."""

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_untrusted_certificate(
        self, nursery: trio.Nursery, tmp_path: Path, transport: str
    ) -> None:
        base_url = await _tls_server(nursery, tmp_path)
        record = await invoke_once(OpenAIChatEndpoint(base_url=base_url, http_transport=transport))
        assert record.error_class is ErrorClass.CONNECTION
        assert "CERTIFICATE_VERIFY_FAILED" in (record.error or "")

    @pytest.mark.parametrize("transport", TRANSPORTS)
    @pytest.mark.parametrize("handler", [_plain_http, _hang_up])
    async def test_handshake_failures_say_why(
        self, nursery: trio.Nursery, transport: str, handler: object
    ) -> None:
        """Not 'ConnectError: ' and nothing more: the SSL error is in the message."""
        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        endpoint = OpenAIChatEndpoint(
            base_url=f"https://127.0.0.1:{port}/v1", http_transport=transport
        )
        record = await invoke_once(endpoint)
        assert record.error_class is ErrorClass.CONNECTION
        assert record.error is not None and record.error.startswith("ConnectError: ")
        assert "SSL" in record.error.removeprefix("ConnectError: ")

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_a_ca_bundle(self, nursery: trio.Nursery, tmp_path: Path, transport: str) -> None:
        """verify=<path> trusts the certificates of that bundle."""
        base_url = await _tls_server(nursery, tmp_path)
        endpoint = OpenAIChatEndpoint(
            base_url=base_url, http_transport=transport, verify=str(certificate_file(tmp_path))
        )
        record = await invoke_once(endpoint)
        assert record.error is None
        assert record.response_text == "ok"

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_verification_off(
        self, nursery: trio.Nursery, tmp_path: Path, transport: str
    ) -> None:
        """verify=False: any certificate will do, with a warning; the saved config says so."""
        (tmp_path / "tls").mkdir()
        base_url = await _tls_server(nursery, tmp_path / "tls")
        with pytest.warns(UserWarning, match="TLS certificate verification is off"):
            endpoint = OpenAIChatEndpoint(base_url=base_url, http_transport=transport, verify=False)
        with trio.fail_after(LIMIT):
            result = await Runner(endpoint, output_path=str(tmp_path)).run(
                payload=PAYLOAD, n_requests=1, run_name="r"
            )
        assert result.responses[0].error is None
        saved = json.loads((tmp_path / "r" / "run_config.json").read_text())
        assert saved["endpoint_config"]["verify"] is False

    async def test_missing_ca_bundle(self, tmp_path: Path) -> None:
        """A CA bundle that cannot be read stops the run before it starts, naming the path."""
        missing = str(tmp_path / "nowhere.pem")
        endpoint = OpenAIChatEndpoint(base_url="https://127.0.0.1:9/v1", verify=missing)
        with pytest.raises(ValueError, match=r"nowhere\.pem"):
            async with endpoint.open_session(1):
                pass

    def test_verify_must_be_a_bool_or_a_path(self) -> None:
        with pytest.raises(TypeError, match="verify"):
            OpenAIChatEndpoint(verify=1)  # type: ignore[arg-type]


_PIECE = b"x" * 65536
_MB50 = 800  # pieces of 64 KiB: 50 MiB


def _huge_stream_event() -> bytes:
    return sse({"id": "c", "choices": [{"index": 0, "delta": {"content": _PIECE.decode()}}]})


class TestHugeAnswers:
    """50 MB answers are read whole; the text kept per record stops at max_response_chars."""

    async def test_a_50_mb_body(self, nursery: trio.Nursery) -> None:
        head = b'{"id": "big", "choices": [{"message": {"content": "'
        tail = b'"}}], "usage": {"prompt_tokens": 1, "completion_tokens": 7}}'
        pieces = (head, *([_PIECE] * _MB50), tail)
        server = ScriptedServer(default=Reply(pieces=pieces, content_type=b"application/json"))
        endpoint = OpenAIChatEndpoint(base_url=await server.start(nursery) + "/v1")
        record = await invoke_once(endpoint, {**PAYLOAD, "stream": False})
        total = len(_PIECE) * _MB50
        assert record.error is None
        assert record.response_text == "x" * 1_000_000
        assert record.truncated_chars == total - 1_000_000
        assert record.num_tokens_output == 7

    async def test_a_50_mb_stream(self, nursery: trio.Nursery) -> None:
        """Every event is still read and timed; the server's token count arrives at the end."""
        event = _huge_stream_event()
        ending = sse(usage_chunk(1, _MB50), "[DONE]")
        server = ScriptedServer(
            default=Reply(pieces=(*([event] * _MB50), ending), content_type=SSE)
        )
        endpoint = OpenAIChatEndpoint(
            base_url=await server.start(nursery) + "/v1", max_response_chars=100_000
        )
        record = await invoke_once(endpoint)
        assert record.error is None
        assert len(record.chunks) == _MB50
        assert sum(c.chars for c in record.chunks) == len(_PIECE) * _MB50
        assert record.response_text == "x" * 100_000
        assert record.truncated_chars == len(_PIECE) * _MB50 - 100_000
        assert record.num_tokens_output == _MB50
        assert record.time_to_last_token is not None
        assert record.time_to_first_token is not None
        assert record.time_to_last_token >= record.time_to_first_token

    async def test_no_cap(self) -> None:
        """max_response_chars=None keeps everything; a short answer is never marked."""
        parts = [(0, sse(chat_chunk("abc"), chat_chunk("def"), usage_chunk(1, 2), "[DONE]"))]
        whole = await OpenAIChatEndpoint(
            transport=Server(parts=parts).transport, max_response_chars=None
        ).invoke(PAYLOAD)
        assert (whole.response_text, whole.truncated_chars) == ("abcdef", None)
        capped = await OpenAIChatEndpoint(
            transport=Server(parts=parts).transport, max_response_chars=4
        ).invoke(PAYLOAD)
        assert (capped.response_text, capped.truncated_chars) == ("abcd", 2)
        assert [c.chars for c in capped.chunks] == [3, 3]

    def test_cap_is_checked(self) -> None:
        with pytest.raises(ValueError, match="max_response_chars"):
            OpenAIChatEndpoint(max_response_chars=-1)

    async def test_a_cut_text_is_not_counted_by_the_tokenizer(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Without the server's usage, a cut text would be undercounted: the count stays unknown."""
        parts = [(0, sse(chat_chunk("one two three"), chat_chunk(" four", finish_reason="stop")))]
        for cap, expected in ((None, 4), (5, None)):
            endpoint = OpenAIChatEndpoint(
                transport=Server(parts=parts).transport, max_response_chars=cap, include_usage=False
            )
            result = await Runner(endpoint, tokenizer=DummyTokenizer()).run(
                payload=PAYLOAD, n_requests=1
            )
            (record,) = result.responses
            assert record.error is None
            assert record.num_tokens_output == expected


def test_saved_records_carry_the_note() -> None:
    """truncated_chars is part of a saved record."""
    from llmeter_trio.endpoints import InvocationResponse
    from llmeter_trio.storage import converter

    record = InvocationResponse(response_text="abc", truncated_chars=10)
    saved = orjson.loads(orjson.dumps(converter.unstructure(record)))
    assert saved["truncated_chars"] == 10
    assert converter.structure(saved, InvocationResponse).truncated_chars == 10
