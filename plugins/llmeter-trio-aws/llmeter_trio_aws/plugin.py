"""The entry point llmeter-trio loads (``[project.entry-points.llmeter_trio] aws``).

It registers the Bedrock and SageMaker endpoints: ``bedrock-converse``,
``bedrock-invoke`` and ``sagemaker``.
"""

from __future__ import annotations

from collections.abc import Callable

from llmeter_trio import Endpoint, hookimpl

from ._bedrock import BedrockConverseEndpoint, BedrockInvokeEndpoint
from ._sagemaker_endpoint import SageMakerInvokeEndpoint

__all__ = ["ENDPOINTS", "register_endpoints"]

# The endpoint classes this plugin provides.
ENDPOINTS: tuple[type[Endpoint], ...] = (
    BedrockConverseEndpoint,
    BedrockInvokeEndpoint,
    SageMakerInvokeEndpoint,
)


@hookimpl
def register_endpoints(register: Callable[[type[Endpoint]], None]) -> None:
    """Register the AWS endpoints with llmeter-trio."""
    for endpoint in ENDPOINTS:
        register(endpoint)
