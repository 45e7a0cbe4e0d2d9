"""`Runner`: LLMeter's entry point for one run, on trio."""

from __future__ import annotations

import os
import posixpath
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from ..endpoints import Endpoint
from ..results import RUN_CONFIG_FILE, Result
from ..run_config import RunConfig
from ..storage import converter, has_records, open_sink, resolve, write_json
from ..tokenizers import DummyTokenizer, Tokenizer, tokenizer_to_config
from ._hooks import RunHooks
from ._payloads import PayloadInput, normalize_payloads
from ._run import LiveProgress, execute_run

__all__ = ["Runner"]


def _check_positive(name: str, value: float | None, *, integer: bool = False) -> None:
    if value is None:
        return
    if integer and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(f"{name} must be a whole number, not {value!r}")
    if not value > 0:
        raise ValueError(f"{name} must be greater than 0, not {value!r}")


@attrs.define
class Runner:
    """Sends load to one endpoint with closed-loop clients and measures it.

    The fields are defaults for `run`, which may override any of them::

        runner = Runner(endpoint, output_path="outputs")
        result = await runner.run(payload=payloads, clients=8, n_requests=20)

    Run semantics (as in LLMeter, with its flaws fixed):

    - `n_requests` is per client: a run sends ``clients * n_requests``
      requests. Without `n_requests` or `run_duration`, each client sends
      ``len(payload)`` requests.
    - `run_duration` (seconds) bounds the run in time instead: after it no
      request starts; requests in flight get `drain_timeout` more seconds
      (default: `timeout`, else 60 s) and are then cancelled, each recorded
      as ``cancelled``. The two are exclusive.
    - `timeout` is a deadline over the whole of each request (connecting,
      waiting, streaming), not a per-read timeout.
    - Each client draws payloads in its own seeded order; `seed` (random
      when not given, and saved) makes a run repeatable.
    - Results go to ``{output_path}/{run_name}/``; records stream there as
      they finish, so an interrupted or killed run keeps what it measured.
    """

    endpoint: Endpoint
    output_path: str | os.PathLike[str] | None = None
    tokenizer: Tokenizer | None = None
    clients: int = 1
    n_requests: int | None = None
    run_duration: float | None = None
    payload: PayloadInput | None = None
    run_name: str | None = None
    run_description: str | None = None
    timeout: float | None = 60
    callbacks: Sequence[Any] | None = None
    low_memory: bool = False
    seed: int | None = None
    drain_timeout: float | None = None

    async def run(
        self,
        *,
        payload: PayloadInput | None = None,
        clients: int | None = None,
        n_requests: int | None = None,
        run_duration: float | None = None,
        timeout: float | None = None,
        drain_timeout: float | None = None,
        callbacks: Sequence[Any] | None = None,
        low_memory: bool | None = None,
        run_name: str | None = None,
        run_description: str | None = None,
        output_path: str | os.PathLike[str] | None = None,
        tokenizer: Tokenizer | None = None,
        seed: int | None = None,
        progress: LiveProgress | None = None,
    ) -> Result:
        """Run the load and return its `Result` (also saved, when there is an output path).

        Arguments left as None take the Runner's value. Pass a `LiveProgress`
        to watch the counts while the run goes on.
        """
        if n_requests is None and run_duration is None:
            n_requests, run_duration = self.n_requests, self.run_duration
        if n_requests is not None and run_duration is not None:
            raise ValueError("give n_requests or run_duration, not both")
        clients = clients if clients is not None else self.clients
        timeout = timeout if timeout is not None else self.timeout
        drain_timeout = drain_timeout if drain_timeout is not None else self.drain_timeout
        low_memory = low_memory if low_memory is not None else self.low_memory
        _check_positive("clients", clients, integer=True)
        _check_positive("n_requests", n_requests, integer=True)
        _check_positive("run_duration", run_duration)
        _check_positive("timeout", timeout)
        if drain_timeout is not None and drain_timeout < 0:
            raise ValueError(f"drain_timeout must be 0 or more, not {drain_timeout!r}")

        payloads = normalize_payloads(payload if payload is not None else self.payload)
        if n_requests is None and run_duration is None:
            n_requests = len(payloads)
        run_name = run_name or self.run_name or datetime.now().strftime("%Y%m%d-%H%M%S")
        parent = output_path if output_path is not None else self.output_path
        run_folder = None if parent is None else posixpath.join(os.fspath(parent), run_name)
        if low_memory and run_folder is None:
            raise ValueError("low_memory=True keeps no records in memory: it needs an output_path")
        tokenizer = tokenizer or self.tokenizer or DummyTokenizer()

        config = RunConfig(
            endpoint_config=self.endpoint.to_config(),
            tokenizer_config=tokenizer_to_config(tokenizer),
            clients=clients,
            n_requests=n_requests,
            run_duration=run_duration,
            timeout=timeout,
            drain_timeout=drain_timeout,
            seed=seed
            if seed is not None
            else (self.seed if self.seed is not None else random.randrange(2**32)),
            run_name=run_name,
            run_description=run_description or self.run_description,
            low_memory=low_memory,
            output_path=run_folder,
            payload=payloads,
        )
        sink = None
        if run_folder is not None:
            _start_run_folder(run_folder, config)
            sink = open_sink(run_folder)
        hooks = RunHooks([*(self.callbacks or ()), *(callbacks or ())])
        return await execute_run(config, self.endpoint, tokenizer, hooks, payloads, sink, progress)


def _start_run_folder(run_folder: str, config: RunConfig) -> None:
    """Create the run folder and save the configuration; never mix two runs' records."""
    fs, folder = resolve(run_folder)
    if has_records(fs, folder):
        raise FileExistsError(
            f"{run_folder} already holds a run's records; choose another run_name or output_path"
        )
    fs.makedirs(folder, exist_ok=True)
    write_json(fs, posixpath.join(folder, RUN_CONFIG_FILE), converter.unstructure(config))
