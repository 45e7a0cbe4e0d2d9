"""Counting tokens locally, for endpoints that do not report usage and for sizing prompts.

A tokenizer is anything with `encode(text) -> list` and `decode(tokens) -> str`.
Three ship with llmeter-trio, each registered by name through the
`register_tokenizers` plugin hook:

- ``dummy``: `DummyTokenizer`, one word is one token (the default; no dependencies);
- ``huggingface``: `HuggingFaceTokenizer`, a model's ``tokenizer.json`` (extra ``hf``);
- ``tiktoken``: `TiktokenTokenizer`, a local ``.tiktoken`` encoding file (extra ``tiktoken``).

Tokenizers are saved with a run as ``{"tokenizer_type": NAME, **options}``
(`tokenizer_to_config`) and rebuilt from that by
`llmeter_trio.plugins.tokenizer_from_config`; a plugin adds its own by
registering a factory that takes those options.

LLMeter's saved tokenizer documents (``{"tokenizer_module": ...}``) are read
and written with LLMeter's names: `Tokenizer.load_from_file`, `Tokenizer.load`,
`Tokenizer.to_dict` and `save_tokenizer`.
"""

from ._base import DummyTokenizer as DummyTokenizer
from ._base import Tokenizer as Tokenizer
from ._base import count_tokens as count_tokens
from ._base import tokenizer_to_config as tokenizer_to_config
from ._documents import save_tokenizer as save_tokenizer
from ._huggingface import HuggingFaceTokenizer as HuggingFaceTokenizer
from ._tiktoken import TiktokenTokenizer as TiktokenTokenizer

__all__ = [
    "DummyTokenizer",
    "HuggingFaceTokenizer",
    "TiktokenTokenizer",
    "Tokenizer",
    "count_tokens",
    "save_tokenizer",
    "tokenizer_to_config",
]
