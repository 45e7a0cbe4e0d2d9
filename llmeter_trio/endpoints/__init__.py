"""Endpoint contract, response records, stream timing, the HTTP base, and the built-in adapters."""

from ._base import Endpoint as Endpoint
from ._base import headers_field as headers_field
from ._base import query_field as query_field
from ._base import scrub_secrets as scrub_secrets
from ._base import secret_field as secret_field
from ._base import url_field as url_field
from ._errors import EndpointError as EndpointError
from ._errors import classify_exception as classify_exception
from ._errors import classify_status as classify_status
from ._fake import FakeEndpoint as FakeEndpoint
from ._http import HttpEndpoint as HttpEndpoint
from ._http import StreamReader as StreamReader
from ._llmeter_names import AnthropicMessages as AnthropicMessages
from ._llmeter_names import AnthropicMessagesStream as AnthropicMessagesStream
from ._llmeter_names import OpenAICompletionEndpoint as OpenAICompletionEndpoint
from ._llmeter_names import OpenAICompletionStreamEndpoint as OpenAICompletionStreamEndpoint
from ._llmeter_names import OpenAIResponseEndpoint as OpenAIResponseEndpoint
from ._llmeter_names import OpenAIResponseStreamEndpoint as OpenAIResponseStreamEndpoint
from ._response import Attempt as Attempt
from ._response import Chunk as Chunk
from ._response import ChunkKind as ChunkKind
from ._response import ErrorClass as ErrorClass
from ._response import InvocationResponse as InvocationResponse
from ._response import TokenCountSource as TokenCountSource
from ._sse import ServerSentEvent as ServerSentEvent
from ._sse import SSEDecoder as SSEDecoder
from ._sse import SSEReader as SSEReader
from ._timing import StreamRecorder as StreamRecorder
from .anthropic import AnthropicMessagesEndpoint as AnthropicMessagesEndpoint
from .openai import OpenAIChatEndpoint as OpenAIChatEndpoint
from .openai import OpenAICompletionsEndpoint as OpenAICompletionsEndpoint
from .openai import OpenAIResponsesEndpoint as OpenAIResponsesEndpoint

__all__ = [
    "AnthropicMessages",
    "AnthropicMessagesEndpoint",
    "AnthropicMessagesStream",
    "Attempt",
    "Chunk",
    "ChunkKind",
    "Endpoint",
    "EndpointError",
    "ErrorClass",
    "FakeEndpoint",
    "HttpEndpoint",
    "InvocationResponse",
    "OpenAIChatEndpoint",
    "OpenAICompletionEndpoint",
    "OpenAICompletionStreamEndpoint",
    "OpenAICompletionsEndpoint",
    "OpenAIResponseEndpoint",
    "OpenAIResponseStreamEndpoint",
    "OpenAIResponsesEndpoint",
    "SSEDecoder",
    "SSEReader",
    "ServerSentEvent",
    "StreamReader",
    "StreamRecorder",
    "TokenCountSource",
    "classify_exception",
    "classify_status",
    "headers_field",
    "query_field",
    "scrub_secrets",
    "secret_field",
    "url_field",
]

# LLMeter's provider classes, served by plugin distributions and imported on first use.
_PROVIDER_MODULES = {
    "BedrockConverse": "bedrock",
    "BedrockConverseStream": "bedrock",
    "BedrockInvoke": "bedrock_invoke",
    "BedrockInvokeStream": "bedrock_invoke",
    "SageMakerEndpoint": "sagemaker",
    "SageMakerStreamEndpoint": "sagemaker",
    "LiteLLM": "litellm",
    "LiteLLMStreaming": "litellm",
}


def __getattr__(name: str) -> object:
    if name in _PROVIDER_MODULES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_PROVIDER_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
