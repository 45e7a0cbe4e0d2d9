"""``python -m llmeter_trio.sim``: serve the simulated OpenAI-compatible server."""

from ._cli import serve_sim

raise SystemExit(serve_sim())
