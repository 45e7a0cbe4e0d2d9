"""Reading what other tools saved: LLMeter's run folders, into llmeter-trio's results.

`Result.load` and `LoadTestResult.load` detect LLMeter's folders by themselves;
these functions are for insisting on LLMeter's format, or asking about it.
"""

from ._llmeter import is_llmeter_run as is_llmeter_run
from ._llmeter import load_llmeter_result as load_llmeter_result

__all__ = ["is_llmeter_run", "load_llmeter_result"]
