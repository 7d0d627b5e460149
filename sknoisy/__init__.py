"""sknoisy: scikit-learn compatible estimators for learning with noisy labels.

The estimators wrap any linear scikit-learn classifier or skorch network.
Importing :mod:`sknoisy` never imports torch; the skorch code paths import it
when they are first used.
"""

from . import (
    adapters,
    datasets,
    exceptions,
    linear_model,
    metrics,
    model_selection,
    neighbors,
    noise,
)
from ._agra import AGRAClassifier
from ._alc import RobustActiveLabelCorrector
from ._divide_mix_lite import DivideMixLiteClassifier
from ._prune4rel import Prune4ReLSelector
from ._rdia import RDIARelabeler
from .linear_model import SoftmaxRegression

__version__ = "0.1.0.dev0"

# RDIA-LS needs torch and skorch, so its names load on first access.
_TORCH_NAMES = ("RDIALSClassifier", "RDIALSMixin", "RDIALSSchedule")


def __getattr__(name):
    if name in _TORCH_NAMES:
        from . import _rdia_ls

        return getattr(_rdia_ls, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AGRAClassifier",
    "DivideMixLiteClassifier",
    "Prune4ReLSelector",
    "RDIARelabeler",
    "RobustActiveLabelCorrector",
    "SoftmaxRegression",
    "__version__",
    "adapters",
    "datasets",
    "exceptions",
    "linear_model",
    "metrics",
    "model_selection",
    "neighbors",
    "noise",
]
