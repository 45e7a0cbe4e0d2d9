"""What a workload asked of each request, carried inside its payload to the record."""

from __future__ import annotations

from typing import Any

from ..endpoints import InvocationResponse

__all__ = ["WORKLOAD_KEY", "keep_workload", "split_workload", "with_workload"]

WORKLOAD_KEY = "llmeter_trio_workload"
"""The payload key holding what the workload asked (``input_tokens``, ``output_tokens``,
``prefix``, ``source``, ...). The engine takes it out before callbacks and the
endpoint see the payload, and keeps it on the request's record."""


def with_workload(payload: dict[str, Any], **asked: Any) -> dict[str, Any]:
    """`payload` with what was asked of it (None values left out) under `WORKLOAD_KEY`."""
    kept = {key: value for key, value in asked.items() if value is not None}
    merged = {**payload.get(WORKLOAD_KEY, {}), **kept}
    return {**payload, WORKLOAD_KEY: merged}


def split_workload(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A copy of the payload to send (the caller may change it), and what its workload asked
    (None when nothing)."""
    sent = dict(payload)
    asked = sent.pop(WORKLOAD_KEY, None)
    if asked is not None and not isinstance(asked, dict):
        raise ValueError(f"the payload's {WORKLOAD_KEY!r} must be a dict, not {asked!r}")
    return sent, asked


def keep_workload(response: InvocationResponse, asked: dict[str, Any] | None) -> None:
    """Put what the workload asked on the request's record (asked lengths as their own fields)."""
    if asked is None:
        return
    # what the request asked; a session's script of later turns is not part of it
    response.workload = {key: value for key, value in asked.items() if key != "follow_ups"}
    response.requested_input_tokens = _count(asked.get("input_tokens"))
    response.requested_output_tokens = _count(asked.get("output_tokens"))


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
