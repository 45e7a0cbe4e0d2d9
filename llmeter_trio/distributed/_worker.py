"""A worker process of the local executor: ``python -m llmeter_trio.distributed._worker``.

It talks to the coordinator over its standard streams, one JSON document a line:

- stdin: first the `ShardSpec` (pickled, base64), then commands:
  ``{"start": AT}``, ``{"stop": REASON}``, ``{"interrupt": SIGNAL_NAME}``. The
  end of stdin (the coordinator is gone) interrupts the shard.
- stdout: ``{"ready": true}`` once its connections are open, ``{"progress": {...}}``
  every ``spec.progress_interval`` seconds, and last ``{"report": {...}}``.

Anything else the process prints goes to stderr. The worker runs in a session
of its own, so Ctrl-C at the terminal reaches the coordinator only, which
forwards it; a SIGTERM sent to the worker itself stops it cleanly too.
"""

from __future__ import annotations

import base64
import os
import pickle
import sys
import threading
from typing import IO, Any

import attrs

from ..storage import dumps, loads
from ._shard import ShardControl, ShardSpec, run_shard

__all__ = ["main"]


def _reader(stdin: IO[bytes], control: ShardControl) -> None:
    for line in stdin:
        command = loads(line)
        if "start" in command:
            control.start(float(command["start"]))
        elif "stop" in command:
            control.stop(str(command["stop"]))
        elif "interrupt" in command:
            control.interrupt(str(command["interrupt"]))
    control.interrupt("SIGHUP")  # the coordinator is gone


def _reporter(out: IO[bytes], lock: threading.Lock, control: ShardControl, every: float) -> None:
    control.ready.wait()
    _send(out, lock, {"ready": True})
    while True:
        _send(out, lock, {"progress": attrs.asdict(control.progress())})
        threading.Event().wait(every)


def _send(out: IO[bytes], lock: threading.Lock, document: dict[str, Any]) -> None:
    with lock:
        if out.closed:  # the report was the last line
            return
        out.write(dumps(document) + b"\n")
        out.flush()


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")  # the protocol's stream
    os.dup2(2, 1)  # anything printed goes to stderr
    stdin = sys.stdin.buffer
    spec = pickle.loads(base64.b64decode(stdin.readline()))
    if not isinstance(spec, ShardSpec):
        raise SystemExit("llmeter-trio worker: the first line is not a shard spec")
    control, lock = ShardControl(), threading.Lock()
    threading.Thread(target=_reader, args=(stdin, control), daemon=True).start()
    reporter = (out, lock, control, spec.progress_interval)
    threading.Thread(target=_reporter, args=reporter, daemon=True).start()
    report = run_shard(spec, control)
    _send(out, lock, {"report": base64.b64encode(pickle.dumps(report)).decode()})
    with lock:
        out.close()
    sys.stderr.flush()
    os._exit(0)  # not waiting for the daemon threads (one is blocked reading stdin)


if __name__ == "__main__":
    main()
