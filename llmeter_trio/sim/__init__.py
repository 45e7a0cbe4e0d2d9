"""A simulated LLM server whose latencies and token counts are known.

It speaks the OpenAI, Anthropic Messages, Bedrock runtime and SageMaker
runtime APIs on one port. Tests, demos and benchmarks use it as ground truth:

    async with simulated_server(SimConfig(ttft_base=0.2, itl=0.05)) as base_url:
        ...  # point any OpenAI-compatible client at base_url (its origin for the others)

From a shell: ``llmeter-trio serve-sim`` or ``python -m llmeter_trio.sim``.
It is served by a lean built-in HTTP/1.1 engine (h11 on trio streams), or by
hypercorn with ``engine="hypercorn"`` (``--engine hypercorn``).

Testing aids: `call_app` calls a `SimApp` in-process and returns its answer's
parts with the (virtual) instants they were sent (`AppExchange`);
`signed_headers` and `hide_aws_settings` serve tests of AWS clients.
"""

from ._app import SimApp as SimApp
from ._cli import serve_sim as serve_sim
from ._formats import CONTENT_WORD as CONTENT_WORD
from ._formats import REASONING_WORD as REASONING_WORD
from ._model import Fault as Fault
from ._model import Faults as Faults
from ._model import Jitter as Jitter
from ._model import Plan as Plan
from ._model import PlannedChunk as PlannedChunk
from ._model import SimConfig as SimConfig
from ._model import plan as plan
from ._server import simulated_server as simulated_server
from ._testing import AppExchange as AppExchange
from ._testing import call_app as call_app
from ._testing import hide_aws_settings as hide_aws_settings
from ._testing import signed_headers as signed_headers

__all__ = [
    "AppExchange",
    "CONTENT_WORD",
    "Fault",
    "Faults",
    "Jitter",
    "Plan",
    "PlannedChunk",
    "REASONING_WORD",
    "SimApp",
    "SimConfig",
    "call_app",
    "hide_aws_settings",
    "plan",
    "serve_sim",
    "signed_headers",
    "simulated_server",
]
