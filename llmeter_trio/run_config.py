"""`RunConfig`: everything that defines one run, saved as ``run_config.json``."""

from __future__ import annotations

from typing import Any

import attrs

from .endpoints import Endpoint, scrub_secrets

__all__ = ["RunConfig"]


@attrs.frozen(kw_only=True)
class RunConfig:
    """The settings of one run, as saved with it and loaded back.

    The endpoint and tokenizer are kept as their saved configurations (never
    with secrets); `endpoint()` rebuilds the endpoint through the plugins.
    """

    endpoint_config: dict[str, Any]
    tokenizer_config: dict[str, Any] | None = None
    clients: int = 1
    n_requests: int | None = None
    run_duration: float | None = None
    timeout: float | None = None
    drain_timeout: float | None = None
    seed: int = 0
    run_name: str | None = None
    run_description: str | None = None
    low_memory: bool = False
    output_path: str | None = None  # the run folder
    payload: list[dict[str, Any]] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "endpoint_config", scrub_secrets(self.endpoint_config))

    def endpoint(self) -> Endpoint:
        """The endpoint this run used, rebuilt (secrets come from the environment)."""
        from .plugins import endpoint_from_config

        return endpoint_from_config(self.endpoint_config)
