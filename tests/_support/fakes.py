"""Endpoints that stand in for a server and remember what they saw."""

from __future__ import annotations

from typing import Any

import attrs

from llmeter_trio import FakeEndpoint, InvocationResponse


@attrs.define
class CountingEndpoint(FakeEndpoint):
    """FakeEndpoint that tracks how many requests are in flight at once."""

    in_flight: int = attrs.field(default=0, init=False)
    peak: int = attrs.field(default=0, init=False)

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await super().invoke(payload)
        finally:
            self.in_flight -= 1
