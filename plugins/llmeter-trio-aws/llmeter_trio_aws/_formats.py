"""Where each model family keeps its output: JMESPath-style paths, and presets.

Bedrock's InvokeModel and SageMaker's endpoints answer in the model's (or
the container's) own JSON. A `ModelFormat` says where to find the text, the
token counts and the stop reason, once for a streamed chunk (`stream`) and
once for a whole answer (`body`), as `ResponsePaths`. Presets cover the
common families; `format_for_model` picks one from a Bedrock model id::

    >>> format_for_model("us.anthropic.claude-3-5-haiku-20241022-v1:0").name
    'anthropic'
    >>> FORMATS["tgi"].stream.text
    'token.text'

For anything else, make your own (or `attrs.evolve` a preset), with paths as
LLMeter's ``*_jmespath`` arguments take them.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = [
    "FORMATS",
    "ModelFormat",
    "ResponsePaths",
    "format_for_model",
    "model_format",
    "with_paths",
]


@attrs.frozen(kw_only=True)
class ResponsePaths:
    """Paths into one JSON object (a streamed chunk, or a whole answer); None: not there.

    - `text`: visible output; `reasoning`: reasoning output (not part of the
      response text); `tool`: tool-call arguments (a string, or JSON counted
      by its length).
    - `input_tokens`, `output_tokens` (reasoning included),
      `cached_input_tokens` (cache reads), `cache_write_input_tokens`,
      `reasoning_tokens`: usage, where the model reports it (Bedrock's
      ``amazon-bedrock-invocationMetrics`` is read too, whatever the format).
      With `input_excludes_cache`, `input_tokens` leave out the cache reads and
      writes (Anthropic's and Bedrock's way), which the record's input adds back.
      With `running_output_tokens`, a chunk's `output_tokens` is the total so
      far, so each chunk's share is known.
    - `tokens_per_chunk`: each chunk with text is this many tokens (TGI: 1).
    - `stop_reason`: the model's stop reason; seeing one marks the answer complete.
    - `id`: the answer's id; `error`: an error object the model sends instead
      of output.
    """

    text: str | None = None
    reasoning: str | None = None
    tool: str | None = None
    input_tokens: str | None = None
    output_tokens: str | None = None
    cached_input_tokens: str | None = None
    cache_write_input_tokens: str | None = None
    input_excludes_cache: bool = False
    reasoning_tokens: str | None = None
    running_output_tokens: bool = False
    tokens_per_chunk: int | None = None
    stop_reason: str | None = None
    id: str | None = None
    error: str | None = None


@attrs.frozen(kw_only=True)
class ModelFormat:
    """A model family's JSON: its paths in streamed chunks and in whole answers."""

    name: str
    stream: ResponsePaths
    body: ResponsePaths


_ANTHROPIC = ModelFormat(
    name="anthropic",  # the Messages API on Bedrock (anthropic.claude-*)
    stream=ResponsePaths(
        text="delta.text",
        reasoning="delta.thinking",
        tool="delta.partial_json",
        input_tokens="message.usage.input_tokens",
        cached_input_tokens="message.usage.cache_read_input_tokens",
        cache_write_input_tokens="message.usage.cache_creation_input_tokens",
        input_excludes_cache=True,
        output_tokens="usage.output_tokens",
        stop_reason="delta.stop_reason",
        id="message.id",
        error="error",
    ),
    body=ResponsePaths(
        text="content[?type=='text'].text",
        input_tokens="usage.input_tokens",
        cached_input_tokens="usage.cache_read_input_tokens",
        cache_write_input_tokens="usage.cache_creation_input_tokens",
        input_excludes_cache=True,
        output_tokens="usage.output_tokens",
        stop_reason="stop_reason",
        id="id",
    ),
)
_META = ModelFormat(
    name="meta",  # Llama's text generation (meta.llama*)
    stream=ResponsePaths(
        text="generation",
        input_tokens="prompt_token_count",
        output_tokens="generation_token_count",
        running_output_tokens=True,
        stop_reason="stop_reason",
    ),
    body=ResponsePaths(
        text="generation",
        input_tokens="prompt_token_count",
        output_tokens="generation_token_count",
        stop_reason="stop_reason",
    ),
)
_TITAN = ModelFormat(
    name="titan",  # Amazon Titan Text (amazon.titan-text-*)
    stream=ResponsePaths(
        text="outputText",
        input_tokens="inputTextTokenCount",
        output_tokens="totalOutputTextTokenCount",
        stop_reason="completionReason",
    ),
    body=ResponsePaths(
        text="results[0].outputText",
        input_tokens="inputTextTokenCount",
        output_tokens="results[0].tokenCount",
        stop_reason="results[0].completionReason",
    ),
)
_NOVA = ModelFormat(
    name="nova",  # Amazon Nova's messages-v1 (amazon.nova-*)
    stream=ResponsePaths(
        text="contentBlockDelta.delta.text",
        reasoning="contentBlockDelta.delta.reasoningContent.text",
        tool="contentBlockDelta.delta.toolUse.input",
        input_tokens="metadata.usage.inputTokens",
        output_tokens="metadata.usage.outputTokens",
        cached_input_tokens="metadata.usage.cacheReadInputTokenCount",
        cache_write_input_tokens="metadata.usage.cacheWriteInputTokenCount",
        input_excludes_cache=True,
        stop_reason="messageStop.stopReason",
    ),
    body=ResponsePaths(
        text="output.message.content[].text",
        input_tokens="usage.inputTokens",
        output_tokens="usage.outputTokens",
        cached_input_tokens="usage.cacheReadInputTokenCount",
        cache_write_input_tokens="usage.cacheWriteInputTokenCount",
        input_excludes_cache=True,
        stop_reason="stopReason",
    ),
)
_MISTRAL = ModelFormat(
    name="mistral",  # Mistral's text completion (mistral.*)
    stream=ResponsePaths(text="outputs[0].text", stop_reason="outputs[0].stop_reason"),
    body=ResponsePaths(text="outputs[0].text", stop_reason="outputs[0].stop_reason"),
)
_COHERE = ModelFormat(
    name="cohere",  # Cohere Command R (cohere.command-r*)
    stream=ResponsePaths(
        text="text",
        input_tokens="response.meta.billed_units.input_tokens",
        output_tokens="response.meta.billed_units.output_tokens",
        stop_reason="finish_reason",
        id="generation_id",
    ),
    body=ResponsePaths(
        text="text",
        input_tokens="meta.billed_units.input_tokens",
        output_tokens="meta.billed_units.output_tokens",
        stop_reason="finish_reason",
        id="generation_id",
    ),
)
_OPENAI = ModelFormat(
    # Chat Completions (openai.gpt-oss-*; LMI and vLLM containers; LLMeter's default)
    name="openai",
    stream=ResponsePaths(
        text="choices[0].delta.content",
        reasoning="choices[0].delta.reasoning_content || choices[0].delta.reasoning",
        tool="choices[0].delta.tool_calls",
        input_tokens="usage.prompt_tokens",
        output_tokens="usage.completion_tokens",
        cached_input_tokens="usage.prompt_tokens_details.cached_tokens",
        reasoning_tokens="usage.completion_tokens_details.reasoning_tokens",
        stop_reason="choices[0].finish_reason",
        id="id",
        error="error",
    ),
    body=ResponsePaths(
        text="choices[0].message.content",
        input_tokens="usage.prompt_tokens",
        output_tokens="usage.completion_tokens",
        cached_input_tokens="usage.prompt_tokens_details.cached_tokens",
        reasoning_tokens="usage.completion_tokens_details.reasoning_tokens",
        stop_reason="choices[0].finish_reason",
        id="id",
        error="error",
    ),
)
_TGI = ModelFormat(
    name="tgi",  # Text Generation Inference, and LMI's TGI-style output (SageMaker)
    stream=ResponsePaths(
        text="token.text",
        tokens_per_chunk=1,
        input_tokens="details.input_length",
        output_tokens="details.generated_tokens",
        stop_reason="details.finish_reason",
        error="error",
    ),
    body=ResponsePaths(
        text="[0].generated_text || generated_text",
        input_tokens="[0].details.input_length || details.input_length",
        output_tokens="[0].details.generated_tokens || details.generated_tokens",
        stop_reason="[0].details.finish_reason || details.finish_reason",
        error="error",
    ),
)

FORMATS: dict[str, ModelFormat] = {
    f.name: f for f in (_ANTHROPIC, _META, _TITAN, _NOVA, _MISTRAL, _COHERE, _OPENAI, _TGI)
}

# Bedrock model id prefixes (after any region prefix such as "us.") and their format.
_MODEL_PREFIXES = (
    ("anthropic.", _ANTHROPIC),
    ("meta.", _META),
    ("amazon.titan-text", _TITAN),
    ("amazon.nova", _NOVA),
    ("mistral.", _MISTRAL),
    ("cohere.command-r", _COHERE),
    ("openai.", _OPENAI),
)


def model_format(name: str) -> ModelFormat:
    """The preset called `name` (``anthropic``, ``meta``, ``tgi``, ...)."""
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"unknown model format {name!r}; the presets are: {known}") from None


def format_for_model(model_id: str) -> ModelFormat | None:
    """The preset for a Bedrock model id, inference profile or ARN; None when no family
    matches (then give the paths yourself, or use the ``openai`` preset as LLMeter does)."""
    name = model_id.rsplit("/", 1)[-1].lower()
    for prefix, found in _MODEL_PREFIXES:
        if name.startswith(prefix) or f".{prefix}" in name:
            return found
    return None


def with_paths(
    model_format: ModelFormat,
    *,
    text: str | None = None,
    input_tokens: str | None = None,
    output_tokens: str | None = None,
    stop_reason: str | None = None,
) -> ModelFormat:
    """`model_format` with the paths given replacing its own, in streamed chunks and whole
    answers alike (as LLMeter's ``*_jmespath`` arguments do for the API they are given to).

        >>> with_paths(FORMATS["tgi"], text="outputs[0]").body.text
        'outputs[0]'
    """
    given = {
        "text": text,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "stop_reason": stop_reason,
    }
    changes: dict[str, Any] = {name: path for name, path in given.items() if path is not None}
    if not changes:
        return model_format
    return attrs.evolve(
        model_format,
        name=f"{model_format.name} (custom paths)",
        stream=attrs.evolve(model_format.stream, **changes),
        body=attrs.evolve(model_format.body, **changes),
    )
