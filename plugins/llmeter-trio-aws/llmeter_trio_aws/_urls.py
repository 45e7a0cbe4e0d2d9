"""Where Bedrock's and SageMaker's runtime APIs live, and each operation's path.

Paths quote the model id or endpoint name as boto3 does (``:`` as ``%3A``,
``/`` of an ARN as ``%2F``), so the signature covers the same path AWS checks.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = [
    "BEDROCK_OPERATIONS",
    "bedrock_path",
    "bedrock_runtime_url",
    "sagemaker_path",
    "sagemaker_runtime_url",
]

# operation -> path suffix after /model/{modelId}/
BEDROCK_OPERATIONS = {
    "converse": "converse",
    "converse-stream": "converse-stream",
    "invoke": "invoke",
    "invoke-with-response-stream": "invoke-with-response-stream",
}


def bedrock_runtime_url(region: str) -> str:
    """The Bedrock runtime's origin in `region`."""
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def sagemaker_runtime_url(region: str) -> str:
    """The SageMaker runtime's origin in `region`."""
    return f"https://runtime.sagemaker.{region}.amazonaws.com"


def bedrock_path(model_id: str, operation: str) -> str:
    """``/model/{model_id}/{operation}``: ``bedrock_path("anthropic.claude-v2:1", "invoke")``
    is ``/model/anthropic.claude-v2%3A1/invoke``."""
    try:
        suffix = BEDROCK_OPERATIONS[operation]
    except KeyError:
        known = ", ".join(BEDROCK_OPERATIONS)
        raise ValueError(f"unknown Bedrock operation {operation!r}; use one of {known}") from None
    return f"/model/{quote(model_id, safe='')}/{suffix}"


def sagemaker_path(endpoint_name: str, *, stream: bool) -> str:
    """``/endpoints/{endpoint_name}/invocations`` (or ``invocations-response-stream``)."""
    operation = "invocations-response-stream" if stream else "invocations"
    return f"/endpoints/{quote(endpoint_name, safe='')}/{operation}"
