"""LiteLLM for llmeter-trio: any provider LiteLLM reaches, timed chunk by chunk.

- `LiteLLMEndpoint` (endpoint type ``litellm``): ``litellm.completion`` in a
  worker thread per request in flight, streamed or not as the payload says,
  each chunk stamped on the run's clock as it comes out of the SDK.
- `LiteLLM`, `LiteLLMStreaming`: LLMeter's names and constructor arguments.
"""

from ._endpoint import LiteLLMEndpoint as LiteLLMEndpoint
from ._llmeter import LiteLLM as LiteLLM
from ._llmeter import LiteLLMStreaming as LiteLLMStreaming

__all__ = ["LiteLLM", "LiteLLMEndpoint", "LiteLLMStreaming"]
