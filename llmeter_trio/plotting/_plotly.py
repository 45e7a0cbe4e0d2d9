"""plotly, imported once for every chart: an optional dependency (the ``plotting`` extra).

Without plotly the names below still import; using one raises an ImportError
that says how to install it, so ``import llmeter_trio.plotting`` never fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["INSTALL_HINT", "go", "make_subplots", "sequential"]

INSTALL_HINT = "charts need plotly: pip install 'llmeter-trio[plotting]'"


class MissingPlotly:
    """Stands in for a plotly module that is not installed; any use says how to install it."""

    def __init__(self, error: ImportError) -> None:
        self._error = error

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ImportError(INSTALL_HINT) from self._error

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ImportError(INSTALL_HINT) from self._error


if TYPE_CHECKING:
    import plotly.graph_objects as go
    from plotly.colors import sequential
    from plotly.subplots import make_subplots
else:
    try:
        import plotly.graph_objects as go
        from plotly.colors import sequential
        from plotly.subplots import make_subplots
    except ImportError as exc:  # pragma: no cover - depends on the environment
        go = sequential = make_subplots = MissingPlotly(exc)
