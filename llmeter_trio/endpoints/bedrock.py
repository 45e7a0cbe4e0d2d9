"""LLMeter's `llmeter.endpoints.bedrock` path: `BedrockConverse` and `BedrockConverseStream`.

The classes come from the llmeter-trio-aws plugin distribution.
"""

from __future__ import annotations

from ._provider_module import import_provider

_aws = import_provider("llmeter_trio_aws", "llmeter-trio-aws", "Bedrock and SageMaker endpoints")
BedrockConverse = _aws.BedrockConverse
BedrockConverseStream = _aws.BedrockConverseStream

__all__ = ["BedrockConverse", "BedrockConverseStream"]
