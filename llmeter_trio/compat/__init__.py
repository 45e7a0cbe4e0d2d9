"""Reading and writing what other tools save: LLMeter's run folders.

`Result.load` and `LoadTestResult.load` detect LLMeter's folders by themselves;
these functions are for insisting on LLMeter's format, or asking about it.
`save_llmeter_result` (or ``Result.save(path, format="llmeter")``) writes a
folder LLMeter can load.
"""

from ._llmeter import is_llmeter_run as is_llmeter_run
from ._llmeter import load_llmeter_result as load_llmeter_result
from ._llmeter_writer import save_llmeter_result as save_llmeter_result

__all__ = ["is_llmeter_run", "load_llmeter_result", "save_llmeter_result"]
