"""Warnings that point at the user's line, however deep they are raised."""

import os
import sys

# Frames in these packages are plumbing between the user's call and the
# warning: scikit-learn's ``_fit_context`` wrapper, an imbalanced-learn or
# scikit-learn Pipeline, cross-validation and its joblib loop.
_LIBRARIES = ("sknoisy", "sklearn", "imblearn", "joblib")


def _library_dirs():
    """Directories of the libraries above that are imported, with a trailing sep."""
    dirs = []
    for name in _LIBRARIES:
        # Not imported means no frame of it can be on the stack.
        path = getattr(sys.modules.get(name), "__file__", None)
        if path:
            dirs.append(os.path.dirname(path) + os.sep)
    return tuple(dirs)


def user_stacklevel():
    """Return the ``stacklevel`` that makes a warning point at the user's code.

    A fixed ``stacklevel`` is right for one call path only: the same warning
    is reached from ``fit`` and ``fit_resample``, through scikit-learn's
    ``_fit_context`` wrapper, and from a Pipeline or a cross-validation
    loop, each adding frames. Like pandas' ``find_stack_level``, this walks
    the stack outwards to the first frame outside sknoisy, scikit-learn,
    imbalanced-learn and joblib.

    Call it in the function that calls :func:`warnings.warn`::

        warnings.warn(message, UserWarning, stacklevel=user_stacklevel())

    Returns
    -------
    stacklevel : int
        1 for the caller of ``user_stacklevel``, 2 for its caller, and so on;
        the outermost frame when every frame belongs to those libraries.
    """
    libraries = _library_dirs()
    frame = sys._getframe(1)  # the function that warns: stacklevel 1
    level = 1
    while frame.f_code.co_filename.startswith(libraries):
        if frame.f_back is None:
            break
        frame = frame.f_back
        level += 1
    return level
