"""Adapters for OpenAI-compatible servers: Chat Completions, Completions, Responses.

Three endpoint types, registered as built-in plugins:

- ``openai-chat``: `OpenAIChatEndpoint` (``/chat/completions``)
- ``openai-completions``: `OpenAICompletionsEndpoint` (``/completions``)
- ``openai-responses``: `OpenAIResponsesEndpoint` (``/responses``)

Each streams by default and records a chunk per piece of output (content,
reasoning, tool call) as it arrives; token counts come from the server's usage
report when it gives one. The content-part helpers build multimodal inputs
(images, audio, documents) in the wire formats, and `SSEDecoder` is the
server-sent events parser the adapters read streams with.
"""

from .._sse import ServerSentEvent as ServerSentEvent
from .._sse import SSEDecoder as SSEDecoder
from ._chat import OpenAIChatEndpoint as OpenAIChatEndpoint
from ._completions import OpenAICompletionsEndpoint as OpenAICompletionsEndpoint
from ._content import data_url as data_url
from ._content import file_part as file_part
from ._content import image_url_part as image_url_part
from ._content import input_audio_part as input_audio_part
from ._content import input_file_part as input_file_part
from ._content import input_image_part as input_image_part
from ._content import input_text_part as input_text_part
from ._endpoint import DEFAULT_BASE_URL as DEFAULT_BASE_URL
from ._endpoint import OpenAIEndpointBase as OpenAIEndpointBase
from ._responses import OpenAIResponsesEndpoint as OpenAIResponsesEndpoint

__all__ = [
    "DEFAULT_BASE_URL",
    "OpenAIChatEndpoint",
    "OpenAICompletionsEndpoint",
    "OpenAIEndpointBase",
    "OpenAIResponsesEndpoint",
    "SSEDecoder",
    "ServerSentEvent",
    "data_url",
    "file_part",
    "image_url_part",
    "input_audio_part",
    "input_file_part",
    "input_image_part",
    "input_text_part",
]

# LLMeter's `llmeter.endpoints.openai` names, loaded on first use (they subclass the classes above).
_LLMETER_NAMES = ("OpenAICompletionEndpoint", "OpenAICompletionStreamEndpoint")


def __getattr__(name: str) -> object:
    if name in _LLMETER_NAMES:
        from .. import _llmeter_names

        return getattr(_llmeter_names, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
