"""A third-party plugin, as another distribution would ship it (used by test_plugins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from llmeter_trio import Endpoint, InvocationResponse, Result, StreamRecorder, hookimpl

finished_runs: list[tuple[str | None, bool]] = []


@attrs.define
class EchoEndpoint(Endpoint):
    """Answers with the prompt, instantly."""

    endpoint_type = "echo"
    shout: bool = False

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        recorder = StreamRecorder()
        text = str(payload.get("prompt", ""))
        text = text.upper() if self.shout else text
        recorder.chunk(len(text))
        return recorder.finish(InvocationResponse(response_text=text, input_prompt=text))


class ShoutTokenizer:
    def encode(self, text: str) -> list[str]:
        return list(text)

    def decode(self, tokens: Any) -> str:
        return "".join(tokens)


@hookimpl
def register_endpoints(register: Callable[[type[Endpoint]], None]) -> None:
    register(EchoEndpoint)


@hookimpl
def register_tokenizers(register: Callable[[str, Callable[..., Any]], None]) -> None:
    register("chars", ShoutTokenizer)


@hookimpl
def after_run(result: Result, interrupted: bool) -> None:
    finished_runs.append((result.run_name, interrupted))
