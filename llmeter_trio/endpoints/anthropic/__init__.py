"""Anthropic's Messages API (``POST /v1/messages``): the endpoint, reading answers, payloads.

- `AnthropicMessagesEndpoint` (``anthropic-messages``, built in) sends
  requests, streamed or whole, on the HTTP base every provider shares.
- `MessagesStreamState` reads a streamed answer event by event (text as
  content, thinking as reasoning, tool input as tool; usage from
  ``message_start`` and ``message_delta``; ``error`` events classified);
  `parse_message_body` reads a whole one.
- `classify_anthropic_error` sorts an HTTP error answer (429 throttled, 529
  overloaded and other 5xx server, other 4xx client), `classify_error_type`
  an error's ``type``.
- `create_messages_payload` builds a payload with a system prompt, images
  (`image_block`) and documents (`document_block`); `prompt_text` is the
  text of a payload's prompt, for counting its tokens locally.
"""

from ._content import create_messages_payload as create_messages_payload
from ._content import document_block as document_block
from ._content import image_block as image_block
from ._content import prompt_text as prompt_text
from ._endpoint import DEFAULT_ANTHROPIC_VERSION as DEFAULT_ANTHROPIC_VERSION
from ._endpoint import AnthropicMessagesEndpoint as AnthropicMessagesEndpoint
from ._parsing import MessagesStreamState as MessagesStreamState
from ._parsing import apply_message_usage as apply_message_usage
from ._parsing import classify_anthropic_error as classify_anthropic_error
from ._parsing import classify_error_type as classify_error_type
from ._parsing import describe_anthropic_error as describe_anthropic_error
from ._parsing import parse_message_body as parse_message_body

__all__ = [
    "AnthropicMessagesEndpoint",
    "DEFAULT_ANTHROPIC_VERSION",
    "MessagesStreamState",
    "apply_message_usage",
    "classify_anthropic_error",
    "classify_error_type",
    "create_messages_payload",
    "describe_anthropic_error",
    "document_block",
    "image_block",
    "parse_message_body",
    "prompt_text",
]
