"""The built-in endpoints, registered as an ordinary plugin."""

from __future__ import annotations

from collections.abc import Callable

from ..hookspecs import hookimpl
from ._base import Endpoint
from ._fake import FakeEndpoint
from .openai import OpenAIChatEndpoint, OpenAICompletionsEndpoint, OpenAIResponsesEndpoint


@hookimpl
def register_endpoints(register: Callable[[type[Endpoint]], None]) -> None:
    """Register the endpoints that ship with llmeter-trio."""
    register(FakeEndpoint)
    register(OpenAIChatEndpoint)
    register(OpenAICompletionsEndpoint)
    register(OpenAIResponsesEndpoint)
