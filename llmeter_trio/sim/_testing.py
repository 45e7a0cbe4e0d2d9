"""Testing aids: the simulated server's answer as a client sees it, without sockets.

`call_app` sends one request straight to a `SimApp` (its ASGI interface, in
the same trio run) and returns the answer with the instant each part of its
body was sent, so a test on trio's ``MockClock`` (autojump) sees the exact
virtual times the simulation planned::

    exchange = await call_app(SimApp(config), "/v1/chat/completions", body)
    exchange.status, exchange.headers, exchange.parts  # parts: [(seconds, bytes), ...]

For the AWS APIs: `signed_headers` passes the simulated server's SigV4
check (which looks at the header's form, never at the signature), and
`hide_aws_settings` keeps botocore, in a test, from finding the machine's
own AWS credentials, profile and config.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

import attrs
import orjson
import trio

from ._app import SimApp

__all__ = ["AppExchange", "call_app", "hide_aws_settings", "signed_headers"]


@attrs.define
class AppExchange:
    """One answer of `SimApp` as its client saw it: status, headers, and each part of the
    body with the time it was sent (seconds after the call)."""

    status: int
    headers: dict[str, str]
    parts: list[tuple[float, bytes]]

    @property
    def body(self) -> bytes:
        """The whole body."""
        return b"".join(part for _, part in self.parts)

    def json(self) -> Any:
        """The body, read as JSON."""
        return orjson.loads(self.body)


async def call_app(
    app: SimApp, path: str, body: Any, headers: Mapping[str, str] | None = None
) -> AppExchange:
    """POST `body` (as JSON) to `app` at `path` (percent-encoded as in a URL), in-process."""
    raw = orjson.dumps(body)
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    start = trio.current_time()
    exchange = AppExchange(0, {}, [])

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message.get("body"):
            exchange.parts.append((trio.current_time() - start, message["body"]))

    scope = {
        "type": "http",
        "method": "POST",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    await app(scope, receive, send)
    return exchange


def signed_headers(service: str) -> dict[str, str]:
    """Request headers that look SigV4-signed for `service` (``bedrock``, ``sagemaker``)."""
    return {
        "authorization": f"AWS4-HMAC-SHA256 Credential=AKIDSIM/20250101/us-east-1/{service}/"
        "aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff",
        "x-amz-date": "20250101T000000Z",
    }


class _Environment(Protocol):
    """Sets and removes environment variables for a test (pytest's ``monkeypatch``)."""

    def setenv(self, name: str, value: str) -> None: ...

    def delenv(self, name: str) -> None: ...


def hide_aws_settings(environment: _Environment, folder: Path) -> None:
    """Remove every ``AWS_*`` variable, point the shared config and credentials files at
    missing files in `folder`, and turn off the instance metadata service: botocore then
    finds no credentials, profile, region or config of the machine the test runs on."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            environment.delenv(name)
    environment.setenv("AWS_CONFIG_FILE", str(folder / "no-aws-config"))
    environment.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "no-aws-credentials"))
    environment.setenv("AWS_EC2_METADATA_DISABLED", "true")
