"""The entry point llmeter-trio loads (``[project.entry-points.llmeter_trio] litellm``).

Loading it does not import LiteLLM (seconds of work): the endpoint does, when
a run opens its session.
"""

from __future__ import annotations

from collections.abc import Callable

from llmeter_trio import Endpoint, hookimpl

from ._endpoint import LiteLLMEndpoint

__all__ = ["ENDPOINTS", "register_endpoints"]

# The endpoint classes this plugin registers. LLMeter's `LiteLLM` and
# `LiteLLMStreaming` are made as "litellm" endpoints, so they need no name of their own.
ENDPOINTS: tuple[type[Endpoint], ...] = (LiteLLMEndpoint,)


@hookimpl
def register_endpoints(register: Callable[[type[Endpoint]], None]) -> None:
    """Make "litellm" available to runs, saved results and the command line."""
    for endpoint in ENDPOINTS:
        register(endpoint)
