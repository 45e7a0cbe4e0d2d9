"""The Bedrock runtime's endpoints: ``bedrock-converse`` and ``bedrock-invoke``.

- `BedrockConverseEndpoint`: Converse, or ConverseStream (``stream=True``, the
  default). One body for every model; the answer's usage gives the token counts.
- `BedrockInvokeEndpoint`: InvokeModel, or InvokeModelWithResponseStream. The
  body is the model family's own; a `family` preset (chosen from the model id
  unless given) or your own JMESPath-style paths find the text, token counts
  and stop reason in the answer.

Bedrock's bodies have no ``stream`` flag: the `stream` option chooses the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from llmeter_trio.endpoints import InvocationResponse, StreamReader, StreamRecorder

from ._converse import ConverseStreamState, parse_converse_body
from ._endpoint import AwsEndpoint, required_text
from ._formats import FORMATS, format_for_model, model_format
from ._invoke import InvokeStreamState
from ._model_json import ModelJsonEndpoint, ModelJsonReading, check_family
from ._payloads import blobs_as_base64, converse_next_turn, converse_payload, invoke_payload
from ._prompt import prompt_text
from ._urls import bedrock_path, bedrock_runtime_url

__all__ = ["BedrockConverseEndpoint", "BedrockEndpoint", "BedrockInvokeEndpoint"]


@attrs.define(kw_only=True)
class BedrockEndpoint(AwsEndpoint):
    """What the Bedrock endpoints share: `model_id`, `stream`, the ``bedrock`` signature."""

    model_id: str = attrs.field(
        default="",
        validator=required_text(
            "the Bedrock model id, inference profile or ARN "
            "(--model, e.g. anthropic.claude-3-haiku-20240307-v1:0)"
        ),
    )
    endpoint_name: str = "amazon bedrock"
    provider: str = "bedrock"
    stream: bool = True
    _paths: dict[bool, str] = attrs.field(factory=dict, init=False, repr=False, eq=False)

    service = "bedrock"
    operations = ("", "")  # (whole, streamed) operation names

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        whole, streamed = self.operations
        self._paths = {
            False: bedrock_path(self.model_id, whole),
            True: bedrock_path(self.model_id, streamed),
        }

    @staticmethod
    def regional_url(region: str) -> str:
        return bedrock_runtime_url(region)

    def is_streaming(self, payload: Mapping[str, Any]) -> bool:
        return self.stream

    def request_path(self, payload: Mapping[str, Any]) -> str:
        return self._paths[self.stream]


@attrs.define(kw_only=True)
class BedrockConverseEndpoint(BedrockEndpoint):
    """Bedrock's Converse API: ConverseStream (``stream=True``, the default) or Converse.

    `inference_config` is the ``inferenceConfig`` (``maxTokens``,
    ``temperature``, ...) of payloads that have none. The model comes from
    `model_id` (a ``modelId`` in a payload is left out of the body).
    Reasoning deltas are recorded as reasoning, tool-use deltas as tool calls;
    the token counts are the answer's usage.
    """

    endpoint_type = "bedrock-converse"
    operations = ("converse", "converse-stream")
    inference_config: dict[str, Any] | None = None

    def prepare_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The body: without ``modelId`` (the path names the model), with `inference_config`,
        and raw bytes (as LLMeter's payloads hold them) in base64, as JSON carries them."""
        if "stream" in payload:
            raise ValueError(
                "a Converse payload has no 'stream' key: the endpoint's stream option chooses "
                "ConverseStream (stream=True, the default) or Converse"
            )
        prepared = {key: value for key, value in payload.items() if key != "modelId"}
        if self.inference_config is not None and prepared.get("inferenceConfig") is None:
            prepared["inferenceConfig"] = dict(self.inference_config)
        encoded: dict[str, Any] = blobs_as_base64(prepared)
        return encoded

    def is_prepared(self, payload: Mapping[str, Any]) -> bool:
        if "modelId" in payload or "stream" in payload or blobs_as_base64(payload) is not payload:
            return False
        return self.inference_config is None or payload.get("inferenceConfig") is not None

    def stream_reader(self, recorder: StreamRecorder) -> StreamReader:
        return ConverseStreamState(recorder, max_response_chars=self.max_response_chars)

    def read_body(self, body: bytes) -> InvocationResponse:
        return parse_converse_body(body).response()

    @staticmethod
    def prompt_text(payload: Mapping[str, Any]) -> str | None:
        return prompt_text(payload)

    create_payload = staticmethod(converse_payload)  # text, system prompt, images, documents

    @classmethod
    def continue_conversation(
        cls, payload: dict[str, Any], answer: str, user_message: str
    ) -> dict[str, Any]:
        """``messages`` with the ``assistant`` answer and the next ``user`` message appended,
        each as one text content block."""
        return converse_next_turn(payload, answer, user_message)


@attrs.define(kw_only=True)
class BedrockInvokeEndpoint(ModelJsonEndpoint, BedrockEndpoint):
    """Bedrock's InvokeModel API: InvokeModelWithResponseStream (``stream=True``) or InvokeModel.

    - `family`: the model's body format, a `FORMATS` preset (``anthropic``,
      ``meta``, ``titan``, ``nova``, ``mistral``, ``cohere``, ``openai``);
      by default the one `format_for_model` finds for `model_id`, else
      ``openai`` (as LLMeter). The family used is saved with the run.
    - `text_path`, `input_tokens_path`, `output_tokens_path`,
      `stop_reason_path`: JMESPath-style paths (LLMeter's ``*_jmespath``)
      replacing the preset's, in streamed chunks and whole answers alike.
      Bedrock's ``amazon-bedrock-invocationMetrics`` give the token counts
      whenever a stream carries them.
    - `prompt_path`: where the prompt's text is in the payload, for counting
      its tokens locally (LLMeter's ``input_text_jmespath``; by default every
      usual body shape is read).
    """

    endpoint_type = "bedrock-invoke"
    operations = ("invoke", "invoke-with-response-stream")
    family: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(check_family)
    )
    text_path: str | None = None
    input_tokens_path: str | None = None
    output_tokens_path: str | None = None
    stop_reason_path: str | None = None
    prompt_path: str | None = None
    _reading: ModelJsonReading = attrs.field(init=False, repr=False, eq=False)

    stream_state = InvokeStreamState
    default_family = "openai"  # of `create_payload` called on the class, as LLMeter's

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        preset = model_format(self.family) if self.family else format_for_model(self.model_id)
        preset = preset or FORMATS["openai"]
        self.family = preset.name
        self._reading = self.reading(preset)

    family_payload = staticmethod(invoke_payload)
