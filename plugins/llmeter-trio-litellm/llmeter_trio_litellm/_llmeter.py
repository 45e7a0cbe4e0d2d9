"""LLMeter's names for the LiteLLM endpoint, with LLMeter's constructor arguments.

``LiteLLM("bedrock/...")`` and ``LiteLLMStreaming("openai/gpt-4o-mini",
model_id="gpt-4o-mini")`` work as in LLMeter (``litellm_model``, then
``model_id``); any `LiteLLMEndpoint` option may be added by name. They are
`LiteLLMEndpoint`s that force streaming off (`LiteLLM`) or on
(`LiteLLMStreaming`): a run saves them as endpoint type ``litellm`` with
``stream`` false or true, and reloads them as `LiteLLMEndpoint` with the same
options.
"""

from __future__ import annotations

from typing import Any

from ._endpoint import LiteLLMEndpoint

__all__ = ["LiteLLM", "LiteLLMStreaming"]


class LiteLLM(LiteLLMEndpoint):
    """LLMeter's `LiteLLM`: whole (non-streamed) answers through the LiteLLM SDK."""

    __slots__ = ()
    _forced_stream = False

    def __init__(
        self, litellm_model: str | None = None, model_id: str | None = None, **options: Any
    ) -> None:
        if litellm_model is not None:
            options["model"] = litellm_model
        if model_id is not None:
            options["model_id"] = model_id
        stream = options.setdefault("stream", self._forced_stream)
        if stream is not self._forced_stream:
            raise ValueError(f"{type(self).__name__} always sends stream={self._forced_stream}")
        super().__init__(**options)


class LiteLLMStreaming(LiteLLM):
    """LLMeter's `LiteLLMStreaming`: streamed answers, usage asked for, through LiteLLM."""

    __slots__ = ()
    _forced_stream = True
