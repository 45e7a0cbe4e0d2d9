"""Helpers for the wire-format tests: SimApp driven in virtual time, AWS clients."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

import attrs
import pytest
import trio
from botocore.eventstream import EventStreamBuffer, EventStreamMessage

from llmeter_trio.sim import SimApp

T = TypeVar("T")
# A valid-looking SigV4 header, as botocore would send it (the sim never checks the signature).
SIGNED = {
    "authorization": "AWS4-HMAC-SHA256 Credential=AKIDSIM/20250101/us-east-1/{service}/"
    "aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff",
    "x-amz-date": "20250101T000000Z",
}


def signed(service: str, **extra: str) -> dict[str, str]:
    """Request headers signed for `service` (``bedrock`` or ``sagemaker``)."""
    return {**SIGNED, "authorization": SIGNED["authorization"].format(service=service), **extra}


@attrs.define
class Exchange:
    """One request to SimApp as its client saw it; times in (virtual) seconds."""

    status: int
    headers: dict[str, str]
    parts: list[tuple[float, bytes]]  # (time sent, body bytes)

    @property
    def body(self) -> bytes:
        return b"".join(part for _, part in self.parts)

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    app: SimApp, path: str, body: Any, headers: dict[str, str] | None = None
) -> Exchange:
    """POST `body` (JSON) to `app` at `path` in-process, timing each body part."""
    raw = json.dumps(body).encode()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    start = trio.current_time()
    status, head, parts = 0, {}, []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, head
        if message["type"] == "http.response.start":
            status = message["status"]
            head = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message.get("body"):
            parts.append((trio.current_time() - start, message["body"]))

    scope = {
        "type": "http",
        "method": "POST",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    await app(scope, receive, send)
    return Exchange(status, head, parts)


def messages(exchange: Exchange) -> list[tuple[float, EventStreamMessage]]:
    """The event-stream messages of an answer (checksums checked by botocore), each
    with the time its bytes were sent."""
    buffer = EventStreamBuffer()
    out = []
    for at, part in exchange.parts:
        buffer.add_data(part)
        out += [(at, message) for message in buffer]
    assert buffer._data == b"", "a message was cut short"
    return out


def sse_events(raw: bytes) -> list[tuple[str | None, Any]]:
    """(event name, JSON data) of each SSE event in `raw` (``data:`` with or without a space)."""
    out = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        name, data = None, None
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            if field == "event":
                name = value.strip()
            elif field == "data":
                data = json.loads(value)
        out.append((name, data))
    return out


def clear_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """boto3 sees no credentials, profile or config from the machine it runs on."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def aws_client(service: str, origin: str) -> Any:
    """A boto3 client for `service` at the simulated server, dummy credentials given as
    arguments, no retries (so a throttled call fails at once)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=origin,
        region_name="us-east-1",
        aws_access_key_id="AKIDSIMULATED",
        aws_secret_access_key="not-a-real-secret",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=20),
    )


async def in_thread(function: Callable[[], T]) -> T:
    """Run a blocking SDK call while the server keeps serving."""
    return await trio.to_thread.run_sync(function)
