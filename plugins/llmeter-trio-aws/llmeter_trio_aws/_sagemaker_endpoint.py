"""The SageMaker runtime's endpoint: ``sagemaker`` (InvokeEndpoint and
InvokeEndpointWithResponseStream).

SageMaker hands the body to the model's container and its answer back. The
container's body format is the endpoint's `family`: ``tgi`` (Text Generation
Inference, and LMI's TGI-style output; the default, as LLMeter's) or
``openai`` (Chat Completions, as LMI and vLLM containers serve them), or your
own JMESPath-style paths. The container streams only when the body asks it
to, so the body's own ``stream`` flag chooses the API, as for the OpenAI
endpoints (the `stream` option, when set, forces it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from llmeter_trio.endpoints._base import check_header_value

from ._endpoint import AwsEndpoint, required_text
from ._formats import model_format
from ._model_json import ModelJsonEndpoint, ModelJsonReading, check_family
from ._payloads import blobs_as_base64, sagemaker_chat_payload, sagemaker_tgi_payload
from ._sagemaker import SageMakerStreamState
from ._urls import sagemaker_path, sagemaker_runtime_url

__all__ = ["SageMakerInvokeEndpoint"]

_COMPONENT = "X-Amzn-SageMaker-Inference-Component"


def _check_component(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_header_value(attribute.name, value)


@attrs.define(kw_only=True)
class SageMakerInvokeEndpoint(ModelJsonEndpoint, AwsEndpoint):
    """A SageMaker real-time endpoint serving an LLM.

    - `endpoint_name`: the SageMaker endpoint's name (required).
    - `stream`: None (the default): each body's ``stream`` flag chooses
      InvokeEndpointWithResponseStream or InvokeEndpoint, and a body without
      one streams (``stream: true`` is added); True or False: every request
      streams, or none does (the body's flag is set to match).
    - `family`: the container's body format, ``tgi`` (default) or ``openai``
      (or any `FORMATS` preset); `text_path`, `input_tokens_path`,
      `output_tokens_path`, `stop_reason_path` replace its paths, and
      `prompt_path` says where the prompt's text is in the payload.
    - `inference_component`: the inference component to invoke, on an
      endpoint that hosts several.
    - `model_id`: the model served, for the record (not sent).
    """

    endpoint_type = "sagemaker"
    service = "sagemaker"
    model_option = "endpoint_name"  # what `llmeter-trio run --model` sets
    endpoint_name: str = attrs.field(
        default="",
        validator=required_text("the name of the SageMaker endpoint (--model at the command line)"),
    )
    provider: str = "sagemaker"
    stream: bool | None = None
    family: str = attrs.field(default="tgi", validator=check_family)
    text_path: str | None = None
    input_tokens_path: str | None = None
    output_tokens_path: str | None = None
    stop_reason_path: str | None = None
    prompt_path: str | None = None
    inference_component: str | None = attrs.field(default=None, validator=_check_component)
    _reading: ModelJsonReading = attrs.field(init=False, repr=False, eq=False)
    _paths: dict[bool, str] = attrs.field(factory=dict, init=False, repr=False, eq=False)

    stream_state = SageMakerStreamState
    default_family = "tgi"  # of `create_payload` called on the class

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._reading = self.reading(model_format(self.family))
        self._paths = {
            streaming: sagemaker_path(self.endpoint_name, stream=streaming)
            for streaming in (False, True)
        }

    @staticmethod
    def regional_url(region: str) -> str:
        return sagemaker_runtime_url(region)

    # -- the request ----------------------------------------------------------------

    def prepare_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The body with its ``stream`` flag as the endpoint streams (a body that says
        nothing and is not streamed is left without one), and, for a streamed Chat
        Completions body, a request for the usage chunk; raw bytes (as LLMeter's payloads
        hold them) in base64, as JSON carries them."""
        prepared = dict(blobs_as_base64(payload))
        if self.stream is None:
            prepared.setdefault("stream", True)
        elif self.stream or "stream" in prepared:
            prepared["stream"] = self.stream
        if prepared.get("stream") and self.family == "openai" and "stream_options" not in prepared:
            prepared["stream_options"] = {"include_usage": True}
        return prepared

    def is_prepared(self, payload: Mapping[str, Any]) -> bool:
        if blobs_as_base64(payload) is not payload:
            return False
        if self.stream is None:
            return "stream" in payload
        return bool(payload.get("stream")) is self.stream

    def is_streaming(self, payload: Mapping[str, Any]) -> bool:
        if self.stream is not None:
            return self.stream
        return bool(payload.get("stream", True))

    def request_path(self, payload: Mapping[str, Any]) -> str:
        return self._paths[self.is_streaming(payload)]

    def request_headers(self, streaming: bool) -> Mapping[str, str]:
        headers = AwsEndpoint.request_headers(self, streaming)
        if self.inference_component is None:
            return headers
        return {**headers, _COMPONENT: self.inference_component}

    # -- the payload ----------------------------------------------------------------

    @staticmethod
    def family_payload(
        family: str, user_message: str, max_tokens: int | None = 256, **kwargs: Any
    ) -> dict[str, Any]:
        """A TGI body (`sagemaker_tgi_payload`; keyword arguments are its ``parameters``),
        or a Chat Completions body for the ``openai`` family (`sagemaker_chat_payload`)."""
        if family == "openai":
            return sagemaker_chat_payload(user_message, max_tokens, **kwargs)
        return sagemaker_tgi_payload(user_message, max_tokens, **kwargs)
