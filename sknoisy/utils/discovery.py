"""Discover the public estimators of sknoisy."""

import inspect
import pkgutil
from importlib import import_module
from operator import itemgetter
from pathlib import Path

from sklearn.base import BaseEstimator

_MODULES_TO_IGNORE = {"tests", "demo"}


def all_estimators():
    """List every public scikit-learn estimator defined in :mod:`sknoisy`.

    A class counts when it derives from :class:`sklearn.base.BaseEstimator`,
    is not abstract, its name does not start with an underscore and a public
    module of sknoisy exports it. Private modules (such as the skorch
    adapter, which imports torch) are never imported.

    Returns
    -------
    estimators : list of (str, type)
        ``(name, class)`` pairs, sorted by name, without duplicates.

    Examples
    --------
    >>> from sknoisy.utils import all_estimators
    >>> "SoftmaxRegression" in dict(all_estimators())
    True
    """
    root = Path(__file__).resolve().parent.parent
    found = {}
    module_names = ["sknoisy"] + [
        name for _, name, _ in pkgutil.walk_packages([str(root)], prefix="sknoisy.")
    ]
    for module_name in module_names:
        parts = module_name.split(".")
        if any(p in _MODULES_TO_IGNORE or p.startswith("_") for p in parts):
            continue
        module = import_module(module_name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and cls.__module__.startswith("sknoisy.")
                and not name.startswith("_")
                and not inspect.isabstract(cls)
            ):
                found[name] = cls
    return sorted(found.items(), key=itemgetter(0))
