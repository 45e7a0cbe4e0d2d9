"""Prompts and payloads: cutting prompts of chosen token lengths, reading and writing payload files.

- `CreatePromptCollection` cuts prompts of given token lengths from a
  source text (`SAMPLE_TEXT_FILE` ships with llmeter-trio), each from its own
  seeded random offset, for every (input length, output length) pair.
- `load_payloads` and `save_payloads` read and write JSON / JSONL payload
  files, or folders of them, at any fsspec URL, bytes values included.
- `load_prompts` makes a payload from each line of prompt text files.

LLMeter's ``llmeter.prompt_utils``, with LLMeter's defaults, is
`llmeter_trio.prompt_utils`.
"""

from ._collection import SAMPLE_TEXT_FILE as SAMPLE_TEXT_FILE
from ._collection import CreatePromptCollection as CreatePromptCollection
from ._collection import PromptSample as PromptSample
from ._payload_files import BytesFormat as BytesFormat
from ._payload_files import InvalidJson as InvalidJson
from ._payload_files import PayloadBytesError as PayloadBytesError
from ._payload_files import PayloadFileError as PayloadFileError
from ._payload_files import load_payloads as load_payloads
from ._payload_files import save_payloads as save_payloads
from ._prompt_files import load_prompts as load_prompts

__all__ = [
    "BytesFormat",
    "CreatePromptCollection",
    "InvalidJson",
    "PayloadBytesError",
    "PayloadFileError",
    "PromptSample",
    "SAMPLE_TEXT_FILE",
    "load_payloads",
    "load_prompts",
    "save_payloads",
]
