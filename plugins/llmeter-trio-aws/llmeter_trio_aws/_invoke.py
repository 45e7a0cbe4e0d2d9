"""Bedrock's InvokeModel: the model family's own JSON, whole or in ``chunk`` events.

InvokeModelWithResponseStream sends ``chunk`` events whose payload is
``{"bytes": "<base64>"}``: base64 of one piece of the model's own stream (an
Anthropic Messages event, a Llama generation, ...), read with the family's
`ModelFormat`. The last chunk usually carries ``amazon-bedrock-invocationMetrics``
(Bedrock's token counts and latencies), which the token counts come from when
present. InvokeModel's whole answer is read by `parse_model_body` with the
family's body paths.
"""

from __future__ import annotations

import binascii
from base64 import b64decode

import orjson

from ._eventstream import StreamEvent
from ._reader import PathStreamState

__all__ = ["InvokeStreamState"]


class InvokeStreamState(PathStreamState):
    """Reads InvokeModelWithResponseStream's ``chunk`` events with a model family's paths."""

    __slots__ = ()
    end_marker = "stop reason or invocation metrics"

    def on_event(self, event: StreamEvent) -> None:
        if event.event_type != "chunk":
            return
        try:
            data = b64decode(orjson.loads(event.payload)["bytes"], validate=True)
            obj = orjson.loads(data)
        except (orjson.JSONDecodeError, KeyError, TypeError, binascii.Error):
            self.invalid_event(event, 'is not {"bytes": <base64 of JSON>}')
            return
        self._reader.read_chunk(self, obj)
