"""`ModelJsonEndpoint`: what the endpoints whose answers are the model's own JSON share.

Bedrock's InvokeModel and SageMaker's InvokeEndpoint pass on whatever the
model (or its container) writes. Such an endpoint has a `family` (a `FORMATS`
preset) and the options `text_path`, `input_tokens_path`,
`output_tokens_path`, `stop_reason_path` (each replacing the preset's) and
`prompt_path`. Once made, it keeps the `reading` of its preset: the paths
are compiled then, before any request, and its answers, streamed or whole,
are read with them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from llmeter_trio.endpoints import InvocationResponse, StreamReader, StreamRecorder

from ._formats import ModelFormat, model_format, with_paths
from ._paths import JsonPath
from ._payload_method import family_of, payload_method
from ._prompt import prompt_text
from ._reader import PathReader, PathStreamState, parse_model_body

__all__ = ["ModelJsonEndpoint", "ModelJsonReading", "check_family"]


def check_family(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A validator: `value` names a `FORMATS` preset (the error names them all)."""
    model_format(value)


@attrs.frozen
class ModelJsonReading:
    """The paths an endpoint reads its answers with, compiled once."""

    format: ModelFormat  # the family's preset, with the endpoint's own paths
    stream: PathReader
    body: PathReader
    prompt_path: JsonPath | None


class ModelJsonEndpoint:
    """Mixed into an `AwsEndpoint` (before it) that declares the options above.

    The endpoint says which stream state reads its chunks (`stream_state`),
    which family `create_payload` uses when called on the class
    (`default_family`), and how a body of a family is made (`family_payload`).
    """

    __slots__ = ()

    stream_state: ClassVar[type[PathStreamState]]
    default_family: ClassVar[str]
    # family_payload(family, user_message, max_tokens, **kwargs): a body of that family.
    family_payload: ClassVar[Callable[..., dict[str, Any]]]
    # The endpoint's options and what it reads with (attrs fields of the endpoint).
    text_path: str | None
    input_tokens_path: str | None
    output_tokens_path: str | None
    stop_reason_path: str | None
    prompt_path: str | None
    max_response_chars: int | None
    _reading: ModelJsonReading

    def reading(self, preset: ModelFormat) -> ModelJsonReading:
        """The paths of `preset`, with the endpoint's own in place of its, compiled."""
        answers = with_paths(
            preset,
            text=self.text_path,
            input_tokens=self.input_tokens_path,
            output_tokens=self.output_tokens_path,
            stop_reason=self.stop_reason_path,
        )
        return ModelJsonReading(
            format=answers,
            stream=PathReader(answers.stream),
            body=PathReader(answers.body),
            prompt_path=JsonPath(self.prompt_path) if self.prompt_path else None,
        )

    @property
    def model_format(self) -> ModelFormat:
        """The paths the answers are read with: the family's preset and your own paths."""
        return self._reading.format

    def stream_reader(self, recorder: StreamRecorder) -> StreamReader:
        return self.stream_state(
            recorder, self._reading.stream, max_response_chars=self.max_response_chars
        )

    def read_body(self, body: bytes) -> InvocationResponse:
        return parse_model_body(body, self._reading.body).response()

    def prompt_text(self, payload: Mapping[str, Any]) -> str | None:
        return prompt_text(payload, self._reading.prompt_path)

    # (a classmethod that also serves endpoints: see _payload_method)
    @payload_method
    def create_payload(
        self_or_class: Any,
        user_message: str | Sequence[str],
        max_tokens: int | None = 256,
        *,
        family: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A body in the model family's format (see `family_payload`).

        Called on an endpoint, its own `family`; on the class, `family`
        (by default the class's `default_family`). `user_message` may be a
        list of texts (LLMeter's form): a user message each, in families whose
        bodies hold messages (a ValueError in the others).
        """
        chosen = family_of(self_or_class, family) or self_or_class.default_family
        make = self_or_class.family_payload
        if isinstance(user_message, str):
            payload: dict[str, Any] = make(chosen, user_message, max_tokens, **kwargs)
            return payload
        return _one_message_each(make, chosen, user_message, max_tokens, **kwargs)


def _one_message_each(
    make: Callable[..., dict[str, Any]],
    family: str,
    texts: Sequence[str],
    max_tokens: int | None,
    **kwargs: Any,
) -> dict[str, Any]:
    """A `family` body with a user message for each of `texts` (the first body's, with the
    last message of each text's own body in place of its last)."""
    if not isinstance(texts, Sequence) or not all(isinstance(text, str) for text in texts):
        raise TypeError("user_message must be a str or a list of str")
    if not texts:
        raise ValueError("user_message must not be empty")
    bodies = [make(family, text, max_tokens, **kwargs) for text in texts]
    payload = bodies[0]
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"the {family} body takes one prompt, not a list of messages: give a str")
    payload["messages"] = messages[:-1] + [body["messages"][-1] for body in bodies]
    return payload
