"""The user guide's LiteLLM page (docs/providers/litellm.md): its Python examples run as written.

The main suite's tests/test_docs.py skips the page where this plugin is not
installed; here it is importable, so the page runs, against the simulated
server on 127.0.0.1 and with nothing else reachable.
"""

from __future__ import annotations

import re
from pathlib import Path

import litellm_fakes  # noqa: F401  (litellm imported the plugin's way, offline)
import pytest

PAGE = Path(__file__).resolve().parents[3] / "docs" / "providers" / "litellm.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)


@pytest.mark.realtime  # the first example serves and reads over loopback, on the real clock
def test_examples_run_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for number, block in enumerate(BLOCKS, start=1):
        exec(compile(block, f"{PAGE.name}#{number}", "exec"), namespace)
    assert capsys.readouterr().out.splitlines() == [
        "32 0",  # 4 measured requests of 8 tokens (2 warm-up requests left out), none failed
        "bedrock anthropic.claude-3-haiku-20240307-v1:0 False",
        "['system', 'user', 'user']",
    ]
