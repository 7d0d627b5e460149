"""BLAS and torch threads: each benchmark's workload at default threads and one.

Why: on a 2-core machine, loops of many small matrix products (mini-batch
epochs, AGRA's steps) ran several times slower with OpenBLAS's default
threads than with one, because waking and synchronising a thread pool for a
product of a few thousand multiply-adds costs more than the product. The
library now holds the BLAS pool to one thread inside such loops
(``sknoisy.utils._threads.blas_threads_for``), so that nobody needs to pin
threads by hand. This script checks that on every benchmark's characteristic
workload.

What is measured: each workload (one ``fit``, or one demo run) is timed with
the process's default threads and with every thread pool held to one
(``threadpool_limits(limits=1)`` for BLAS and OpenMP, and
``torch.set_num_threads(1)``), side by side in this one process: one warm-up
call in each setting, then ``--repeats`` rounds that alternate the order of
the two settings; the best time of each setting is kept (the least disturbed
by other jobs on a shared machine). Reported: the ratio default / one
thread. Target: ≤ 1.2 for every workload.

Workloads (cheap representative configurations of the benchmarks):

- ``agra``: AGRA with the paper's TREC configuration (lr 0.1, batch 32,
  weight decay 1e-4, F1 comparison loss, weighted sampling, threshold 0, no
  fallback) on TREC TF-IDF, 10 epochs, and the plain SoftmaxRegression with
  the same settings; the same on YouTube; AGRA around a skorch MLP (SMS
  SVD-100 features, 100-64-2, batch 32), as ``benchmarks/agra.py`` times them.
- ``softmax_regression``: ``SoftmaxRegression()`` on 3,000 MNIST test images
  (dense 784 features) and on digits.
- the grid's per-cell methods (``benchmarks/grid.py``'s ``run_method``: LR,
  Softmax, each sknoisy method's own base, CleanLearning when cleanlab is
  installed, RDIA, AGRA, Prune4ReL, ALC with its oracle) on a digits cell
  (uniform 40 % noise, seed 0) and on WRENCH YouTube; these are also the
  ``rdia``, ``prune4rel`` (its re-labeling model, DivideMixLite) and ``alc``
  benchmarks' estimators at their defaults.
- ``DivideMixLiteClassifier()`` on standardised digits with 40 % noise, as the
  re-labeling model of ``benchmarks/prune4rel.py``.
- the demo: ``sknoisy.demo.run`` at one noise rate (every estimator on
  breast-cancer, digits and YouTube).

``--quick`` runs a subset (AGRA on TREC for 3 epochs, digits; no demo, whose
estimators are the grid's), written to ``results/threads_quick.md``.

Run: ``SKNOISY_DATA=/work/shared/data python benchmarks/threads.py``
(about 10 minutes on 2 shared cores), written to ``results/threads.md``.
Data sets whose files are missing are skipped with a note.
"""

import argparse
import io
import os
import time
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

import agra as agra_bench
import grid as grid_bench
import numpy as np
import torch
from _report import Report, markdown_table
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sknoisy import AGRAClassifier, DivideMixLiteClassifier
from sknoisy.datasets import load_mnist
from sknoisy.exceptions import CorrectionFallbackWarning
from sknoisy.linear_model import SoftmaxRegression
from sknoisy.noise import make_label_noise

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET = 1.2
HEADERS = ["benchmark", "workload", "default s", "one thread s", "default / one"]


@contextmanager
def one_thread():
    """Every BLAS and OpenMP pool, and torch, held to one thread."""
    restore = torch.get_num_threads()
    with threadpool_limits(limits=1):
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(restore)


def best_times(fn, repeats):
    """Best seconds of ``fn`` at default threads and at one, interleaved."""
    settings = {"default": nullcontext, "one": one_thread}
    for context in settings.values():  # warm-up: imports, caches, allocations
        with context():
            fn()
    times = {name: [] for name in settings}
    for round_ in range(repeats):
        order = list(settings) if round_ % 2 == 0 else list(settings)[::-1]
        for name in order:
            with settings[name]():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return min(times["default"]), min(times["one"])


# -------------------------------------------------------------- workloads
def agra_workloads(quick, notes):
    """AGRA and its plain model in the paper's configurations (agra.py)."""
    epochs = 3 if quick else 10
    names = ("trec",) if quick else ("trec", "youtube")
    for name in names:
        ds = agra_bench.load_tfidf(name, notes)
        if ds is None:
            continue
        _, _, _, comp_loss, weighted = agra_bench.PAPER_CONFIG[name]
        X, y = ds["X_train"], ds["y_train"]
        plain = agra_bench.base_model(name, 0, max_epochs=epochs)
        agra = AGRAClassifier(
            agra_bench.base_model(name, max_epochs=epochs),
            comp_loss=comp_loss,
            class_weighted_sampling=weighted,
            random_state=0,
            **agra_bench.PAPER_SETTINGS,
        )
        shape = f"CSR {X.shape[0]}x{X.shape[1]}, {epochs} epochs"
        yield (
            "agra",
            f"AGRA, {name} paper config ({shape})",
            lambda agra=agra, X=X, y=y: agra.fit(X, y),
        )
        yield (
            "agra",
            f"plain SoftmaxRegression, {name} config ({shape})",
            lambda plain=plain, X=X, y=y: plain.fit(X, y),
        )
    if quick:
        return
    sms = agra_bench.load_tfidf("sms", notes)
    if sms is None:
        return
    X, y, net = agra_bench.sms_mlp_problem(sms)
    agra_net = AGRAClassifier(
        net, comp_loss="ce", random_state=0, **agra_bench.PAPER_SETTINGS
    )

    def plain_net(net=net):
        torch.manual_seed(0)
        net.fit(X, y)

    label = f"sms SVD-100 (dense {X.shape[0]}x100, batch 32, 10 epochs)"
    yield "agra", f"AGRA, skorch MLP 100-64-2, {label}", lambda: agra_net.fit(X, y)
    yield "agra", f"plain skorch MLP 100-64-2, {label}", plain_net


def softmax_workloads(quick, notes):
    """``SoftmaxRegression()`` at its defaults on dense images."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    model = SoftmaxRegression(random_state=0)
    yield (
        "softmax_regression",
        f"SoftmaxRegression(), digits (dense {X.shape[0]}x{X.shape[1]})",
        lambda: model.fit(X, y),
    )
    if quick:
        return
    try:
        X_mnist, y_mnist = load_mnist("test", download_if_missing=False)
    except FileNotFoundError as exc:
        notes.append(f"MNIST skipped: {exc}")
        return
    X_mnist = X_mnist[:3000].astype(np.float64) / 255.0
    y_mnist = y_mnist[:3000]
    yield (
        "softmax_regression",
        f"SoftmaxRegression(), MNIST (dense {X_mnist.shape[0]}x784)",
        lambda: model.fit(X_mnist, y_mnist),
    )


def grid_workloads(quick, notes):
    """The grid's per-cell methods, each fitted as ``grid.py`` fits it."""
    cells = []
    X, y = load_digits(return_X_y=True)
    cells.append(
        (
            "digits uniform 40 %",
            grid_bench.gold_cell(X / 16.0, y, "digits", "uniform", 0.4, 0),
        )
    )
    if not quick:
        source = grid_bench.load_source("youtube", 0, notes)
        if source is not None:
            cells.append(("youtube", source[1]))
    methods = list(grid_bench.METHODS)
    try:
        import cleanlab  # noqa: F401
    except ImportError:
        methods.remove("CleanLearning")
        notes.append("CleanLearning skipped: cleanlab is not installed.")
    for cell_name, cell in cells:
        n_classes = len(np.unique(cell["y_test"]))
        for method in methods:
            yield (
                "grid",
                f"grid {method}, {cell_name}",
                lambda m=method, c=cell, k=n_classes: grid_bench.run_method(m, c, 0, k),
            )


def divide_mix_workloads(quick, notes):
    """DivideMixLite, the re-labeling model of prune4rel.py."""
    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    X_train = StandardScaler().fit_transform(X_train)
    y_noisy = make_label_noise(y_train, 0.4, random_state=0)
    model = DivideMixLiteClassifier(random_state=0)
    yield (
        "prune4rel",
        f"DivideMixLiteClassifier(), standardised digits ({len(y_train)} rows, 40 %)",
        lambda: model.fit(X_train, y_noisy),
    )


def demo_workloads(quick, notes):
    """The demo's whole run at one noise rate, its output discarded."""
    if quick:  # its estimators are the grid's, on the same data sets
        return
    from sknoisy import demo

    def run_demo():
        # Without the data the demo skips YouTube (and says so).
        demo.run(
            [0.4], ["uniform"], os.environ.get("SKNOISY_DATA"), 0, stream=io.StringIO()
        )

    yield "demo", "demo run, 40 % uniform (breast-cancer, digits, YouTube)", run_demo


WORKLOADS = (
    agra_workloads,
    softmax_workloads,
    divide_mix_workloads,
    grid_workloads,
    demo_workloads,
)


# --------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved rounds (default 3)"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="TEXT",
        help="run only the workloads whose label contains one of these texts",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="markdown file to write"
    )
    args = parser.parse_args()
    output = args.output or RESULTS_DIR / (
        "threads_quick.md" if args.quick else "threads.md"
    )
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", category=CorrectionFallbackWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    started = time.perf_counter()
    report = Report.start("BLAS and torch threads: default against one", args.quick)
    notes, rows, misses = [], [], []
    for make in WORKLOADS:
        for bench, label, fn in make(args.quick, notes):
            if args.only and not any(text in label for text in args.only):
                continue
            default, one = best_times(fn, args.repeats)
            ratio = default / one
            if ratio > TARGET:
                misses.append(label)
            rows.append(
                [
                    bench,
                    label,
                    f"{default:.3f}",
                    f"{one:.3f}",
                    f"**{ratio:.2f}**" if ratio > TARGET else f"{ratio:.2f}",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
            # The rows so far, so that a run stopped early leaves its figures.
            partial = [*report.parts, markdown_table(HEADERS, rows), "(unfinished)"]
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text("\n\n".join(partial) + "\n", encoding="utf-8")
    report.add(
        "## Default threads against one thread\n\n"
        "Best of "
        f"{args.repeats} interleaved rounds after a warm-up in each setting, "
        "in one process; 'one thread' holds every BLAS and OpenMP pool "
        "(`threadpool_limits(limits=1)`) and torch (`torch.set_num_threads(1)`) "
        "to one thread, 'default' leaves them as the process starts. The "
        "machine may be shared: other jobs load it, which the interleaving "
        "spreads over both columns.\n\n"
        + markdown_table(HEADERS, rows)
        + f"\n\nTarget: default / one ≤ {TARGET:g} for every workload: "
        + (
            f"missed by {len(misses)} ({', '.join(misses)})."
            if misses
            else "met by all."
        )
    )
    if notes:
        report.add("## Notes\n\n" + "\n".join(f"- {note}" for note in notes))
    report.add(
        f"Total wall time (after imports): {time.perf_counter() - started:.0f} s."
    )
    report.write(output)


if __name__ == "__main__":
    main()
