"""Reporting shared by the benchmark scripts: machine info and markdown tables.

The scripts run as ``python benchmarks/<name>.py``, so this module is imported
as ``_report`` from the scripts' folder. A report's header names no folder of
the machine that ran it (see :func:`portable_command`): the results files are
committed and read on other machines.
"""

import datetime
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import sklearn
from threadpoolctl import threadpool_limits

REPO_ROOT = Path(__file__).resolve().parent.parent
#: How a report writes the benchmark data folder (``SKNOISY_DATA``).
DATA_PLACEHOLDER = "<data>"


def machine_info():
    """Lines describing the CPU, the library versions and the thread counts."""
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{i['prefix']} ({i['num_threads']} threads)"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        )
    except ImportError:  # pragma: no cover - threadpoolctl ships with sklearn
        blas = "unknown"
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(
                line.split(":", 1)[1].strip() for line in f if "model name" in line
            )
    except (OSError, StopIteration):
        pass
    versions = (
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}"
    )
    threads = f"numpy BLAS: {blas or 'unknown'}"
    try:
        import skorch
        import torch

        versions += f", torch {torch.__version__}, skorch {skorch.__version__}"
        threads = f"torch threads: {torch.get_num_threads()}; {threads}"
    except ImportError:
        pass
    return [f"CPU: {cpu}, os.cpu_count() = {os.cpu_count()}", versions, threads]


def _data_home():
    """The benchmark data folder the loaders read, or None."""
    data_env = os.environ.get("SKNOISY_DATA")
    return Path(data_env).expanduser().resolve() if data_env else None


def portable_path(path):
    """``path`` as a report shows it, without this machine's folders.

    A path in the benchmark data folder (``SKNOISY_DATA``) becomes
    ``<data>/...`` and a path in the repository becomes relative to its root,
    so that a report reads the same on every machine and its command runs
    from the repository root. Other paths are returned unchanged.

    Parameters
    ----------
    path : str or path-like
        An absolute path, or one relative to the working directory.

    Returns
    -------
    shown : str
    """
    text = os.fspath(path)
    resolved = Path(text).expanduser().resolve()
    data_home = _data_home()
    if data_home is not None and resolved.is_relative_to(data_home):
        rest = resolved.relative_to(data_home).as_posix()
        return DATA_PLACEHOLDER if rest == "." else f"{DATA_PLACEHOLDER}/{rest}"
    if resolved.is_relative_to(REPO_ROOT) and resolved != REPO_ROOT:
        return resolved.relative_to(REPO_ROOT).as_posix()
    return text


def _portable_argument(argument):
    """A command-line argument with its path, if any, made portable."""
    option, sep, value = argument.partition("=")
    if sep and option.startswith("-"):
        return f"{option}={_portable_argument(value)}"
    if os.path.isabs(argument) or os.path.exists(argument):
        return portable_path(argument)
    return argument


def _quote(word):
    """Shell-quote ``word`` but its data placeholders, which the reader replaces."""
    return DATA_PLACEHOLDER.join(
        shlex.quote(part) if part else "" for part in word.split(DATA_PLACEHOLDER)
    )


def portable_command(argv=None):
    """The command line that ran this script, runnable from the repository root.

    The interpreter is written ``python``, ``SKNOISY_DATA`` (when set) as
    ``<data>``, and paths as :func:`portable_path` writes them: the lines
    name no folder of the machine that ran the benchmark.

    Parameters
    ----------
    argv : list of str, default=None
        The script and its arguments; ``sys.argv`` when None.

    Returns
    -------
    command : str
    """
    argv = sys.argv if argv is None else argv
    script, *arguments = argv
    words = ["python", portable_path(script)] if script else ["python"]
    words += [_portable_argument(a) for a in arguments]
    command = " ".join(_quote(w) for w in words)
    if _data_home() is not None:
        command = f"SKNOISY_DATA={DATA_PLACEHOLDER} {command}"
    return command


def markdown_table(headers, rows):
    """A markdown table from column headers and rows of cells."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def mib(n_bytes):
    """Bytes as mebibytes with one decimal."""
    return f"{n_bytes / 2**20:.1f}"


class Report:
    """Collects markdown sections, printing each as it is added."""

    def __init__(self, title):
        self.parts = [f"# {title}"]
        print(self.parts[0], end="\n\n", flush=True)

    @classmethod
    def start(cls, title, quick):
        """A report opened with the command, date, mode and machine lines."""
        command = portable_command()
        now = datetime.datetime.now(datetime.timezone.utc)
        report = cls(title)
        report.add(
            "\n".join(
                [
                    f"- Command: `{command}`",
                    f"- Date: {now.strftime('%Y-%m-%d %H:%M UTC')}",
                    f"- Mode: {'quick' if quick else 'full'}",
                    *(f"- {line}" for line in machine_info()),
                ]
            )
        )
        return report

    def add(self, text):
        self.parts.append(text)
        print(text, end="\n\n", flush=True)

    def write(self, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n\n".join(self.parts) + "\n", encoding="utf-8")
        print(f"Written to {path}")


def median_times(functions, repeats, threads, budget_s, warm_ups=None):
    """Medians of interleaved repeats after a warm-up call each, in seconds.

    ``threads`` is given to torch and to numpy's BLAS for the duration. At most
    ``repeats`` rounds are run; after ``budget_s`` seconds no new round starts
    once 3 are done (after ``2 * budget_s``, once 1 is done), so that a
    machine under heavy load cannot stretch the run without bound. Returns
    the medians and the number of rounds.
    """
    import torch

    warm_ups = warm_ups or functions
    restore = torch.get_num_threads()
    with threadpool_limits(limits=threads, user_api="blas"):
        torch.set_num_threads(threads)
        try:
            for fn in warm_ups.values():
                fn()
            times = {key: [] for key in functions}
            started = time.perf_counter()
            for done in range(repeats):
                elapsed = time.perf_counter() - started
                if (done >= 3 and elapsed > budget_s) or (
                    done >= 1 and elapsed > 2 * budget_s
                ):
                    break
                for key, fn in functions.items():
                    start = time.perf_counter()
                    fn()
                    times[key].append(time.perf_counter() - start)
        finally:
            torch.set_num_threads(restore)
    medians = {key: statistics.median(values) for key, values in times.items()}
    return medians, len(times[next(iter(times))])
