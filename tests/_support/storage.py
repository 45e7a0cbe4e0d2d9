"""Guards on how results are read back."""

from __future__ import annotations

from typing import Any

import pytest


def forbid_whole_jsonl_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `read()` of a whole local .jsonl file an error (reading JSON documents stays)."""
    from fsspec.implementations.local import LocalFileOpener

    read = LocalFileOpener.read

    def guarded(self: LocalFileOpener, *args: Any, **kwargs: Any) -> Any:
        if str(self.path).endswith(".jsonl") and not args:
            raise AssertionError(f"{self.path} read whole")
        return read(self, *args, **kwargs)

    monkeypatch.setattr(LocalFileOpener, "read", guarded)
