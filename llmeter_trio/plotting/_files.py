"""Charts to files: each figure as ``{folder}/{name}.html`` or ``.png``, at any fsspec URL."""

from __future__ import annotations

import importlib.util
import io
import os
import posixpath
import warnings
from typing import Any, Literal

from ..storage import open_atomic, resolve

__all__ = ["ChartFormat", "check_format", "save_figures"]

ChartFormat = Literal["html", "png"]


def check_format(format: str) -> ChartFormat:
    """`format` if charts can be written in it, else a ValueError."""
    if format not in ("html", "png"):
        raise ValueError(f"format must be 'html' or 'png', not {format!r}")
    return format  # type: ignore[return-value]


def save_figures(figures: dict[str, Any], url: str | os.PathLike[str], format: ChartFormat) -> None:
    """Write each figure (plotly's ``write_html``/``write_image``) as ``{url}/{name}.{format}``.

    HTML is self-contained (viewable offline); PNG needs kaleido (the
    ``plotting`` extra). Each file appears whole or not at all.
    """
    check_format(format)
    if format == "png" and importlib.util.find_spec("kaleido") is None:
        raise ImportError(
            "saving charts as PNG needs kaleido: pip install 'llmeter-trio[plotting]'"
        )
    fs, folder = resolve(os.fspath(url))
    fs.makedirs(folder, exist_ok=True)
    for name, figure in figures.items():
        with open_atomic(fs, posixpath.join(folder, f"{name}.{format}")) as f:
            if format == "html":
                text = io.TextIOWrapper(f, encoding="utf-8", write_through=True)
                figure.write_html(text, include_plotlyjs=True, full_html=True)
                text.detach()  # leave `f` open for open_atomic to finish
            else:
                with warnings.catch_warnings():
                    # kaleido 0.2.1 is pinned on purpose (it brings its own browser, so it
                    # works offline); plotly warns about that pairing on every export
                    warnings.simplefilter("ignore", DeprecationWarning)
                    figure.write_image(f, format="png")
