"""sknoisy: scikit-learn compatible estimators for learning with noisy labels.

The estimators wrap any linear scikit-learn classifier or skorch network.
Importing :mod:`sknoisy` never imports torch; the skorch code paths import it
when they are first used.
"""

from . import adapters, datasets, linear_model, metrics, noise
from ._rdia import RDIARelabeler
from .linear_model import SoftmaxRegression

__version__ = "0.1.0.dev0"

__all__ = [
    "RDIARelabeler",
    "SoftmaxRegression",
    "__version__",
    "adapters",
    "datasets",
    "linear_model",
    "metrics",
    "noise",
]
