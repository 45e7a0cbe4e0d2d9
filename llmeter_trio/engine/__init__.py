"""The load engine: `Runner` and one run's nurseries, deadline and writer."""

from ._plan import MAX_CLIENTS as MAX_CLIENTS
from ._retry import Retry as Retry
from ._run import EndpointUnreachable as EndpointUnreachable
from ._run import RunInterrupted as RunInterrupted
from ._runner import Runner as Runner
from ._stop import stop_run as stop_run
from ._writer import LiveProgress as LiveProgress

__all__ = [
    "EndpointUnreachable",
    "LiveProgress",
    "MAX_CLIENTS",
    "Retry",
    "RunInterrupted",
    "Runner",
    "stop_run",
]
