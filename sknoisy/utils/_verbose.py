"""One progress style for every long loop in sknoisy."""

import sys
import time


class ProgressLogger:
    """Print one line per epoch or round when ``verbose`` is positive.

    Every estimator reports progress the same way: the estimator's name, the
    loop counter, the quantities a user waiting on a long fit wants to see,
    and the time since the loop began, e.g.
    ``[SoftmaxRegression] epoch 3 | loss=0.4121 | 0.8s``.

    Parameters
    ----------
    verbose : int
        Nothing is printed when ``verbose <= 0``.

    name : str
        Prefix of every line, usually the estimator's class name.

    stream : file-like, default=None
        Where to print; ``sys.stdout`` when None.
    """

    def __init__(self, verbose, name, stream=None):
        self.verbose = verbose
        self.name = name
        self.stream = stream
        self._start = time.perf_counter()

    def log(self, **values):
        """Print ``values`` in their given order, floats with 4 digits."""
        if not self.verbose or self.verbose <= 0:
            return
        counter, *rest = values.items() if values else [("", "")]
        parts = [f"[{self.name}] {counter[0]} {counter[1]}"]
        parts += [f"{k}={_format(v)}" for k, v in rest]
        parts.append(f"{time.perf_counter() - self._start:.1f}s")
        print(" | ".join(parts), file=self.stream or sys.stdout, flush=True)


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
