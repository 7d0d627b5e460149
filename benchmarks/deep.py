"""Deep parity: every method around a skorch network against the plain network.

What is measured, and why:

Issue 13 asks that each sknoisy method, at its default settings and wrapping
a skorch network, be at least as accurate as the plain network it wraps (in
90 % of the cells paired by seed) and better by 3 points or more on average
at 40 % uniform noise. This script measures exactly that, with no trusted
rows: a user who has only noisy labels.

- Data: the 10,000 MNIST *test* images (pixels / 255, float32), a fixed
  split: rows 0-7999 are the training rows, whose labels are corrupted by
  ``sknoisy.noise.make_label_noise(y, rate, kind=..., random_state=seed)``
  (an exact share ``rate`` of wrong labels), rows 8000-9999 the clean test
  rows.
- Networks (skorch ``NeuralNetClassifier``: cross-entropy, Adam lr 1e-3,
  batch 128, shuffled batches, no internal validation split): an MLP
  784-256-10 and a small CNN (3x3 convolutions 1->16->32, each followed by
  ReLU and 2x2 max-pooling, then a linear layer to 10 logits). Their epoch
  counts are long enough for the plain network to start fitting the wrong
  labels: at 40 % uniform noise (seed 0) the MLP's test accuracy peaks at
  93.6 % after 7 epochs and is near 84 % after 25; the CNN's peaks at 97.3 %
  after 8 and is near 94 % after 20 (the CNN fits almost no wrong label
  within 10 epochs, and a 30-epoch CNN makes ALC's default session, which
  retrains for ``max_epochs`` after each of its 16 rounds, cost over half
  an hour on a CPU core). The plain network's "memorised" note is the share
  of wrongly labelled training rows it predicts with their wrong label.
- Noise cells: uniform and pair noise at 20 and 40 % for every method;
  uniform 80 % for the plain network and RDIA-LS only (the paper's setting).
- Methods, each wrapping the *same* unfitted network (they clone it), at
  their defaults otherwise; every fit runs right after
  ``torch.manual_seed(seed)`` and every wrapper gets ``random_state=seed``,
  so seeds pair:

  - ``plain``: the network fitted on the noisy labels;
  - ``AGRA``: ``AGRAClassifier(net)``;
  - ``RDIA-LS``: ``RDIARelabeler(net, noise_rate=<true rate>)``;
  - ``ALC``: ``RobustActiveLabelCorrector(net, budget=2 % of the training
    rows)`` with an oracle annotator that answers the clean labels;
  - ``Prune4ReL``: ``Prune4ReLSelector(net, fraction=0.3)``, beside its own
    baselines at the same fraction and with the same network,
    ``strategy="uniform"`` (a random 30 %) and ``strategy="small_loss"``
    (the 30 % with the smallest loss under the warm-up network);
  - ``CleanLearning``: ``cleanlab.classification.CleanLearning(net)``
    (skipped with a note when cleanlab is not installed).

The report gives, per (model, noise, method), the test accuracy (mean and
sd over seeds), the paired difference to the plain network, the seeds at or
above it, how often the method's do-no-harm check returned the plain model
(``fallback_``), how well its per-row ``noise_score_`` finds the wrong
labels (ROC AUC; for Prune4ReL also the share of wrong labels among the kept
rows) and the fit time; a summary per method against the issue's goal; and
Prune4ReL against its baselines. A method that raises is reported
as ERR in its cell, with the message, and the run goes on.

Run: ``SKNOISY_DATA=/work/shared/data python benchmarks/deep.py --jobs 2``
(``results/deep.md``; 2 models x 5 noise cells x 3 seeds, hours on a CPU;
``--device cuda`` on a GPU). ``--quick``: the MLP only, 2,000 training rows,
1 seed, uniform 40 % and pair 20 %, 15 epochs, in ``results/deep_quick.md``
(git-ignored), about 2 minutes on one core. ``--models``, ``--seeds``,
``--epochs``, ``--noises``, ``--methods``, ``--train-rows`` and
``--fallback off`` (the raw methods: ``fallback=False`` where the parameter
exists) change the run.
"""

import argparse
import statistics
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import torch
from _report import Report, markdown_table
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from skorch import NeuralNetClassifier
from torch import nn

from sknoisy import (
    AGRAClassifier,
    Prune4ReLSelector,
    RDIARelabeler,
    RobustActiveLabelCorrector,
)
from sknoisy.datasets import load_mnist
from sknoisy.exceptions import CorrectionFallbackWarning, UncheckedCorrectionWarning
from sknoisy.noise import make_label_noise

RESULTS_DIR = Path(__file__).resolve().parent / "results"

N_TRAIN = 8_000  # rows 0..7999 train (noisy), 8000..9999 test (clean)
MODELS = ("mlp", "cnn")
DEFAULT_EPOCHS = {"mlp": 25, "cnn": 20}
QUICK_EPOCHS = 15
QUICK_TRAIN_ROWS = 2_000
NOISES = (
    ("uniform", 0.2),
    ("uniform", 0.4),
    ("pair", 0.2),
    ("pair", 0.4),
    ("uniform", 0.8),
)
QUICK_NOISES = (("uniform", 0.4), ("pair", 0.2))
# The 80 % cell is the RDIA-LS paper's; the other methods are not run there.
HIGH_NOISE = ("uniform", 0.8)
HIGH_NOISE_METHODS = ("plain", "RDIA-LS")
GOAL_CELL = ("uniform", 0.4)
GOAL_SHARE, GOAL_GAIN = 90.0, 3.0

MODEL_TITLES = {"mlp": "MLP", "cnn": "CNN"}
PLAIN = "plain"
P4R_BASELINES = {"P4R uniform": "uniform", "P4R SmallLoss": "small_loss"}
METHODS = (
    PLAIN,
    "AGRA",
    "RDIA-LS",
    "ALC",
    "Prune4ReL",
    "P4R selection",
    *P4R_BASELINES,
    "CleanLearning",
)
# The three selections compared at the same fraction, each without the
# do-no-harm check (which would hand every row to the network whenever the
# subset loses to it, hiding the selections themselves).
PRUNE4REL_METHODS = ("P4R selection", *P4R_BASELINES)
P4R_FRACTION = 0.3
ALC_BUDGET_SHARE = 0.02


# --------------------------------------------------------------- networks
class MLP(nn.Module):
    """784 -> 256 (ReLU) -> 10 logits."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, X):
        return self.out(torch.relu(self.hidden(X)))


class CNN(nn.Module):
    """Two 3x3 convolutions (16, 32 channels) with max-pooling, then 10 logits.

    The input is the flat 784-pixel row, reshaped here so that every method
    sees the same 2-d ``X`` as with the MLP; the last layer is a
    ``torch.nn.Linear``, whose input is the embedding that AGRA, Prune4ReL
    and ALC read.
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.out = nn.Linear(32 * 7 * 7, 10)

    def forward(self, X):
        X = X.reshape(-1, 1, 28, 28)
        X = nn.functional.max_pool2d(torch.relu(self.conv1(X)), 2)
        X = nn.functional.max_pool2d(torch.relu(self.conv2(X)), 2)
        return self.out(X.flatten(1))


MODULES = {"mlp": MLP, "cnn": CNN}


def make_net(model, max_epochs, device):
    """The unfitted skorch network every method of a unit wraps."""
    return NeuralNetClassifier(
        MODULES[model],
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        batch_size=128,
        max_epochs=max_epochs,
        iterator_train__shuffle=True,
        train_split=None,
        device=device,
        verbose=0,
    )


# ---------------------------------------------------------------- methods
def make_method(method, net, seed, noise_rate, n_train, fallback):
    """The unfitted estimator of ``method`` around ``net``.

    ``fallback="off"`` sets ``fallback=False`` where the estimator has the
    parameter, to see what the algorithm itself does.
    """
    if method == PLAIN:
        return clone(net)
    if method == "CleanLearning":
        from cleanlab.classification import CleanLearning

        # n_jobs=1: cleanlab's own process pool breaks inside --jobs workers.
        return CleanLearning(
            net, seed=seed, verbose=False, find_label_issues_kwargs={"n_jobs": 1}
        )
    if method == "AGRA":
        estimator = AGRAClassifier(net, random_state=seed)
    elif method == "RDIA-LS":
        estimator = RDIARelabeler(net, noise_rate=noise_rate, random_state=seed)
    elif method == "ALC":
        budget = max(1, round(ALC_BUDGET_SHARE * n_train))
        estimator = RobustActiveLabelCorrector(net, budget=budget, random_state=seed)
    elif method == "Prune4ReL":
        estimator = Prune4ReLSelector(net, fraction=P4R_FRACTION, random_state=seed)
    elif method in PRUNE4REL_METHODS:
        estimator = Prune4ReLSelector(
            net,
            strategy=P4R_BASELINES.get(method, "prune4rel"),
            fraction=P4R_FRACTION,
            random_state=seed,
            fallback=False,
        )
    else:
        raise ValueError(f"unknown method {method!r}")
    if fallback == "off" and "fallback" in estimator.get_params(deep=False):
        estimator.set_params(fallback=False)
    return estimator


def methods_for(kind, rate, methods):
    """The methods run in a noise cell (80 % uniform: plain and RDIA-LS)."""
    if (kind, rate) == HIGH_NOISE:
        return [m for m in methods if m in HIGH_NOISE_METHODS]
    return list(methods)


def short_error(exc):
    """``Type: first line of the message``, at most 120 characters."""
    message = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {message[0] if message else ''}".strip()
    return text if len(text) <= 120 else text[:117] + "..."


def diagnostics(estimator, method, flipped):
    """How well a fitted method told the wrong labels apart, where it says.

    ``auc``: ROC AUC (%) of its per-row ``noise_score_`` against the true
    flips (CleanLearning: ``1 - label_quality``); ``kept_wrong``: the share
    (%) of wrong labels among the rows a Prune4ReL strategy kept.
    """
    out = {}
    if method == "CleanLearning":
        scores = 1.0 - estimator.label_issues_df["label_quality"].to_numpy()
    else:
        scores = getattr(estimator, "noise_score_", None)
    if scores is not None and 0 < flipped.sum() < len(flipped):
        scores = np.asarray(scores, dtype=float)
        finite = np.isfinite(scores)
        out["auc"] = 100.0 * roc_auc_score(flipped[finite], scores[finite])
    kept = getattr(estimator, "sample_indices_", None)
    if method in PRUNE4REL_METHODS and kept is not None and len(kept):
        out["kept_wrong"] = 100.0 * np.mean(flipped[kept])
    return out


def run_unit(data, model, kind, rate, seed, methods, args, started):
    """Every method on one (model, noise cell, seed); returns the records.

    A record is a dict with the keys ``model, kind, rate, seed, method``
    and either ``accuracy`` (%), ``time`` (s), ``fallback`` (bool or None)
    and, for the plain network, ``memorised`` (%), or ``error`` (short
    message) and ``trace``.
    """
    if args.device == "cpu":
        torch.set_num_threads(1)
    # The fallback warnings are counted in the report instead.
    for category in (CorrectionFallbackWarning, UncheckedCorrectionWarning):
        warnings.filterwarnings("ignore", category=category)
    X_train, y_clean, X_test, y_test = data
    y_noisy = make_label_noise(y_clean, rate, kind=kind, random_state=seed)
    flipped = y_noisy != y_clean
    net = make_net(model, args.epochs[model], args.device)
    records = []
    for method in methods_for(kind, rate, methods):
        record = {
            "model": model,
            "kind": kind,
            "rate": rate,
            "seed": seed,
            "method": method,
        }
        label = f"[{model} {kind} {rate:.0%} seed {seed}] {method}"
        try:
            estimator = make_method(
                method, net, seed, rate, len(y_noisy), args.fallback
            )
            fit_params = {}
            if method == "ALC":
                # The oracle: the clean labels of the queried rows.
                fit_params["annotator"] = lambda indices: y_clean[indices]
            torch.manual_seed(seed)
            start = time.perf_counter()
            estimator.fit(X_train, y_noisy, **fit_params)
            record["time"] = time.perf_counter() - start
            record["accuracy"] = 100.0 * np.mean(estimator.predict(X_test) == y_test)
            fallback = getattr(estimator, "fallback_", None)
            record["fallback"] = None if fallback is None else bool(fallback)
            if method == PLAIN and flipped.any():
                fitted = estimator.predict(X_train[flipped]) == y_noisy[flipped]
                record["memorised"] = 100.0 * np.mean(fitted)
            record.update(diagnostics(estimator, method, flipped))
        except Exception as exc:  # report, go on with the next method
            record["error"] = short_error(exc)
            record["trace"] = traceback.format_exc()
            print(f"{label}: ERR {record['error']}", flush=True)
        else:
            print(
                f"{label}: accuracy {record['accuracy']:.2f} %, "
                f"{record['time']:.1f} s"
                + (" (fell back)" if record["fallback"] else "")
                + f"  (elapsed {time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        records.append(record)
    return records


# ---------------------------------------------------------------- reports
def cell_key(record):
    return record["model"], record["kind"], record["rate"]


def cell_label(kind, rate):
    return f"{kind} {rate:.0%}"


def paired_differences(records, method):
    """``{(model, kind, rate, seed): method - plain}`` over seeds where both ran."""
    plain = {
        (*cell_key(r), r["seed"]): r["accuracy"]
        for r in records
        if r["method"] == PLAIN and "accuracy" in r
    }
    out = {}
    for r in records:
        key = (*cell_key(r), r["seed"])
        if r["method"] == method and "accuracy" in r and key in plain:
            out[key] = r["accuracy"] - plain[key]
    return out


def fmt_mean_sd(values, digits=2):
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}"


def fmt_share(hits, total):
    return f"{hits}/{total} ({100.0 * hits / total:.0f} %)" if total else "-"


def fmt_fallbacks(runs):
    flags = [r["fallback"] for r in runs if r.get("fallback") is not None]
    return f"{sum(flags)}/{len(flags)}" if flags else "-"


def escape(text):
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def cell_table(records, methods):
    """One row per (model, noise, method): accuracy, gap to plain, time."""
    headers = [
        "Model",
        "Noise",
        "Method",
        "Accuracy (%)",
        "Δ plain (points)",
        "seeds ≥ plain",
        "Fell back",
        "Detection AUC (%)",
        "Fit (s)",
        "Notes",
    ]
    cells = list(dict.fromkeys(cell_key(r) for r in records))
    rows = []
    for cell in cells:
        for method in methods:
            runs = [r for r in records if cell_key(r) == cell and r["method"] == method]
            if not runs:
                continue
            ok = [r for r in runs if "accuracy" in r]
            errors = [r for r in runs if "error" in r]
            notes = []
            if method == PLAIN and any("memorised" in r for r in ok):
                memorised = statistics.mean(r["memorised"] for r in ok)
                notes.append(f"memorised {memorised:.0f} % of the wrong labels")
            if any("kept_wrong" in r for r in ok):
                kept_wrong = statistics.mean(r["kept_wrong"] for r in ok)
                notes.append(f"kept rows {kept_wrong:.1f} % wrong")
            if errors:
                messages = dict.fromkeys(r["error"] for r in errors)
                notes.append(
                    f"ERR in {len(errors)}/{len(runs)} seeds: " + "; ".join(messages)
                )
            diffs = {
                key: d
                for key, d in paired_differences(records, method).items()
                if key[:3] == cell
            }
            if method == PLAIN or not diffs:
                gap, wins = "-", "-"
            else:
                gap = f"{statistics.mean(diffs.values()):+.2f}"
                wins = f"{sum(d >= 0 for d in diffs.values())}/{len(diffs)}"
            rows.append(
                [
                    cell[0],
                    cell_label(*cell[1:]),
                    method,
                    fmt_mean_sd([r["accuracy"] for r in ok]) if ok else "ERR",
                    gap,
                    wins,
                    fmt_fallbacks(ok),
                    fmt_mean_sd([r["auc"] for r in ok if "auc" in r], 1),
                    f"{statistics.mean(r['time'] for r in ok):.1f}" if ok else "-",
                    escape(", ".join(notes)),
                ]
            )
    return markdown_table(headers, rows)


def summary_table(records, methods):
    """Per method: the issue's two criteria, fallbacks, errors and fit time."""
    headers = [
        "Method",
        "cells ≥ plain",
        "mean gain at uniform 40 % (points)",
        "goal met",
        "fell back",
        "ERR",
        "mean fit (s)",
    ]
    models = list(dict.fromkeys(r["model"] for r in records))
    rows = []
    for method in methods:
        if method == PLAIN:
            continue
        runs = [r for r in records if r["method"] == method]
        if not runs:
            continue
        diffs = paired_differences(records, method)
        hits = sum(d >= 0 for d in diffs.values())
        at_goal = {k: d for k, d in diffs.items() if k[1:3] == GOAL_CELL}
        if at_goal:
            gain = statistics.mean(at_goal.values())
            by_model = {m: [d for k, d in at_goal.items() if k[0] == m] for m in models}
            per_model = ", ".join(
                f"{m} {statistics.mean(d):+.2f}" for m, d in by_model.items() if d
            )
            gain_text = f"{gain:+.2f}" + (f" ({per_model})" if len(models) > 1 else "")
        else:
            gain, gain_text = None, "-"
        if diffs and gain is not None:
            met = 100.0 * hits / len(diffs) >= GOAL_SHARE and gain >= GOAL_GAIN
            goal = "yes" if met else "no"
        else:
            goal = "-"
        ok = [r for r in runs if "accuracy" in r]
        rows.append(
            [
                method,
                fmt_share(hits, len(diffs)),
                gain_text,
                goal,
                fmt_fallbacks(ok),
                f"{len(runs) - len(ok)}/{len(runs)}",
                f"{statistics.mean(r['time'] for r in ok):.1f}" if ok else "-",
            ]
        )
    return markdown_table(headers, rows)


def prune4rel_table(records):
    """Prune4ReL against a random and a small-loss subset of the same size."""
    names = list(PRUNE4REL_METHODS)
    headers = [
        "Model",
        "Noise",
        *(f"{n} (%)" for n in names),
        *(f"Prune4ReL - {n[4:]}" for n in P4R_BASELINES),
    ]

    def seed_means(runs):
        """Mean accuracy per method, over the seeds where all three ran."""
        by_method = {
            n: {r["seed"]: r["accuracy"] for r in runs if r["method"] == n}
            for n in names
        }
        seeds = set.intersection(*(set(v) for v in by_method.values()))
        if not seeds:
            return None
        return [statistics.mean(by_method[n][s] for s in seeds) for n in names]

    runs = [r for r in records if r["method"] in names and "accuracy" in r]
    rows = []
    cells = list(dict.fromkeys(cell_key(r) for r in runs))
    for cell in [*cells, None]:
        if cell is None:
            # Overall: every (cell, seed) where all three ran, equally weighted.
            means = [[], [], []]
            for c in cells:
                in_cell = [r for r in runs if cell_key(r) == c]
                seeds = set.intersection(
                    *({r["seed"] for r in in_cell if r["method"] == n} for n in names)
                )
                for i, n in enumerate(names):
                    means[i] += [
                        r["accuracy"]
                        for r in in_cell
                        if r["method"] == n and r["seed"] in seeds
                    ]
            if len(cells) < 2 or not means[0]:
                continue
            values = [statistics.mean(m) for m in means]
            label = ["all", f"{len(means[0])} (cell, seed)"]
        else:
            values = seed_means([r for r in runs if cell_key(r) == cell])
            if values is None:
                continue
            label = [cell[0], cell_label(*cell[1:])]
        rows.append(
            [
                *label,
                *(f"{v:.2f}" for v in values),
                *(f"{values[0] - v:+.2f}" for v in values[1:]),
            ]
        )
    return markdown_table(headers, rows) if rows else None


# ------------------------------------------------------------------- main
def agra_epoch_ratio(data, model, device, n_epochs=3, repeats=3):
    """Seconds per epoch of AGRA and of the plain network, side by side.

    AGRA runs its paper settings without the do-no-harm check
    (``threshold=0``, the network's lr, ``fallback=False``), so that one
    epoch of AGRA's training is timed against one epoch of ``net.fit``; the
    two alternate ``repeats`` times on 20 % uniform noise and the fastest
    run of each counts (the machine's load only slows a run down).
    """
    X, y = data[0], data[1]
    y_noisy = make_label_noise(y, 0.2, random_state=0)
    net = make_net(model, n_epochs, device)
    agra = AGRAClassifier(net, threshold=0.0, lr=None, fallback=False, random_state=0)
    best = {"plain": np.inf, "AGRA": np.inf}
    for _ in range(repeats):
        for name, estimator in (("plain", clone(net)), ("AGRA", clone(agra))):
            torch.manual_seed(0)
            start = time.perf_counter()
            estimator.fit(X, y_noisy)
            best[name] = min(best[name], time.perf_counter() - start)
    return best["plain"] / n_epochs, best["AGRA"] / n_epochs


def parse_epochs(values, models, quick):
    """``--epochs 20`` for every model, or ``--epochs mlp=20 cnn=8``."""
    epochs = {m: QUICK_EPOCHS if quick else DEFAULT_EPOCHS[m] for m in models}
    for value in values or []:
        name, _, count = value.rpartition("=")
        targets = [name] if name else list(models)
        for target in targets:
            if target not in MODULES:
                raise SystemExit(f"--epochs: unknown model {target!r}")
            epochs[target] = int(count)
    return epochs


def parse_noise(text):
    kind, _, rate = text.partition(":")
    if kind not in ("uniform", "pair") or not rate:
        raise argparse.ArgumentTypeError(
            f"expected KIND:RATE, e.g. uniform:0.4, got {text}"
        )
    return kind, float(rate)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="MLP, 2000 training rows, 1 seed, uniform 40 %% and pair 20 %%, "
        "15 epochs; written to results/deep_quick.md",
    )
    parser.add_argument("--models", nargs="+", choices=MODELS, help="default: all")
    parser.add_argument(
        "--seeds", nargs="+", type=int, help="seeds (default 0 1 2; quick 0)"
    )
    parser.add_argument(
        "--epochs",
        nargs="+",
        metavar="[MODEL=]N",
        help=f"max_epochs of the network (default {DEFAULT_EPOCHS}; quick "
        f"{QUICK_EPOCHS}), for every model or per model",
    )
    parser.add_argument(
        "--noises",
        nargs="+",
        type=parse_noise,
        metavar="KIND:RATE",
        help="noise cells (default: uniform and pair at 0.2 and 0.4, uniform 0.8)",
    )
    parser.add_argument("--methods", nargs="+", choices=METHODS, help="default: all")
    parser.add_argument(
        "--train-rows",
        type=int,
        help=f"training rows used, the first of rows 0-{N_TRAIN - 1} "
        f"(default {N_TRAIN}; quick {QUICK_TRAIN_ROWS})",
    )
    parser.add_argument(
        "--fallback",
        choices=("default", "off"),
        default="default",
        help="'off' sets fallback=False where a method has it (default: "
        "the methods' defaults)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="(model, noise, seed) units run in parallel processes, each with "
        "one torch thread (default 1)",
    )
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parser.add_argument("--output", type=Path, help="the markdown file written")
    args = parser.parse_args()

    models = args.models or (["mlp"] if args.quick else list(MODELS))
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    args.epochs = parse_epochs(args.epochs, models, args.quick)
    noises = args.noises or list(QUICK_NOISES if args.quick else NOISES)
    n_train = args.train_rows or (QUICK_TRAIN_ROWS if args.quick else N_TRAIN)
    if not 0 < n_train <= N_TRAIN:
        parser.error(f"--train-rows must be in 1..{N_TRAIN}")
    stem = "deep_quick" if args.quick else "deep"
    output = args.output or RESULTS_DIR / f"{stem}.md"
    if args.device == "cpu":
        torch.set_num_threads(1)
    started = time.perf_counter()

    notes = []
    methods = list(args.methods or METHODS)
    if PLAIN not in methods:
        methods.insert(0, PLAIN)
        notes.append("The plain network is always run: every comparison needs it.")
    if "CleanLearning" in methods:
        try:
            import cleanlab  # noqa: F401
        except ImportError:
            methods.remove("CleanLearning")
            notes.append("CleanLearning skipped: cleanlab is not installed.")
            print("note: CleanLearning skipped (cleanlab not installed)", flush=True)

    X, y = load_mnist("test")
    X = (X / 255.0).astype(np.float32)
    y = y.astype(np.int64)
    data = (X[:n_train], y[:n_train], X[N_TRAIN:], y[N_TRAIN:])

    report = Report.start(
        "Deep parity: sknoisy methods around a skorch "
        + " and a ".join(MODEL_TITLES[m] for m in models),
        args.quick,
    )
    report.add(
        f"MNIST test images / 255: training rows 0-{n_train - 1} (noisy), test rows "
        f"{N_TRAIN}-9999 (clean). Networks: "
        + ", ".join(f"{m} ({args.epochs[m]} epochs)" for m in models)
        + f"; seeds {seeds}; device {args.device}; fallback: "
        + ("the methods' defaults" if args.fallback == "default" else "off")
        + f"; {args.jobs} parallel job(s), one torch thread each. Accuracy on the "
        "clean test rows in %, mean ± sd over seeds; Δ plain is the mean "
        "difference to the plain network paired by seed; fit times are wall "
        "seconds (they include the load of the machine)."
    )

    units = [
        (model, kind, rate, seed)
        for model in models
        for kind, rate in noises
        for seed in seeds
    ]
    outcomes = Parallel(n_jobs=args.jobs)(
        delayed(run_unit)(data, model, kind, rate, seed, methods, args, started)
        for model, kind, rate, seed in units
    )
    records = [record for unit in outcomes for record in unit]
    speed = None
    if "AGRA" in methods and "mlp" in models:
        speed = agra_epoch_ratio(data, "mlp", args.device)
        print(f"AGRA epoch / plain epoch (mlp): {speed[1] / speed[0]:.2f}", flush=True)

    report.add(
        "## Summary\n\n"
        f"Per method: the (model, noise, seed) cells at or above the plain "
        f"network (goal: {GOAL_SHARE:.0f} %), the mean paired gain at uniform "
        f"40 % noise (goal: {GOAL_GAIN:+.0f} points), whether both goals are "
        "met, how often the do-no-harm check returned the plain model, the "
        "failed fits and the mean fit time.\n\n" + summary_table(records, methods)
    )
    report.add("## Per cell\n\n" + cell_table(records, methods))
    table = prune4rel_table(records)
    if table:
        report.add(
            "## Prune4ReL against its baselines\n\n"
            f"Mean test accuracy (%) of the network trained on a {P4R_FRACTION:.0%} "
            'subset chosen by Prune4ReL, at random (`strategy="uniform"`) and by '
            "the smallest loss under the warm-up network "
            '(`strategy="small_loss"`), over the seeds where all three ran, '
            "each with `fallback=False` so that the selections themselves are "
            "compared (the parity row `Prune4ReL` runs at the defaults).\n\n" + table
        )
    if speed is not None:
        plain_epoch, agra_epoch = speed
        report.add(
            "## Speed: an AGRA epoch against a plain epoch\n\n"
            f"MLP on the {n_train} training rows, 3 epochs, the fastest of 3 "
            "alternating runs each, AGRA at its paper settings without the "
            "do-no-harm check (`threshold=0.0, lr=None, fallback=False`): "
            f"plain {plain_epoch:.3f} s per epoch, AGRA {agra_epoch:.3f} s, "
            f"ratio **{agra_epoch / plain_epoch:.2f}** (goal: at most 2)."
        )
    report.add(
        "## Setup\n\n"
        + "\n".join(
            [
                "- Noise: `make_label_noise(y, rate, kind=kind, random_state=seed)` "
                "on the training rows (an exact share of wrong labels); "
                f"{cell_label(*HIGH_NOISE)} only for "
                + " and ".join(HIGH_NOISE_METHODS)
                + ".",
                "- Network: skorch `NeuralNetClassifier`, `CrossEntropyLoss`, Adam "
                "lr 1e-3, batch 128, shuffled batches, `train_split=None`; MLP "
                "784-256-10; CNN conv3x3(1→16)-ReLU-maxpool2, conv3x3(16→32)-ReLU-"
                "maxpool2, linear(1568→10).",
                "- Every method wraps the same unfitted network (cloned), gets "
                "`random_state=seed` (cleanlab: `seed=seed`) and is fitted right "
                "after `torch.manual_seed(seed)`, as the plain network is.",
                f"- ALC: `budget` = {ALC_BUDGET_SHARE:.0%} of the training rows, "
                "an oracle annotator returning the clean labels.",
                f"- Prune4ReL and its baselines: `fraction={P4R_FRACTION}`; the "
                "network is both the warm-up and the re-labeling model.",
                "- RDIA-LS: `noise_rate` = the true rate of the cell.",
                "- CleanLearning: `CleanLearning(net, seed=seed)`, its defaults "
                "otherwise (5-fold cross-validated probabilities).",
                "- No trusted rows: every method sees only the noisy labels (ALC "
                "also its annotator's answers).",
            ]
        )
    )
    failures = [r for r in records if "trace" in r]
    if failures:
        report.add(
            "## Failures\n\n"
            + "\n\n".join(
                f"{r['method']} on {r['model']} {cell_label(r['kind'], r['rate'])}, "
                f"seed {r['seed']}:\n\n```\n{r['trace'].rstrip()}\n```"
                for r in failures
            )
        )
    if notes:
        report.add("## Notes\n\n" + "\n".join(f"- {note}" for note in notes))
    report.add(f"Total wall time: {time.perf_counter() - started:.0f} s.")
    report.write(output)
    if failures:
        print(f"{len(failures)} fit(s) failed; see the Failures section.", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
