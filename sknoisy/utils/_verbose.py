"""One progress style for every long loop in sknoisy."""

import math
import numbers
import sys
import time

# Floats print with this many decimals, so that a column of losses or scores
# aligns; magnitudes outside [_FIXED_MIN, _FIXED_MAX) would lose their digits
# (or print very wide) in that format and switch to scientific notation.
_DECIMALS = 4
_FIXED_MIN, _FIXED_MAX = 1e-3, 1e6


class ProgressLogger:
    """Print one line per epoch, round or stage when ``verbose`` is positive.

    Every estimator reports progress the same way: the estimator's name, the
    loop counter, the quantities a user waiting on a long fit wants to see,
    and the time since the loop began, e.g.
    ``[AGRAClassifier] epoch  3/20 | n_removed=12 | val_score=0.9130 | 0.8s``.

    Numbers print in fixed formats so that the columns of successive lines
    align: a counter ``(count, total)`` prints as ``count/total`` with the
    count padded to the width of the total, floats with 4 decimals.

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

    @property
    def enabled(self):
        """Whether lines are printed."""
        return bool(self.verbose) and self.verbose > 0

    def log(self, **values):
        """Print ``values`` in their given order, the first as the counter.

        Parameters
        ----------
        **values
            The first item names the loop and its position (``epoch=(3, 20)``
            prints ``epoch  3/20``, ``step="refit"`` prints ``step refit``);
            the others print as ``key=value``. A ``(count, total)`` pair
            prints as ``count/total``; floats with 4 decimals (scientific
            notation below 1e-3 or from 1e6 on).
        """
        if not self.enabled:
            return
        counter, *rest = values.items() if values else [("", "")]
        parts = [f"[{self.name}] {counter[0]} {_format(counter[1])}"]
        parts += [f"{key}={_format(value)}" for key, value in rest]
        parts.append(self._elapsed())
        self._print(" | ".join(parts))

    def start(self, stage):
        """Announce a stage before it runs, e.g. ``[RDIARelabeler] refit ...``.

        A stage that runs for long would otherwise leave the user without
        output until it ends; its :meth:`log` line follows when it does.

        Parameters
        ----------
        stage : str
            What is about to run.
        """
        if self.enabled:
            self._print(f"[{self.name}] {stage} ... | {self._elapsed()}")

    def _elapsed(self):
        return f"{time.perf_counter() - self._start:.1f}s"

    def _print(self, line):
        print(line, file=self.stream or sys.stdout, flush=True)


def _is_counter(value):
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, numbers.Integral) for v in value)
    )


def _format(value):
    """``value`` as text, in the fixed formats described in ProgressLogger."""
    if _is_counter(value):
        count, total = value
        return f"{count:>{len(str(total))}}/{total}"
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        value = float(value)
        magnitude = abs(value)
        if (
            magnitude == 0
            or not math.isfinite(value)
            or _FIXED_MIN <= magnitude < _FIXED_MAX
        ):
            return f"{value:.{_DECIMALS}f}"
        return f"{value:.{_DECIMALS - 1}e}"
    return str(value)
