"""The small-MLP case of issue 13: each method around an under-trained network.

What is measured, and why:

Issue 13 opened with a small skorch MLP on digits where every wrapper did
worse than the plain network. This script measures that case as the issue
describes it, with no trusted rows: scikit-learn's digits, standardised,
rows 0-1399 for training (their labels made noisy by
``sknoisy.noise.make_label_noise``) and rows 1400-1796 clean for testing; an
MLP 64-64-10 (ReLU), SGD lr 0.05, 15 epochs, skorch's default batch of 128,
``train_split=None``. After 15 epochs this network is still far from
fitting the data, so the wrong labels cost it less than dropping rows does:
the question is whether the methods at least do no harm.

Each seed seeds torch right before every fit and passes ``random_state`` to
the wrappers (seeds pair): the plain network; ``AGRAClassifier(net)``;
``RDIARelabeler(net, noise_rate=r)`` (RDIA-LS); ``Prune4ReLSelector(net)``;
``RobustActiveLabelCorrector(net, budget=50)`` with an oracle annotator.
Uniform noise at 20 % (the issue's cell) and 40 %.

Run: ``python benchmarks/deep_holdout.py`` (about 5 minutes on 2 cores;
``--quick``: seed 0 and 20 % noise only, in ``results/deep_holdout_quick.md``).
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _report import Report, markdown_table
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

from sknoisy import (
    AGRAClassifier,
    Prune4ReLSelector,
    RDIARelabeler,
    RobustActiveLabelCorrector,
)
from sknoisy.noise import make_label_noise

RESULTS_DIR = Path(__file__).parent / "results"
N_TRAIN = 1400
METHODS = ("AGRA", "RDIA-LS", "Prune4ReL", "ALC")


class SmallMLP(nn.Module):
    """64 -> 64 -> 64 -> 10 with ReLU, returning logits."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, X):
        return self.layers(X)


def make_net():
    return NeuralNetClassifier(
        SmallMLP,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        lr=0.05,
        max_epochs=15,
        train_split=None,
        verbose=0,
    )


def make_method(name, net, rate, seed):
    if name == "AGRA":
        return AGRAClassifier(net, random_state=seed)
    if name == "RDIA-LS":
        return RDIARelabeler(net, noise_rate=rate, random_state=seed)
    if name == "Prune4ReL":
        return Prune4ReLSelector(net, random_state=seed)
    return RobustActiveLabelCorrector(net, budget=50, random_state=seed)


def run_cell(X_train, y_train, X_test, y_test, rate, seed):
    """Test accuracy (%), fallback flag and seconds of plain and each method."""
    y_noisy = make_label_noise(y_train, rate, random_state=seed)
    net = make_net()
    rows = {}
    torch.manual_seed(seed)
    start = time.perf_counter()
    plain = clone(net).fit(X_train, y_noisy)
    rows["plain"] = (
        100 * np.mean(plain.predict(X_test) == y_test),
        None,
        time.perf_counter() - start,
    )
    for name in METHODS:
        estimator = make_method(name, net, rate, seed)
        params = {"annotator": lambda idx: y_train[idx]} if name == "ALC" else {}
        torch.manual_seed(seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fallbacks are counted instead
            estimator.fit(X_train, y_noisy, **params)
        rows[name] = (
            100 * np.mean(estimator.predict(X_test) == y_test),
            bool(estimator.fallback_),
            time.perf_counter() - start,
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seed 0, 20 %% only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = [0] if args.quick else [0, 1, 2]
    rates = [0.2] if args.quick else [0.2, 0.4]

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    split = (X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:])
    report = Report.start(
        "Deep holdout: a small under-trained MLP on digits", args.quick
    )
    report.add(
        "Digits, standardised: rows 0-1399 noisy training rows, 1400-1796 clean "
        "test rows; MLP 64-64-10, SGD lr 0.05, 15 epochs, batch 128; no trusted "
        f"rows; seeds {seeds}. Test accuracy in %; Δ is the difference to the "
        "plain network of the same seed; *fb* marks a fit whose do-no-harm "
        "check returned the plain network."
    )
    table, summary = [], {name: [] for name in METHODS}
    for rate in rates:
        for seed in seeds:
            rows = run_cell(*split, rate, seed)
            base = rows["plain"][0]
            cells = [f"{rate:.0%}", str(seed), f"{base:.1f}"]
            for name in METHODS:
                accuracy, fell_back, _ = rows[name]
                summary[name].append((rate, accuracy - base))
                cells.append(f"{accuracy - base:+.1f}" + (" fb" if fell_back else ""))
            table.append(cells)
            print(f"[{rate:.0%} seed {seed}] done", flush=True)
    report.add(
        markdown_table(
            ["noise", "seed", "plain (%)", *(f"{m} Δ" for m in METHODS)], table
        )
    )
    lines = []
    for name, diffs in summary.items():
        at_or_above = sum(d >= 0 for _, d in diffs)
        means = ", ".join(
            f"{rate:.0%}: {np.mean([d for r, d in diffs if r == rate]):+.2f}"
            for rate in rates
        )
        lines.append([name, f"{at_or_above}/{len(diffs)}", means])
    report.add(
        "## Summary\n\n"
        + markdown_table(["method", "cells ≥ plain", "mean Δ (points)"], lines)
    )
    stem = "deep_holdout_quick" if args.quick else "deep_holdout"
    report.write(RESULTS_DIR / f"{stem}.md")


if __name__ == "__main__":
    main()
