"""llmeter-trio: load tests for LLM endpoints whose numbers you can trust, on trio."""

from ._loops import run_sync as run_sync
from ._version import __version__ as __version__
from .callbacks import Callback as Callback
from .endpoints import Endpoint as Endpoint
from .endpoints import EndpointError as EndpointError
from .endpoints import ErrorClass as ErrorClass
from .endpoints import FakeEndpoint as FakeEndpoint
from .endpoints import HttpEndpoint as HttpEndpoint
from .endpoints import InvocationResponse as InvocationResponse
from .endpoints import StreamRecorder as StreamRecorder
from .engine import LiveProgress as LiveProgress
from .engine import RunInterrupted as RunInterrupted
from .engine import Runner as Runner
from .engine import stop_run as stop_run
from .hookspecs import hookimpl as hookimpl
from .results import Result as Result
from .run_config import RunConfig as RunConfig
from .tokenizers import DummyTokenizer as DummyTokenizer
from .tokenizers import Tokenizer as Tokenizer

__all__ = [
    "Callback",
    "DummyTokenizer",
    "Endpoint",
    "EndpointError",
    "ErrorClass",
    "FakeEndpoint",
    "HttpEndpoint",
    "InvocationResponse",
    "LiveProgress",
    "Result",
    "RunConfig",
    "RunInterrupted",
    "Runner",
    "StreamRecorder",
    "Tokenizer",
    "__version__",
    "hookimpl",
    "run_sync",
    "stop_run",
]
