"""Common grid: the four sknoisy estimators against plain models and cleanlab.

Every method runs with its default settings on the same cells:

- data sets with gold labels (breast-cancer standardised, digits / 16, the
  MNIST test images / 255), split 70/30 into train and test per seed, with
  synthetic noise from :func:`sknoisy.noise.make_label_noise`, uniform and
  pair at 20 and 40 % (pair only for more than two classes: with two
  classes it is the same noise model as uniform);
- WRENCH YouTube, SMS and TREC (TF-IDF fitted on the training texts), whose
  training labels are the majority vote of the labelling functions and
  whose test labels are gold.

The trusted rule: 10 % of the training rows (stratified, drawn before the
noise) keep their clean labels; WRENCH uses its gold ``valid`` split
instead. Every method trains on the same rows, the noisy rest plus those
rows with their clean labels; the sknoisy estimators are told which rows
are trusted through the ``trusted`` mask, as a user would. ALC's annotator
answers the gold labels of the training rows.

Each sknoisy method is compared with **its own plain base model** (the
model it wraps, with its default settings, fitted plainly on the same rows)
and with cleanlab's ``CleanLearning``: the report gives, per method, the
share of (data set, noise, seed) cells at or above each, the mean gap per
data set, how often the do-no-harm check fell back, and how well the
method's per-sample scores (``noise_score_``) find the wrong labels (ROC
AUC against the true flips), beside cleanlab's label-quality scores.

Metrics on the gold test labels: accuracy, the F1 of class 1 for two-class
data sets (AGRA's metric on SMS), the log-loss for methods with
``predict_proba`` (RDIA's metric), and the fit's wall time, mean ± std over
seeds. Threads are left at their defaults (with ``--jobs``, joblib gives
each worker process its share of the cores).

Run: ``SKNOISY_DATA=/path/to/data python benchmarks/grid.py`` (2 seeds and a
3,000-image MNIST subsample, about 10 minutes with ``--jobs 2`` on 2 cores;
written to
``results/grid.md`` and ``results/grid.png``) or with
``--quick`` (1 seed, uniform 40 % noise, a 2,000-image MNIST subsample,
WRENCH YouTube only, written to ``results/grid_quick.md`` /
``grid_quick.png``, which git ignores).
``--seeds`` and ``--mnist-rows`` override the defaults; ``--datasets`` and
``--methods`` select a subset. Data sets whose files are missing are skipped
with a note; cleanlab is skipped with a note when it is not installed.
``--replot`` redraws ``results/grid.png`` from the accuracy tables of
``results/grid.md`` (``--quick``: the quick files) without fitting anything.
"""

import argparse
import inspect
import re
import statistics
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
from _report import Report, markdown_table
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknoisy import (
    AGRAClassifier,
    Prune4ReLSelector,
    RDIARelabeler,
    RobustActiveLabelCorrector,
    SoftmaxRegression,
)
from sknoisy.datasets import load_mnist, load_wrench
from sknoisy.exceptions import CorrectionFallbackWarning
from sknoisy.noise import make_label_noise
from sknoisy.utils._meta import seed_estimator

RESULTS_DIR = Path(__file__).resolve().parent / "results"

GOLD_DATASETS = ("breast-cancer", "digits", "mnist")
WRENCH_DATASETS = ("youtube", "sms", "trec")
DATASETS = GOLD_DATASETS + WRENCH_DATASETS
NOISES = (("uniform", 0.2), ("uniform", 0.4), ("pair", 0.2), ("pair", 0.4))
QUICK_NOISES = (("uniform", 0.4),)
# ALC's default session with trusted rows takes 40-60 s of CPU on SMS and TREC.
QUICK_DATASETS = ("breast-cancer", "digits", "mnist", "youtube")
VALIDATION_SHARE = 0.1
TEST_SHARE = 0.3

SKNOISY_METHODS = ("RDIA", "AGRA", "Prune4ReL", "ALC")
# Each method's own plain base: the model it wraps, fitted plainly.
BASE_OF = {method: f"{method} base" for method in SKNOISY_METHODS}
PLAIN_METHODS = ("LR", "Softmax", *BASE_OF.values())
METHODS = (*PLAIN_METHODS, "CleanLearning", *SKNOISY_METHODS)
# Columns of the README summary: each method beside its own base.
SUMMARY_METHODS = (
    "LR",
    "CleanLearning",
    *(name for method in SKNOISY_METHODS for name in (BASE_OF[method], method)),
)
METHOD_NOTES = {
    "LR": "`LogisticRegression(max_iter=1000)`: the base of CleanLearning",
    "Softmax": "`SoftmaxRegression()` defaults",
    "CleanLearning": "`cleanlab.classification.CleanLearning(LogisticRegression"
    "(max_iter=1000))`",
    "RDIA": "`RDIARelabeler()`, told the trusted rows",
    "AGRA": "`AGRAClassifier()`, told the trusted rows",
    "Prune4ReL": "`Prune4ReLSelector()`, told the trusted rows",
    "ALC": "`RobustActiveLabelCorrector()` (default budget), told the trusted "
    "rows, with an annotator answering the gold labels",
}
ESTIMATORS = {
    "RDIA": RDIARelabeler,
    "AGRA": AGRAClassifier,
    "Prune4ReL": Prune4ReLSelector,
    "ALC": RobustActiveLabelCorrector,
}


# ------------------------------------------------------------------- data
def load_source(name, mnist_rows, notes):
    """The data set as ``("gold", X, y)`` or ``("wrench", splits)``; None if absent."""
    if name == "breast-cancer":
        X, y = load_breast_cancer(return_X_y=True)
        return "gold", X, y
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return "gold", X / 16.0, y
    if name == "mnist":
        try:
            X, y = load_mnist("test", download_if_missing=False)
        except FileNotFoundError as exc:
            notes.append(f"MNIST skipped: {exc}")
            print(f"note: MNIST skipped ({exc})", flush=True)
            return None
        if mnist_rows < len(y):
            keep, _ = train_test_split(
                np.arange(len(y)), train_size=mnist_rows, stratify=y, random_state=0
            )
            X, y = X[np.sort(keep)], y[np.sort(keep)]
        return "gold", X.astype(np.float64) / 255.0, y
    try:
        data = load_wrench(name, download_if_missing=False)
    except FileNotFoundError as exc:
        notes.append(f"WRENCH {name} skipped: {exc}")
        print(f"note: WRENCH {name} skipped ({exc})", flush=True)
        return None
    vectorizer = TfidfVectorizer().fit(data.train.data)
    return "wrench", {
        "X_train": vectorizer.transform(data.train.data),
        "y_train": data.train.target_noisy,
        "y_train_gold": data.train.target,
        "X_val": vectorizer.transform(data.valid.data),
        "y_val": data.valid.target,
        "X_test": vectorizer.transform(data.test.data),
        "y_test": data.test.target,
    }


def gold_cell(X, y, name, kind, rate, seed):
    """Split, scale, carve the clean validation rows, then corrupt the rest."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SHARE, stratify=y, random_state=seed
    )
    if name == "breast-cancer":
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    X_rest, X_val, y_rest, y_val = train_test_split(
        X_train,
        y_train,
        test_size=VALIDATION_SHARE,
        stratify=y_train,
        random_state=seed,
    )
    y_noisy = make_label_noise(y_rest, rate, kind=kind, random_state=seed)
    return {
        "X_train": X_rest,
        "y_train": y_noisy,
        "y_train_gold": y_rest,
        "X_val": X_val,
        "y_val": y_val,
        "X_test": X_test,
        "y_test": y_test,
    }


def stack(a, b):
    from scipy import sparse

    return (
        sparse.vstack([a, b], format="csr") if sparse.issparse(a) else np.vstack([a, b])
    )


# ---------------------------------------------------------------- methods
def own_base(method, n_classes):
    """The plain model ``method`` wraps by default, as its fallback fits it."""
    estimator = ESTIMATORS[method]()
    if estimator.estimator is not None:
        return clone(estimator.estimator)
    default = estimator._make_default_estimator
    if "n_classes" in inspect.signature(default).parameters:
        return default(n_classes=n_classes)
    return default()


def method_note(method):
    """The Setup section's line on ``method``: what exactly was fitted."""
    if method not in BASE_OF.values():
        return METHOD_NOTES[method]
    wrapper = method[: -len(" base")]
    model = own_base(wrapper, n_classes=2)
    shown = " ".join(repr(model).split())
    lr = model.get_params().get("lr")
    # The repr leaves defaults out; the learning rate is the one readers ask.
    detail = f" (learning rate {lr:g})" if isinstance(lr, float) else ""
    return (
        f"`{shown}`{detail}, {wrapper}'s default base model (`estimator=None`), "
        "fitted plainly on the same rows"
    )


def make_method(method, seed, n_classes):
    """The unfitted estimator of ``method``."""
    if method == "LR":
        return LogisticRegression(max_iter=1000)
    if method == "Softmax":
        return SoftmaxRegression(random_state=seed)
    if method in SKNOISY_METHODS:
        return ESTIMATORS[method](random_state=seed)
    if method.endswith(" base"):
        return seed_estimator(own_base(method[: -len(" base")], n_classes), seed)
    if method == "CleanLearning":
        from cleanlab.classification import CleanLearning

        # n_jobs=1: cleanlab's own process pool breaks inside --jobs workers.
        return CleanLearning(
            LogisticRegression(max_iter=1000),
            seed=seed,
            verbose=False,
            find_label_issues_kwargs={"n_jobs": 1},
        )
    raise ValueError(method)


def run_method(method, cell, seed, n_classes):
    """Fit ``method`` on the cell; return its test metrics and fit time."""
    model = make_method(method, seed, n_classes)
    n_noisy, n_trusted = len(cell["y_train"]), len(cell["y_val"])
    X = stack(cell["X_train"], cell["X_val"])
    y = np.concatenate([cell["y_train"], cell["y_val"]])
    fit_args = {}
    if method in SKNOISY_METHODS:
        fit_args["trusted"] = np.r_[np.zeros(n_noisy, bool), np.ones(n_trusted, bool)]
    if method == "ALC":
        gold = np.concatenate([cell["y_train_gold"], cell["y_val"]])
        fit_args["annotator"] = lambda indices: gold[indices]
    start, cpu_start = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y, **fit_args)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    y_test = cell["y_test"]
    pred = model.predict(cell["X_test"])
    out = {
        "accuracy": 100.0 * accuracy_score(y_test, pred),
        "time": seconds,
        "cpu": cpu_seconds,
    }
    flipped = cell["y_train"] != cell["y_train_gold"]
    scores = noise_scores(method, model, n_noisy)
    if scores is not None and 0 < flipped.sum() < n_noisy:
        finite = np.isfinite(scores)
        out["auc"] = 100.0 * roc_auc_score(flipped[finite], scores[finite])
    if hasattr(model, "fallback_"):
        out["fallback"] = bool(model.fallback_)
    if n_classes == 2:
        out["f1"] = 100.0 * f1_score(y_test, pred)
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(cell["X_test"])
        out["log_loss"] = log_loss(y_test, proba, labels=np.arange(n_classes))
    return out


def noise_scores(method, model, n_noisy):
    """Per-sample scores of the noisy rows, larger = more likely mislabelled."""
    if method == "CleanLearning":
        quality = model.label_issues_df["label_quality"].to_numpy()
        return 1.0 - quality[:n_noisy]
    scores = getattr(model, "noise_score_", None)
    return None if scores is None else np.asarray(scores, dtype=float)[:n_noisy]


# ---------------------------------------------------------------- reports
def mean_std(values):
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.mean(values), std


def fmt(values, digits=1):
    if not values:
        return "-"
    mean, std = mean_std(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def cell_label(kind, rate):
    return "MV labels" if kind is None else f"{kind} {rate:.0%}"


def cell_table(results, methods, binary):
    headers = ["Method", "Accuracy (%)"]
    headers += ["F1 class 1 (%)"] if binary else []
    headers += ["Log-loss", "Detection AUC (%)", "Fell back", "Fit wall (s)"]
    headers += ["Fit CPU (s)"]
    rows = []
    for method in methods:
        runs = results.get(method, [])
        if not runs:
            continue
        row = [method, fmt([r["accuracy"] for r in runs])]
        if binary:
            row.append(fmt([r["f1"] for r in runs]))
        losses = [r["log_loss"] for r in runs if "log_loss" in r]
        row += [fmt(losses, 3), fmt([r["auc"] for r in runs if "auc" in r])]
        falls = [r["fallback"] for r in runs if "fallback" in r]
        row.append(f"{sum(falls)}/{len(falls)}" if falls else "-")
        row += [fmt([r["time"] for r in runs], 2)]
        row.append(fmt([r["cpu"] for r in runs], 2))
        rows.append(row)
    return markdown_table(headers, rows)


def seed_means(all_results, key, method):
    """Mean accuracy of ``method`` in cell ``key`` over its seeds, or None."""
    runs = all_results[key].get(method)
    return statistics.mean(r["accuracy"] for r in runs) if runs else None


def summary_table(all_results, datasets, methods=SUMMARY_METHODS):
    """Mean test accuracy over each data set's cells (seed means averaged)."""
    methods = [m for m in methods if any(all_results[k].get(m) for k in all_results)]
    headers = ["Data set", "cells", *methods, "best sknoisy vs CleanLearning"]
    rows = []
    for name in datasets:
        cells = [key for key in all_results if key[0] == name]
        if not cells:
            continue
        row, means = [name, str(len(cells))], {}
        for method in methods:
            values = [seed_means(all_results, key, method) for key in cells]
            if all(v is not None for v in values):
                means[method] = statistics.mean(values)
                row.append(f"{means[method]:.1f}")
            else:
                row.append("-")
        ours = [means[m] for m in SKNOISY_METHODS if m in means]
        if ours and "CleanLearning" in means:
            row.append(f"{max(ours) - means['CleanLearning']:+.1f}")
        else:
            row.append("-")
        rows.append(row)
    return markdown_table(headers, rows)


def paired(all_results, method, reference):
    """``(dataset, method accuracy, reference accuracy)`` per (cell, seed)."""
    pairs = []
    for key, results in all_results.items():
        ref = {r["seed"]: r["accuracy"] for r in results.get(reference, [])}
        for run in results.get(method, []):
            if run["seed"] in ref:
                pairs.append((key[0], run["accuracy"], ref[run["seed"]]))
    return pairs


def harm_table(all_results, datasets):
    """Per method: how often it is at or above its own base and CleanLearning."""
    headers = [
        "Method",
        "cells ≥ own base",
        "cells ≥ CleanLearning",
        "worst data-set mean gap to own base (points)",
        "fell back",
    ]
    rows = []
    for method in SKNOISY_METHODS:
        base_pairs = paired(all_results, method, BASE_OF[method])
        if not base_pairs:
            continue
        clean_pairs = paired(all_results, method, "CleanLearning")
        gaps = []
        for name in datasets:
            diffs = [a - b for d, a, b in base_pairs if d == name]
            if diffs:
                gaps.append((statistics.mean(diffs), name))
        worst, worst_name = min(gaps)
        falls = [
            r["fallback"]
            for results in all_results.values()
            for r in results.get(method, [])
            if "fallback" in r
        ]
        rows.append(
            [
                method,
                share(sum(a >= b for _, a, b in base_pairs), len(base_pairs)),
                share(sum(a >= b for _, a, b in clean_pairs), len(clean_pairs)),
                f"{worst:+.1f} ({worst_name})",
                f"{sum(falls)}/{len(falls)}" if falls else "-",
            ]
        )
    return markdown_table(headers, rows)


def share(hits, total):
    return f"{hits}/{total} ({100.0 * hits / total:.0f} %)" if total else "-"


def auc_table(all_results, datasets):
    """Mean detection AUC (%) of the per-sample scores per data set."""
    methods = ["CleanLearning", *SKNOISY_METHODS]
    headers = ["Data set", *methods]
    rows = []
    for name in datasets:
        cells = [key for key in all_results if key[0] == name]
        if not cells:
            continue
        row = [name]
        for method in methods:
            aucs = [
                r["auc"]
                for key in cells
                for r in all_results[key].get(method, [])
                if "auc" in r
            ]
            row.append(f"{statistics.mean(aucs):.1f}" if aucs else "-")
        rows.append(row)
    return markdown_table(headers, rows)


# ------------------------------------------------------------------- plot
# Each sknoisy method is drawn beside its own base, in a dark and a light
# shade of one hue; the references in neutral colours.
PLOT_ORDER = (
    "LR",
    "Softmax",
    "CleanLearning",
    *(name for method in SKNOISY_METHODS for name in (BASE_OF[method], method)),
)
# The docs show the figure about 900 px wide: at 10 inches, 11-point text is
# about 14 px high there (and 11 px in a 700 px column).
FIGURE_WIDTH_IN = 10.0
PANEL_HEIGHT_IN = 3.3
PLOT_STYLE = {
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
}


def accuracy_summary(all_results):
    """``{cell: {method: (mean, std)}}`` of the test accuracy over the seeds."""
    summary = {}
    for key, per_method in all_results.items():
        summary[key] = {}
        for method, runs in per_method.items():
            accs = [r["accuracy"] for r in runs]
            if accs:
                std = statistics.stdev(accs) if len(accs) > 1 else 0.0
                summary[key][method] = (statistics.mean(accs), std)
    return summary


_CELL_HEADING = re.compile(
    r"^## (?P<name>[^,\n]+), (?P<label>MV labels|\w+ \d+%)$", re.MULTILINE
)
_MEAN_STD = re.compile(r"^(-?\d+(?:\.\d+)?) ± (\d+(?:\.\d+)?)$")


def accuracy_from_report(text):
    """The :func:`accuracy_summary` of a report this script wrote.

    Reads the "Accuracy (%)" column of every cell's table, so that the plot
    can be redrawn without fitting anything (``--replot``); the values carry
    the report's rounding (0.1 point).
    """
    summary = {}
    headings = list(_CELL_HEADING.finditer(text))
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        label = heading["label"]
        if label == "MV labels":
            kind, rate = None, None
        else:
            kind, percent = label.split()
            rate = int(percent.rstrip("%")) / 100
        cell = summary.setdefault((heading["name"], kind, rate), {})
        body = text[heading.end() : following.start() if following else len(text)]
        for line in body.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            match = _MEAN_STD.match(cells[1]) if len(cells) > 1 else None
            if line.startswith("|") and match:
                cell[cells[0]] = (float(match[1]), float(match[2]))
    return summary


def _method_colors(methods, plt):
    paired = plt.get_cmap("tab20").colors  # (dark, light) pairs of a hue
    colors = {"LR": paired[15], "Softmax": paired[11], "CleanLearning": paired[8]}
    for i, method in enumerate(SKNOISY_METHODS):
        colors[method], colors[BASE_OF[method]] = paired[2 * i], paired[2 * i + 1]
    return [colors.get(method, paired[14]) for method in methods]


def plot(summary, datasets, methods, path, notes):
    """Bar chart of the mean test accuracy (± std) per data set and cell.

    ``summary`` is :func:`accuracy_summary`'s; returns whether a plot was
    written.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        notes.append("No plot: matplotlib is not installed.")
        return False
    shown = [name for name in datasets if any(k[0] == name for k in summary)]
    methods = [m for m in PLOT_ORDER if m in methods] + [
        m for m in methods if m not in PLOT_ORDER
    ]
    methods = [m for m in methods if any(m in cell for cell in summary.values())]
    if not shown or not methods:
        return False
    ncols = min(2, len(shown))
    nrows = -(-len(shown) // ncols)
    legend_cols = min(4, len(methods))
    legend_height = 0.26 * -(-len(methods) // legend_cols) + 0.1
    height = PANEL_HEIGHT_IN * nrows + legend_height
    colors = _method_colors(methods, plt)
    with plt.rc_context(PLOT_STYLE):
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(FIGURE_WIDTH_IN, height), squeeze=False
        )
        for i, (ax, name) in enumerate(zip(axes.flat, shown, strict=False)):
            keys = [k for k in summary if k[0] == name]
            width = 0.8 / len(methods)
            for m, method in enumerate(methods):
                means = [summary[key].get(method, (np.nan, 0.0))[0] for key in keys]
                stds = [summary[key].get(method, (np.nan, 0.0))[1] for key in keys]
                x = np.arange(len(keys)) + (m - (len(methods) - 1) / 2) * width
                ax.bar(
                    x,
                    means,
                    width,
                    yerr=stds,
                    label=method,
                    color=colors[m],
                    capsize=1.5,
                    error_kw={"elinewidth": 0.8},
                )
            # Two lines per cell: four cells side by side stay readable.
            ticks = [
                cell_label(*k[1:]) if k[1] is None else f"{k[1]}\n{k[2]:.0%}"
                for k in keys
            ]
            ax.set_xticks(np.arange(len(keys)), ticks)
            ax.set_title(name)
            if i % ncols == 0:
                ax.set_ylabel("test accuracy (%)")
            lowest = min(mean for key in keys for mean, _ in summary[key].values())
            ax.set_ylim(max(0.0, lowest - 10.0), 100.0)
            ax.grid(axis="y", alpha=0.3)
        for ax in list(axes.flat)[len(shown) :]:
            ax.axis("off")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=legend_cols, frameon=False)
        fig.tight_layout(rect=(0, legend_height / height, 1, 1))
        fig.savefig(path, dpi=150)
        plt.close(fig)
    return True


def replot(report_path, png_path, methods=METHODS):
    """Redraw the plot of a written report from its tables, fitting nothing."""
    summary = accuracy_from_report(report_path.read_text(encoding="utf-8"))
    datasets = list(dict.fromkeys(key[0] for key in summary))
    notes = []
    if not plot(summary, datasets, list(methods), png_path, notes):
        sys.exit(f"No plot from {report_path}: {' '.join(notes) or 'no cell tables'}")
    print(f"Plot written to {png_path}", flush=True)


# ------------------------------------------------------------------- main
def run_unit(source, key, c, n_cells, seed, methods, started):
    """Every method on one (cell, seed): ``([(method, metrics)], failures)``."""
    name, kind, rate = key
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", category=CorrectionFallbackWarning)
    if source[0] == "wrench":
        cell = source[1]
    else:
        cell = gold_cell(source[1], source[2], name, kind, rate, seed)
    n_classes = len(np.unique(cell["y_test"]))
    runs, failures = [], []
    for method in methods:
        prefix = (
            f"[cell {c}/{n_cells}] {name} {cell_label(kind, rate)} seed {seed} {method}"
        )
        try:
            out = run_method(method, cell, seed, n_classes)
        except Exception:
            trace = traceback.format_exc()
            failures.append((name, cell_label(kind, rate), seed, method, trace))
            print(f"{prefix}: FAILED\n{trace}", flush=True)
            continue
        out["seed"] = seed
        runs.append((method, out))
        print(
            f"{prefix}: accuracy {out['accuracy']:.1f} %, "
            f"{out['time']:.2f} s wall, {out['cpu']:.2f} s CPU  (elapsed "
            f"{time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    return runs, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--seeds", type=int, help="number of seeds (2; quick 1)")
    parser.add_argument(
        "--mnist-rows", type=int, help="MNIST test images used (3000; quick 2000)"
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASETS,
        help="data sets (default: all; quick: all but SMS and TREC)",
    )
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="(cell, seed) units run in parallel processes (default 1); joblib "
        "gives each process its share of the cores' threads",
    )
    parser.add_argument(
        "--replot",
        action="store_true",
        help="redraw results/grid.png from the accuracy tables of results/grid.md "
        "(with --quick: the quick files) without fitting anything",
    )
    args = parser.parse_args()
    stem = "grid_quick" if args.quick else "grid"
    if args.replot:
        replot(RESULTS_DIR / f"{stem}.md", RESULTS_DIR / f"{stem}.png", args.methods)
        return
    n_seeds = args.seeds or (1 if args.quick else 2)
    mnist_rows = args.mnist_rows or (2_000 if args.quick else 3_000)
    noises = QUICK_NOISES if args.quick else NOISES
    datasets = args.datasets or list(QUICK_DATASETS if args.quick else DATASETS)
    started = time.perf_counter()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    # The fallback warnings are counted in the report instead.
    warnings.filterwarnings("ignore", category=CorrectionFallbackWarning)

    notes, errors = [], []
    methods = list(args.methods)
    if "CleanLearning" in methods:
        try:
            import cleanlab  # noqa: F401
        except ImportError:
            methods.remove("CleanLearning")
            notes.append("CleanLearning skipped: cleanlab is not installed.")
            print("note: CleanLearning skipped (cleanlab not installed)", flush=True)

    sources = {}
    if args.quick and not args.datasets:
        notes.append(
            "Quick mode: 1 seed, uniform 40 % noise only, WRENCH SMS and TREC not "
            "run (ALC's default session alone takes 40-60 s of CPU on each)."
        )
    for name in datasets:
        source = load_source(name, mnist_rows, notes)
        if source is not None:
            sources[name] = source
    cells = []
    for name, source in sources.items():
        if source[0] == "wrench":
            cells.append((name, None, None))
            continue
        n_classes = len(np.unique(source[2]))
        for kind, rate in noises:
            if kind == "pair" and n_classes == 2:
                continue
            cells.append((name, kind, rate))

    report = Report.start(
        "Common grid: sknoisy against plain models and cleanlab", args.quick
    )
    units = [
        (c, key, seed) for c, key in enumerate(cells, 1) for seed in range(n_seeds)
    ]
    # Each (cell, seed) unit runs every method in one process; with --jobs,
    # units run in parallel worker processes, among which joblib shares the
    # cores (it caps each worker's BLAS and OpenMP threads).
    outcomes = Parallel(n_jobs=args.jobs)(
        delayed(run_unit)(sources[key[0]], key, c, len(cells), seed, methods, started)
        for c, key, seed in units
    )
    all_results = {key: {method: [] for method in methods} for key in cells}
    for (_, key, _), (runs, failures) in zip(units, outcomes, strict=True):
        for method, out in runs:
            all_results[key][method].append(out)
        errors.extend(failures)

    report.add(
        "## Summary\n\n"
        "Mean test accuracy (%) over each data set's cells (noise settings; "
        f"{n_seeds} seed{'s' if n_seeds > 1 else ''} each); every method with "
        "its default settings, told the trusted rows, beside its own plain base "
        "model fitted on the same rows. LR is `LogisticRegression(max_iter=1000)`, "
        "the model CleanLearning wraps. The last column compares the best sknoisy "
        "method with CleanLearning. Regenerate with "
        "`SKNOISY_DATA=<data> python -m benchmarks run grid`.\n\n"
        + summary_table(all_results, list(sources))
    )
    report.add(
        "## Never worse than the model it wraps\n\n"
        "Per method, the (data set, noise, seed) cells where its test accuracy is "
        "at or above that of its own plain base model and of CleanLearning; the "
        "data set whose mean gap to the own base is the lowest; and how often the "
        "do-no-harm check returned the plain model.\n\n"
        + harm_table(all_results, list(sources))
    )
    report.add(
        "## Finding the wrong labels\n\n"
        "ROC AUC (%) of each method's per-sample score (`noise_score_`) on the "
        "noisy training rows against the true flips, beside cleanlab's "
        "label-quality scores (`1 - label_quality` of CleanLearning's "
        "`label_issues_df`); 50 is chance.\n\n" + auc_table(all_results, list(sources))
    )
    report.add(
        "## Setup\n\n"
        + "\n".join(
            [
                "- Data sets with gold labels (breast-cancer standardised on the "
                "training rows, digits / 16, MNIST test images / 255"
                + (
                    f", a stratified subsample of {mnist_rows}"
                    if mnist_rows < 10_000
                    else ""
                )
                + f"): a stratified {1 - TEST_SHARE:.0%}/{TEST_SHARE:.0%} train/test "
                "split per seed; synthetic noise (`make_label_noise`, seeded) on the "
                "training rows. Pair noise is not run on breast-cancer: with two "
                "classes it is the same noise model as uniform.",
                "- WRENCH YouTube, SMS, TREC: TF-IDF (`TfidfVectorizer()` fitted on "
                "the training texts); training labels are the majority vote of the "
                "labelling functions (`target_noisy`: 18.8, 31.9 and 48.2 % wrong), "
                "test labels are gold; seeds vary the models only.",
                f"- Trusted rule: {VALIDATION_SHARE:.0%} of the training rows, "
                "stratified and drawn before the noise, keep their clean labels "
                "(WRENCH: its gold `valid` split). Every method trains on the noisy "
                "rest plus these rows; the sknoisy methods are told which rows are "
                "trusted (`fit(X, y, trusted=mask)`).",
                "- Metrics on gold test labels: accuracy; F1 of class 1 for two-class "
                "data (AGRA's metric on SMS); log-loss where the fitted model has "
                "`predict_proba` (RDIA's metric); fit wall time. Mean ± std over "
                "seeds. Threads at their defaults (with `--jobs`, joblib gives each "
                "worker process its share of the cores); the wall time also shows "
                "the load of the shared machine.",
                "- Methods:",
                *(f"  - {m}: {method_note(m)}" for m in methods),
            ]
        )
    )
    for name in sources:
        keys = [k for k in all_results if k[0] == name]
        for key in keys:
            binary = "f1" in next(
                (runs[0] for runs in all_results[key].values() if runs), {}
            )
            report.add(
                f"## {name}, {cell_label(*key[1:])}\n\n"
                + cell_table(all_results[key], methods, binary)
            )
    png = RESULTS_DIR / f"{stem}.png"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    if plot(accuracy_summary(all_results), list(sources), methods, png, notes):
        report.add(f"![Test accuracy per method and cell]({png.name})")
        print(f"Plot written to {png}", flush=True)
    if errors:
        report.add(
            "## Failures\n\n"
            + "\n\n".join(
                f"{method} on {name} ({label}, seed {seed}):\n\n"
                f"```\n{trace.rstrip()}\n```"
                for name, label, seed, method, trace in errors
            )
        )
    if notes:
        report.add("## Notes\n\n" + "\n".join(f"- {note}" for note in notes))
    report.add(
        f"Total wall time (after imports): {time.perf_counter() - started:.0f} s."
    )
    report.write(RESULTS_DIR / f"{stem}.md")
    if errors:
        print(f"{len(errors)} fit(s) failed; see the Failures section.", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
