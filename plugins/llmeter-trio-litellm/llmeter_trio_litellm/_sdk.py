"""The one place LiteLLM is imported, with the settings a load generator needs.

Importing litellm takes seconds, so nothing imports it when the plugin is
loaded (listing endpoints, reloading a saved run): `load_litellm` does, once,
when an endpoint first needs the SDK (`open_session`, or a direct `invoke`).

Before the import, ``LITELLM_LOCAL_MODEL_COST_MAP`` is set to ``True`` unless
the environment already sets it: LiteLLM would otherwise fetch its model cost
map from GitHub while being imported, a network call (and a wait of seconds
on a machine without network) that a measurement does not need. After it,
LiteLLM's "Give Feedback / Get Help" lines, which it prints on every failed
request, are turned off (``litellm.suppress_debug_info``), and two offline
calls (LiteLLM's ``mock_response``, one streamed, one whole) warm it up: its
lazy imports and first-call set-up take most of a second, which would
otherwise land in the first timed request.
"""

from __future__ import annotations

import os
import threading
from types import ModuleType

__all__ = ["COST_MAP_VARIABLE", "WARM_UP_MODEL", "load_litellm"]

COST_MAP_VARIABLE = "LITELLM_LOCAL_MODEL_COST_MAP"
WARM_UP_MODEL = "openai/llmeter-trio-warm-up"  # answered by LiteLLM's mock_response, offline

_lock = threading.Lock()
_litellm: ModuleType | None = None


def load_litellm() -> ModuleType:
    """The litellm module, imported and warmed up on first use.

    Blocking (seconds the first time): call it from a worker thread.
    """
    global _litellm
    with _lock:
        if _litellm is None:
            os.environ.setdefault(COST_MAP_VARIABLE, "True")
            import litellm

            litellm.suppress_debug_info = True
            _warm_up(litellm)
            _litellm = litellm
        return _litellm


def _warm_up(litellm: ModuleType) -> None:
    messages = [{"role": "user", "content": "warm up"}]
    stream = litellm.completion(
        model=WARM_UP_MODEL, messages=messages, mock_response="warm up", stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    for _ in stream:
        pass
    litellm.completion(model=WARM_UP_MODEL, messages=messages, mock_response="warm up")
