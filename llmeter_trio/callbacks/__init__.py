"""Callbacks: objects whose hooks a run calls (cost and MLflow callbacks come later)."""

from ._base import Callback as Callback

__all__ = ["Callback"]
