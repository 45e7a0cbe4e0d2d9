"""`SyntheticWorkload`: prompts of input and output lengths drawn from distributions.

Every prompt is cut from a source text to exactly its drawn input length
under the run's tokenizer (`llmeter_trio.prompts._exact.cut_to_length`), and
each payload carries what it asked (`input_tokens`, `output_tokens`,
`prefix`) to its record, so the summary can set it beside what was served.
"""

from __future__ import annotations

import inspect
import logging
import os
import random
from collections.abc import Callable
from typing import Any

import attrs

from .._checks import check_number
from ..endpoints import Endpoint
from ..endpoints.openai import OpenAIChatEndpoint, OpenAICompletionsEndpoint
from ..prompts._collection import SAMPLE_TEXT_FILE, read_source_tokens
from ..prompts._exact import Cut, cut_to_length
from ..tokenizers import DummyTokenizer, Tokenizer
from ._distributions import Distribution, distribution_from_config
from ._metadata import with_workload
from ._prefixes import SEPARATOR, SharedPrefixes

__all__ = ["DEFAULT_REQUESTS", "SyntheticPrompt", "SyntheticWorkload"]

logger = logging.getLogger(__name__)

DEFAULT_REQUESTS = 100  # distinct prompts when neither `requests` nor prefixes say how many
_SYSTEM_ARGUMENTS = ("system_prompt", "instructions")  # create_payload's name for it
_EXACT_OUTPUT_ENDPOINTS = (OpenAIChatEndpoint, OpenAICompletionsEndpoint)


@attrs.frozen
class SyntheticPrompt:
    """One request of a synthetic workload, before it is made into a payload.

    `num_tokens` is its input measured as sent under the workload's tokenizer
    (prefix included): `input_length` unless no cut of the source text
    measures that, when it is the closest one.
    """

    prompt: str  # the user message (a document prefix included)
    input_length: int  # asked: prefix and suffix together
    output_length: int
    num_tokens: int
    prefix: int | None = None  # the shared-prefix group
    prefix_text: str | None = None  # its text, however it is placed
    system: str | None = None  # the prefix, when sent as the system prompt


@attrs.define
class SyntheticWorkload:
    """`requests` prompts with input and output lengths drawn from distributions.

    `input_length` and `output_length` take a `Distribution`, a number or the
    short form (``"uniform:100,900"``). Prompts are cut from `source_file`
    (any local path or fsspec URL) to exactly their input length under
    `tokenizer` (default: `DummyTokenizer`, one word a token; give the
    model's own to match the server). With `prefixes`, the input length is
    the prefix and suffix together, measured as sent, and there are
    ``prefixes.count * prefixes.suffixes`` requests. The same `seed` always
    gives the same workload (a random one is chosen, and kept, when none is).

    `payloads(endpoint)` asks for each output length with ``max_tokens``; a
    model may stop sooner. `exact_output` also sends ``ignore_eos`` and
    ``min_tokens``, which vLLM- and SGLang-style OpenAI-compatible servers
    take (OpenAI's own API refuses them), so the output is exactly as long.
    """

    input_length: Distribution = attrs.field(converter=distribution_from_config)
    output_length: Distribution = attrs.field(converter=distribution_from_config)
    requests: int | None = attrs.field(default=None, kw_only=True)
    tokenizer: Tokenizer | None = attrs.field(default=None, kw_only=True)
    source_file: str | os.PathLike[str] = attrs.field(default=SAMPLE_TEXT_FILE, kw_only=True)
    source_file_encoding: str = attrs.field(default="utf-8-sig", kw_only=True)
    seed: int | None = attrs.field(default=None, kw_only=True)
    prefixes: SharedPrefixes | None = attrs.field(default=None, kw_only=True)
    exact_output: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        check_number("requests", self.requests, whole=True)
        if (
            self.prefixes is not None
            and self.requests is not None
            and self.requests != self.prefixes.requests
        ):
            raise ValueError(
                f"{self.requests} requests, but {self.prefixes.count} prefixes with "
                f"{self.prefixes.suffixes} suffixes each make {self.prefixes.requests}: "
                "give one or the other"
            )
        if self.seed is None:
            self.seed = random.randrange(2**32)

    @property
    def request_count(self) -> int:
        """How many distinct prompts the workload holds."""
        if self.prefixes is not None:
            return self.prefixes.requests
        return self.requests if self.requests is not None else DEFAULT_REQUESTS

    def _rng(self, stream: str) -> random.Random:
        """One seeded stream per kind of draw: changing one leaves the others' draws alone."""
        return random.Random(f"{self.seed}:{stream}")

    def lengths(self) -> list[tuple[int, int]]:
        """The (input, output) length of each request, drawn with the workload's seed."""
        inputs, outputs = self._rng("input-length"), self._rng("output-length")
        return [
            (self.input_length.sample_int(inputs), self.output_length.sample_int(outputs))
            for _ in range(self.request_count)
        ]

    def prompts(self) -> list[SyntheticPrompt]:
        """Every request's prompt, in the order they are sent."""
        tokenizer = self.tokenizer if self.tokenizer is not None else DummyTokenizer()
        tokens = read_source_tokens(self.source_file, tokenizer, self.source_file_encoding)
        if not tokens:
            raise ValueError(f"{os.fspath(self.source_file)} holds no text to cut prompts from")
        offsets = self._rng("offsets")
        lengths = self.lengths()
        if self.prefixes is None:
            return [
                _prompt(
                    cut_to_length(tokenizer, tokens, asked, offsets.randrange(len(tokens))),
                    asked,
                    output,
                )
                for asked, output in lengths
            ]
        prefix_texts = self.prefixes.texts(tokenizer, tokens, self._rng("prefix-length"))
        order = self.prefixes.order(self._rng("order"))
        system = self.prefixes.placement == "system"
        built = []
        for (asked, output), group in zip(lengths, order, strict=True):
            prefix = prefix_texts[group]
            measure = _measure_after(tokenizer, prefix.text, system)
            room = asked - measure("")
            if room < 1:
                raise ValueError(
                    f"an input length of {asked} tokens leaves no room for a suffix after "
                    f"prefix {group} ({prefix.num_tokens} tokens): ask for longer inputs "
                    "than prefixes"
                )
            cut = cut_to_length(tokenizer, tokens, asked, offsets.randrange(len(tokens)), measure)
            text = cut.text if system else prefix.text + SEPARATOR + cut.text
            built.append(
                SyntheticPrompt(
                    text,
                    asked,
                    output,
                    cut.num_tokens,
                    group,
                    prefix.text,
                    prefix.text if system else None,
                )
            )
        return built

    def payloads(self, endpoint: Endpoint | type[Endpoint]) -> list[dict[str, Any]]:
        """Every request as a payload in `endpoint`'s format, what it asked under `WORKLOAD_KEY`."""
        cls = endpoint if isinstance(endpoint, type) else type(endpoint)
        if self.exact_output and not issubclass(cls, _EXACT_OUTPUT_ENDPOINTS):
            raise ValueError(
                f"exact output lengths need ignore_eos and min_tokens, which only OpenAI-"
                f"compatible chat and completions servers (vLLM, SGLang) take; {cls.__name__} "
                "has no such fields: leave exact output off (max_tokens still caps the output)"
            )
        system_argument = _system_argument(cls) if self._system_prefixes else None
        payloads = []
        inexact = 0
        for prompt in self.prompts():
            options: dict[str, Any] = {}
            if prompt.system is not None and system_argument is not None:
                options[system_argument] = prompt.system
            payload = endpoint.create_payload(
                prompt.prompt, max_tokens=prompt.output_length, **options
            )
            if self.exact_output:
                payload.update(ignore_eos=True, min_tokens=prompt.output_length)
            inexact += prompt.num_tokens != prompt.input_length
            payloads.append(
                with_workload(
                    payload,
                    input_tokens=prompt.input_length,
                    output_tokens=prompt.output_length,
                    prefix=prompt.prefix,
                    # only when no cut measured exactly: the closest one's length
                    prompt_tokens=(
                        prompt.num_tokens if prompt.num_tokens != prompt.input_length else None
                    ),
                )
            )
        if inexact:
            logger.warning(
                "%d of %d prompts could not be cut to exactly their input length under this "
                "tokenizer; each keeps the closest (prompt_tokens in its workload)",
                inexact,
                len(payloads),
            )
        return payloads

    @property
    def _system_prefixes(self) -> bool:
        return self.prefixes is not None and self.prefixes.placement == "system"


def _prompt(cut: Cut, asked: int, output: int) -> SyntheticPrompt:
    return SyntheticPrompt(cut.text, asked, output, cut.num_tokens)


def _measure_after(tokenizer: Tokenizer, prefix: str, system: bool) -> Callable[[str], int]:
    """How a suffix measures as sent after `prefix`: a system prompt is its own message,
    counted apart; a document prefix is the same text, so it is measured together."""
    if system:
        prefix_tokens = len(tokenizer.encode(prefix))
        return lambda suffix: prefix_tokens + len(tokenizer.encode(suffix))
    lead = prefix + SEPARATOR
    return lambda suffix: len(tokenizer.encode(lead + suffix))


def _system_argument(cls: type[Endpoint]) -> str:
    """The name `create_payload` takes a system prompt by, or a ValueError saying there is none."""
    parameters = inspect.signature(cls.create_payload).parameters
    for name in _SYSTEM_ARGUMENTS:
        if name in parameters:
            return name
    raise ValueError(
        f"{cls.__name__}'s payloads take no system prompt: place the prefixes in the "
        "user message instead (placement 'document', --prefix-placement document)"
    )
