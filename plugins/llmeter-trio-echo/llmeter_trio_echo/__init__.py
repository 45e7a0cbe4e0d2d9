"""An example llmeter-trio plugin: `EchoEndpoint`, registered as "echo".

The entry point in pyproject.toml names this module; llmeter-trio's plugin
manager loads it and calls its hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import trio

from llmeter_trio import Endpoint, InvocationResponse, StreamRecorder, hookimpl
from llmeter_trio.endpoints import ChunkKind, TokenCountSource

__all__ = ["EchoEndpoint", "register_endpoints"]


@attrs.define
class EchoEndpoint(Endpoint):
    """Streams the prompt back one word per `delay` seconds."""

    endpoint_type = "echo"
    endpoint_name: str = "echo"
    model_id: str = "echo"
    provider: str = "llmeter-trio-echo"
    delay: float = 0.001

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        """Echo ``payload["prompt"]``, word by word."""
        recorder = StreamRecorder()
        words = str(payload.get("prompt", "")).split()
        for word in words:
            await trio.sleep(self.delay)
            recorder.chunk(chars=len(word) + 1, kind=ChunkKind.CONTENT, tokens=1)
        response = InvocationResponse(
            response_text=" ".join(words),
            input_prompt=str(payload.get("prompt", "")),
            num_tokens_input=len(words),
            num_tokens_output=len(words),
            num_tokens_input_source=TokenCountSource.SERVER,
            num_tokens_output_source=TokenCountSource.SERVER,
        )
        return recorder.finish(response)


@hookimpl
def register_endpoints(register: Callable[[type[Endpoint]], None]) -> None:
    """Make "echo" available to runs, saved results and the command line."""
    register(EchoEndpoint)
