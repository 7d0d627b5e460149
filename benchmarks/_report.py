"""Reporting shared by the benchmark scripts: machine info and markdown tables.

The scripts run as ``python benchmarks/<name>.py``, so this module is imported
as ``_report`` from the scripts' folder.
"""

import datetime
import os
import platform
import shlex
import statistics
import sys
import time

import numpy as np
import scipy
import sklearn
from threadpoolctl import threadpool_limits


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
        command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
        data_env = os.environ.get("SKNOISY_DATA")
        if data_env:
            command = f"SKNOISY_DATA={shlex.quote(data_env)} {command}"
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
