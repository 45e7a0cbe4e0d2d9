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

from llmeter_trio.endpoints import StreamRecorder

from ._eventstream import StreamEvent
from ._reader import PathReader
from ._stream import EventStreamState

__all__ = ["InvokeStreamState"]


class InvokeStreamState(EventStreamState):
    """Reads InvokeModelWithResponseStream's ``chunk`` events with a model family's paths.

    Make the `PathReader` once (``PathReader(model_format.stream)``), before
    the run, and hand it to each request's state.
    """

    __slots__ = ("_reader",)
    end_marker = "stop reason or invocation metrics"

    def __init__(
        self, recorder: StreamRecorder, reader: PathReader, *, max_response_chars: int | None = None
    ) -> None:
        super().__init__(recorder, max_response_chars=max_response_chars)
        self._reader = reader

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
