"""Validation helpers, estimator discovery and progress logging."""

from ._verbose import ProgressLogger
from .discovery import all_estimators

__all__ = ["ProgressLogger", "all_estimators"]
