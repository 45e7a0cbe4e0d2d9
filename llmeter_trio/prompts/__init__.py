"""Prompts and payloads: cutting prompts of chosen token lengths, reading and writing payload files.

- `CreatePromptCollection` cuts prompts of given token lengths from a
  source text (`SAMPLE_TEXT_FILE` ships with llmeter-trio), each from its own
  seeded random offset, for every (input length, output length) pair.
- `load_payloads` and `save_payloads` read and write JSON / JSONL payload
  files, or folders of them, at any fsspec URL, bytes values included.
"""

from ._collection import SAMPLE_TEXT_FILE as SAMPLE_TEXT_FILE
from ._collection import CreatePromptCollection as CreatePromptCollection
from ._collection import PromptSample as PromptSample
from ._payload_files import PayloadFileError as PayloadFileError
from ._payload_files import load_payloads as load_payloads
from ._payload_files import save_payloads as save_payloads

__all__ = [
    "CreatePromptCollection",
    "PayloadFileError",
    "PromptSample",
    "SAMPLE_TEXT_FILE",
    "load_payloads",
    "save_payloads",
]
