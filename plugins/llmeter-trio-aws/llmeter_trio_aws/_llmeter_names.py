"""LLMeter's Bedrock and SageMaker endpoint classes, by name and constructor arguments.

A migrating user's ``BedrockConverseStream(model_id=..., region=...)`` makes
this plugin's endpoint with the same meaning, so their endpoint code works
unchanged. Each class is the plugin's endpoint with the API fixed (streaming
or not) and LLMeter's arguments mapped onto its options; a run saves it as
that endpoint (``bedrock-converse``, ``bedrock-invoke``, ``sagemaker``), so
it loads back as one. Any option of the plugin's endpoint can be given too,
by keyword (``endpoint_url=...``, ``profile=...``).

Mapped:

- ``bedrock_boto3_client`` / ``boto3_session``: their region, endpoint URL
  and credentials are used (requests still go over httpx, not boto3).
- Without a client, the endpoint URL the AWS SDKs read from the environment is
  used, as LLMeter's boto3 client would: ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``
  (``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``), else ``AWS_ENDPOINT_URL``, unless
  ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` (the shared config file's
  ``services`` sections are not read).
- ``*_jmespath``: each path you change replaces the model family's; a path
  left out (None), or given as LLMeter's default, leaves the family preset's,
  which reads more model families than LLMeter's defaults (Chat Completions
  only) do.
- ``max_attempts``: accepted and without effect on the endpoint, as
  ``max_retries`` is for LLMeter's other classes: retrying is the run's option
  here (``Runner(retry=Retry(max_attempts=N))``), off by default so that each
  throttled request shows in the results; asking for more than one attempt warns.
- ``ttft_visible_tokens_only``: accepted; both the first token of any kind
  and the first visible token are always recorded.
- ``SageMakerStreamEndpoint`` reads TGI's token stream and, like LLMeter's,
  leaves its ``generated_text_jmespath`` and ``token_count_jmespath`` unused.

`create_payload` takes LLMeter's list forms: the Converse and SageMaker classes
a list of text and `~llmeter_trio.prompt_utils.MediaContent` blocks (content
blocks in that order, their bytes in base64 as the HTTP APIs take them, where
LLMeter's hold raw bytes for boto3 to encode), the Invoke classes a list of
texts (a user message each).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmeter_trio.endpoints._llmeter_names import ignore_retries

from ._bedrock import BedrockConverseEndpoint, BedrockInvokeEndpoint
from ._payloads import converse_blocks, converse_payload, sagemaker_tgi_payload
from ._sagemaker_endpoint import SageMakerInvokeEndpoint
from ._urls import bedrock_runtime_url

if TYPE_CHECKING:
    from llmeter_trio.prompt_utils import MediaContent

__all__ = [
    "BedrockConverse",
    "BedrockConverseStream",
    "BedrockInvoke",
    "BedrockInvokeStream",
    "SageMakerEndpoint",
    "SageMakerStreamEndpoint",
]

_INPUT_TEXT = "messages[].content[].text"
_METRICS = '"amazon-bedrock-invocationMetrics"'


def configured_endpoint_url(service: str) -> str | None:
    """The endpoint URL the AWS SDKs take from the environment for `service`
    (``bedrock-runtime``): ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, else ``AWS_ENDPOINT_URL``."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true":
        return None
    own = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")
    return os.environ.get(own) or os.environ.get("AWS_ENDPOINT_URL") or None


def _configured(service: str, region: str | None) -> dict[str, Any]:
    """No client given: the region, and the endpoint URL the environment sets, if any."""
    options: dict[str, Any] = {"region": region}
    endpoint_url = configured_endpoint_url(service)
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    return options


def _from_client(client: Any, region: str | None) -> dict[str, Any]:
    """The options a boto3 ``bedrock-runtime`` client holds: region, endpoint URL, credentials."""
    if client is None:
        return _configured("bedrock-runtime", region)
    region = region or client.meta.region_name
    options: dict[str, Any] = {"region": region}
    endpoint_url = client.meta.endpoint_url
    if endpoint_url and region and endpoint_url.rstrip("/") != bedrock_runtime_url(region):
        options["endpoint_url"] = endpoint_url
    get_credentials = getattr(client, "_get_credentials", None)
    if get_credentials is not None:
        options["credentials"] = get_credentials()
    return options


def _from_session(session: Any, region: str | None) -> dict[str, Any]:
    """The options a boto3 session holds: region, profile, credentials."""
    options = _configured("sagemaker-runtime", region)
    if session is None:
        return options
    options["region"] = region or session.region_name
    options["credentials"] = session.get_credentials()
    if session.profile_name and session.profile_name != "default":
        options["profile"] = session.profile_name
    return options


def _changed_paths(
    given: Mapping[str, str | None], defaults: Mapping[str, str | None]
) -> dict[str, Any]:
    """The paths given that differ from LLMeter's defaults (the others: the family's)."""
    return {
        name: path for name, path in given.items() if path is not None and path != defaults[name]
    }


def content_items(value: Any, name: str) -> list[Any]:
    """LLMeter's message argument `name` as a list of items: a text is one; a list must
    not be empty; anything else is a TypeError."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Sequence) or isinstance(value, bytes | bytearray):
        raise TypeError(
            f"{name} must be a str or a list of str and MediaContent, not {type(value).__name__}"
        )
    if not value:
        raise ValueError(f"{name} must not be empty")
    return list(value)


class BedrockConverse(BedrockConverseEndpoint):
    """LLMeter's ``BedrockConverse``: Bedrock's Converse API, not streamed."""

    def __init__(
        self,
        model_id: str,
        endpoint_name: str | None = None,
        region: str | None = None,
        inference_config: dict[str, Any] | None = None,
        bedrock_boto3_client: Any = None,
        max_attempts: int | None = None,
        ttft_visible_tokens_only: bool = True,
        **options: Any,
    ) -> None:
        ignore_retries(type(self).__name__, "max_attempts", max_attempts)
        settings = {
            "model_id": model_id,
            "endpoint_name": endpoint_name or "amazon bedrock",
            "inference_config": inference_config,
            "stream": self._streaming,
            **_from_client(bedrock_boto3_client, region),
        }
        super().__init__(**{**settings, **options})

    _streaming = False

    @staticmethod
    def create_payload(
        user_message: str | Sequence[str | MediaContent],
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A Converse body, as LLMeter's: one user message, `user_message` its text or, a
        list of strings and `~llmeter_trio.prompt_utils.MediaContent` blocks, its content
        blocks in that order (`converse_blocks`); ``inferenceConfig.maxTokens`` (256 by
        default) added to any ``inferenceConfig`` given. Other arguments as
        `converse_payload`'s (``images=``, ``documents=`` come after the list's blocks)."""
        config = kwargs.pop("inferenceConfig", None) or {}
        items = content_items(user_message, "user_message")
        text = items[0] if len(items) == 1 and isinstance(items[0], str) else ""
        payload = converse_payload(text, None, **kwargs)
        if not text:
            message = payload["messages"][0]
            message["content"] = converse_blocks(items) + message["content"][1:]
        payload["inferenceConfig"] = {**config, "maxTokens": max_tokens or 256}
        return payload


class BedrockConverseStream(BedrockConverse):
    """LLMeter's ``BedrockConverseStream``: Bedrock's ConverseStream API."""

    _streaming = True


_INVOKE_DEFAULTS = {
    "text_path": "choices[0].message.content",
    "output_tokens_path": "usage.completion_tokens",
    "prompt_path": _INPUT_TEXT,
    "input_tokens_path": "usage.prompt_tokens",
}
_INVOKE_STREAM_DEFAULTS = {
    "text_path": "choices[0].delta.content",
    "output_tokens_path": f"{_METRICS}.outputTokenCount",
    "prompt_path": _INPUT_TEXT,
    "input_tokens_path": f"{_METRICS}.inputTokenCount",
}


class BedrockInvoke(BedrockInvokeEndpoint):
    """LLMeter's ``BedrockInvoke``: Bedrock's InvokeModel API, not streamed."""

    _streaming = False
    _defaults = _INVOKE_DEFAULTS

    def __init__(
        self,
        model_id: str,
        endpoint_name: str | None = None,
        region: str | None = None,
        bedrock_boto3_client: Any = None,
        max_attempts: int | None = None,
        generated_text_jmespath: str | None = None,
        generated_token_count_jmespath: str | None = None,
        input_text_jmespath: str | None = None,
        input_token_count_jmespath: str | None = None,
        **options: Any,
    ) -> None:
        ignore_retries(type(self).__name__, "max_attempts", max_attempts)
        paths = {
            "text_path": generated_text_jmespath,
            "output_tokens_path": generated_token_count_jmespath,
            "prompt_path": input_text_jmespath,
            "input_tokens_path": input_token_count_jmespath,
        }
        settings = {
            "model_id": model_id,
            "endpoint_name": endpoint_name or "amazon bedrock",
            "stream": self._streaming,
            **_changed_paths(paths, self._defaults),
            **_from_client(bedrock_boto3_client, region),
        }
        super().__init__(**{**settings, **options})


class BedrockInvokeStream(BedrockInvoke):
    """LLMeter's ``BedrockInvokeStream``: Bedrock's InvokeModelWithResponseStream API."""

    _streaming = True
    _defaults = _INVOKE_STREAM_DEFAULTS


_SAGEMAKER_DEFAULTS = {
    "text_path": "generated_text",
    "prompt_path": "inputs",
    "output_tokens_path": "details.generated_tokens",
}


class SageMakerEndpoint(SageMakerInvokeEndpoint):
    """LLMeter's ``SageMakerEndpoint``: SageMaker's InvokeEndpoint API, TGI bodies."""

    _streaming = False

    def __init__(
        self,
        endpoint_name: str,
        model_id: str,
        generated_text_jmespath: str = _SAGEMAKER_DEFAULTS["text_path"],
        input_text_jmespath: str = _SAGEMAKER_DEFAULTS["prompt_path"],
        token_count_jmespath: str | None = _SAGEMAKER_DEFAULTS["output_tokens_path"],
        region: str | None = None,
        boto3_session: Any = None,
        **kwargs: Any,
    ) -> None:
        paths: dict[str, str | None] = {"prompt_path": input_text_jmespath}
        if not self._streaming:  # (LLMeter's streaming endpoint reads TGI's tokens only)
            paths["text_path"] = generated_text_jmespath
            paths["output_tokens_path"] = token_count_jmespath
        settings = {
            "endpoint_name": endpoint_name,
            "model_id": model_id,
            "stream": self._streaming,
            **_changed_paths(paths, _SAGEMAKER_DEFAULTS),
            **_from_session(boto3_session, region),
        }
        super().__init__(**{**settings, **kwargs})

    @classmethod
    def create_payload(  # type: ignore[override]
        cls,
        input_text: str | Sequence[str | MediaContent],
        max_tokens: int = 256,
        inference_parameters: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """LLMeter's TGI body: ``inputs``, ``parameters`` (``max_new_tokens``, ``details``,
        and `inference_parameters`), and `kwargs` at the top level; the streaming class's
        with ``stream: true`` unless `kwargs` say otherwise.

        `input_text` a list of strings and `~llmeter_trio.prompt_utils.MediaContent`
        blocks makes ``inputs`` LLMeter's list of content blocks, in Converse's shape
        (`converse_blocks`), for containers that take them; a list of one string is that
        text."""
        items = content_items(input_text, "input_text")
        text = items[0] if len(items) == 1 and isinstance(items[0], str) else ""
        payload = sagemaker_tgi_payload(text, max_tokens, **(inference_parameters or {}))
        if not text:
            payload["inputs"] = converse_blocks(items)
        payload.update(kwargs)
        if cls._streaming:
            payload.setdefault("stream", True)
        return payload


class SageMakerStreamEndpoint(SageMakerEndpoint):
    """LLMeter's ``SageMakerStreamEndpoint``: InvokeEndpointWithResponseStream, TGI's stream."""

    _streaming = True
