"""LLMeter's `llmeter.endpoints.base` path: the endpoint contract and the response record."""

from __future__ import annotations

from ._base import Endpoint
from ._response import InvocationResponse

__all__ = ["Endpoint", "InvocationResponse"]
