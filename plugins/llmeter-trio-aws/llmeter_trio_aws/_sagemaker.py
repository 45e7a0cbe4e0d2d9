"""SageMaker's InvokeEndpoint and InvokeEndpointWithResponseStream answers.

SageMaker passes the container's bytes through. Streamed, they travel in
``PayloadPart`` events, cut wherever the container flushed: a TGI container
writes server-sent events (``data:{"token": {...}}``), an LMI or vLLM
container in OpenAI mode writes Chat Completions chunks (``data: {...}``,
then ``data: [DONE]``), LMI's jsonlines output writes one JSON object per
line. `JsonLines` reassembles the lines across parts; each JSON object is
read with the container's `ModelFormat` (``tgi`` or ``openai``, or your own
paths). Mid-stream, SageMaker reports a failure as a ``ModelStreamError`` or
``InternalStreamFailure`` exception. InvokeEndpoint's whole answer is read by
`parse_model_body` with the format's body paths.
"""

from __future__ import annotations

import orjson

from llmeter_trio.endpoints import InvocationResponse, StreamRecorder

from ._eventstream import StreamEvent
from ._reader import PathReader, PathStreamState

__all__ = ["JsonLines", "SageMakerStreamState"]

DONE = b"[DONE]"
_IGNORED_FIELDS = (b"event:", b"id:", b"retry:", b":")


class JsonLines:
    """Splits bytes, fed as they arrive, into the JSON texts of complete lines.

    A line is ``data: <json>`` (server-sent events; the space is optional) or
    a bare JSON text (JSON lines). Blank lines, comments and the other SSE
    fields are skipped. ``[DONE]`` comes through as it is.
    """

    __slots__ = ("_partial",)

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, data: bytes) -> list[bytes]:
        """The JSON texts of the lines `data` completes."""
        if self._partial:
            data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        out = []
        for line in lines:
            line = line.strip()
            if not line:
                continue
            if line.startswith(b"data:"):
                line = line[5:].lstrip()
            elif line.startswith(_IGNORED_FIELDS):
                continue
            if line:
                out.append(line)
        return out

    @property
    def pending(self) -> bool:
        """Whether an unfinished line is waiting."""
        return bool(self._partial.strip())


class SageMakerStreamState(PathStreamState):
    """Reads InvokeEndpointWithResponseStream's ``PayloadPart`` events with the container's
    paths (``PathReader(FORMATS["tgi"].stream)``, say)."""

    __slots__ = ("_lines",)
    end_marker = "stop reason or [DONE]"

    def __init__(
        self, recorder: StreamRecorder, reader: PathReader, *, max_response_chars: int | None = None
    ) -> None:
        super().__init__(recorder, reader, max_response_chars=max_response_chars)
        self._lines = JsonLines()

    def on_event(self, event: StreamEvent) -> None:
        if event.event_type != "PayloadPart":
            return
        read_chunk = self._reader.read_chunk
        for text in self._lines.feed(event.payload):
            if text == DONE:
                self.finished = True
                continue
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError:
                self.invalid_event(event, f"holds a line that is not JSON ({text[:200]!r})")
                return
            read_chunk(self, obj)
            if self.error_class is not None:
                return

    def close(self) -> InvocationResponse:
        if self.error_class is None and self._lines.pending:
            # The last line may lack its newline: read it before judging the answer.
            self.on_event(StreamEvent("event", "PayloadPart", None, b"\n"))
        return super().close()
