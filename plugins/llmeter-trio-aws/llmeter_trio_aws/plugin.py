"""The entry point llmeter-trio loads (``[project.entry-points.llmeter_trio] aws``).

The Bedrock and SageMaker endpoint classes are built on the protocol layer of
this package (signing, event streams, model formats); until they land, this
plugin registers no endpoint.
"""

from __future__ import annotations

from collections.abc import Callable

from llmeter_trio import Endpoint, hookimpl

__all__ = ["ENDPOINTS", "register_endpoints"]

# The endpoint classes this plugin provides (none yet).
ENDPOINTS: tuple[type[Endpoint], ...] = ()


@hookimpl
def register_endpoints(register: Callable[[type[Endpoint]], None]) -> None:
    """Register the AWS endpoints with llmeter-trio."""
    for endpoint in ENDPOINTS:
        register(endpoint)
