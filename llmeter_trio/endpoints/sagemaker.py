"""LLMeter's `llmeter.endpoints.sagemaker` path: `SageMakerEndpoint` and `SageMakerStreamEndpoint`.

The classes come from the llmeter-trio-aws plugin distribution.
"""

from __future__ import annotations

from ._provider_module import import_provider

_aws = import_provider("llmeter_trio_aws", "llmeter-trio-aws", "Bedrock and SageMaker endpoints")
SageMakerEndpoint = _aws.SageMakerEndpoint
SageMakerStreamEndpoint = _aws.SageMakerStreamEndpoint

__all__ = ["SageMakerEndpoint", "SageMakerStreamEndpoint"]
