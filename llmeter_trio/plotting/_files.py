"""Charts to files: each figure as ``{folder}/{name}.html`` or ``.png``, at any fsspec URL."""

from __future__ import annotations

import importlib.util
import io
import os
import posixpath
import warnings
from pathlib import Path
from typing import IO, Any, Literal

from fsspec.implementations.local import LocalFileSystem

from ..storage import open_atomic, resolve

__all__ = ["ChartFormat", "check_format", "save_figures"]

ChartFormat = Literal["html", "png"]
NO_BROWSER = (
    "saving charts as PNG needs Chrome or Chromium (kaleido drives it): install one, "
    "e.g. apt-get install chromium, or run plotly_get_chrome"
)
PNG_ATTEMPTS = 3  # kaleido's browser page can be called before it loaded (see _page_not_loaded)


def check_format(format: str) -> ChartFormat:
    """`format` in lower case if charts can be written in it (``"PNG"`` is ``"png"``), else a
    ValueError."""
    lowered = format.lower() if isinstance(format, str) else format
    if lowered not in ("html", "png"):
        raise ValueError(f"format must be 'html' or 'png', not {format!r}")
    return lowered  # type: ignore[return-value]


def save_figures(figures: dict[str, Any], url: str | os.PathLike[str], format: ChartFormat) -> None:
    """Write each figure (plotly's ``write_html``/``write_image``) as ``{url}/{name}.{format}``.

    HTML is self-contained (viewable offline); PNG needs kaleido (the
    ``plotting`` extra). In a local folder plotly writes each file at its
    path (a `pathlib.Path`, as LLMeter passes); at any other fsspec URL it
    writes into a file that appears whole or not at all.
    """
    format = check_format(format)
    if format == "png" and importlib.util.find_spec("kaleido") is None:
        raise ImportError(
            "saving charts as PNG needs kaleido: pip install 'llmeter-trio[plotting]'"
        )
    fs, folder = resolve(os.fspath(url))
    fs.makedirs(folder, exist_ok=True)
    local = isinstance(fs, LocalFileSystem)
    for name, figure in figures.items():
        path = posixpath.join(folder, f"{name}.{format}")
        if local:
            _write(figure, Path(path), format)
        else:
            with open_atomic(fs, path) as f:
                _write(figure, f, format)


def _write(figure: Any, target: Path | IO[bytes], format: ChartFormat) -> None:
    """plotly writes the file; its defaults make HTML self-contained, a path's suffix
    gives the image format."""
    if format == "html":
        if isinstance(target, Path):
            figure.write_html(target)
            return
        text = io.TextIOWrapper(target, encoding="utf-8", write_through=True)
        figure.write_html(text)
        text.detach()  # leave `target` open for open_atomic to finish
        return
    with warnings.catch_warnings():
        # an older install may still have kaleido 0.2.1, which plotly warns about on every export
        warnings.simplefilter("ignore", DeprecationWarning)
        for attempt in range(1, PNG_ATTEMPTS + 1):
            try:
                if isinstance(target, Path):
                    figure.write_image(target)
                else:
                    figure.write_image(target, format="png")
                return
            except Exception as exc:
                if "ChromeNotFound" in type(exc).__name__:  # kaleido 1.x drives a system browser
                    raise ImportError(NO_BROWSER) from None
                if attempt == PNG_ATTEMPTS or not _page_not_loaded(exc):
                    raise


def _page_not_loaded(exc: Exception) -> bool:
    """kaleido 1.x called its page's script before the page had loaded it (it can pick the
    blank page's JavaScript context on a busy machine): nothing was written, a new try works."""
    return type(exc).__name__ == "JavascriptError" and "kaleido_scopes is not defined" in str(exc)
