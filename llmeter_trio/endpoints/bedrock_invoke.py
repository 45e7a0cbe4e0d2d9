"""LLMeter's `llmeter.endpoints.bedrock_invoke` path: `BedrockInvoke` and `BedrockInvokeStream`.

The classes come from the llmeter-trio-aws plugin distribution.
"""

from __future__ import annotations

from ._provider_module import import_provider

_aws = import_provider("llmeter_trio_aws", "llmeter-trio-aws", "Bedrock and SageMaker endpoints")
BedrockInvoke = _aws.BedrockInvoke
BedrockInvokeStream = _aws.BedrockInvokeStream

__all__ = ["BedrockInvoke", "BedrockInvokeStream"]
