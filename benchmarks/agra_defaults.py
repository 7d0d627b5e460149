"""AGRA at its defaults against its own plain base model, told the trusted rows.

The cells follow ``grid.py``: gold data sets split 70/30 per seed, 10 % of
the training rows (stratified, drawn before the noise) keep their clean
labels and are passed as ``trusted``; the WRENCH sets stack their gold
``valid`` split under the training rows as the trusted rows. The plain model
is AGRA's default base model (``AGRAClassifier``'s ``estimator=None``),
seeded like AGRA, fitted on the same rows. Besides the test accuracy of both,
each line gives AGRA's chosen settings and the do-no-harm check's paired
counts (``b`` rows only AGRA got right on held-out trusted rows, ``c`` only
the plain model), and what the check's plain "not worse" rule of the first
version would have returned, so the cost of the margin stays visible.

Run: ``SKNOISY_DATA=/work/shared/data python benchmarks/agra_defaults.py``
(3 seeds, about 4 minutes; ``--seeds`` and ``--datasets`` override;
``--quick`` runs breast-cancer and YouTube with 1 seed). Written to
``results/agra_defaults.md`` (``agra_defaults_quick.md`` with ``--quick``).
"""

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from _report import Report, markdown_table
from grid import gold_cell, load_source, own_base, single_threaded, stack

from sknoisy import AGRAClassifier
from sknoisy.utils._meta import seed_estimator

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CELLS = (
    ("breast-cancer", "uniform", 0.3),
    ("digits", "uniform", 0.2),
    ("digits", "uniform", 0.4),
    ("digits", "pair", 0.2),
    ("digits", "pair", 0.4),
    ("mnist", "uniform", 0.2),
    ("mnist", "uniform", 0.4),
    ("youtube", None, None),
    ("sms", None, None),
    ("trec", None, None),
)
QUICK_DATASETS = ("breast-cancer", "youtube")


def run_cell(source, name, kind, rate, seed):
    """Plain base and AGRA on one (cell, seed); a dict of figures."""
    if source[0] == "gold":
        cell = gold_cell(source[1], source[2], name, kind, rate, seed)
    else:
        cell = source[1]
    X = stack(cell["X_train"], cell["X_val"])
    y = np.concatenate([cell["y_train"], cell["y_val"]])
    n_noisy, n_trusted = len(cell["y_train"]), len(cell["y_val"])
    trusted = np.r_[np.zeros(n_noisy, dtype=bool), np.ones(n_trusted, dtype=bool)]
    n_classes = len(np.unique(y))
    plain = seed_estimator(own_base("AGRA", n_classes), seed).fit(X, y)
    plain_accuracy = 100.0 * plain.score(cell["X_test"], cell["y_test"])
    start = time.perf_counter()
    agra = AGRAClassifier(random_state=seed).fit(X, y, trusted=trusted)
    seconds = time.perf_counter() - start
    check = agra.harm_check_
    unchecked = AGRAClassifier(random_state=seed, fallback=False).fit(
        X, y, trusted=trusted
    )
    # The first version's rule: keep unless worse (accuracy, then log-loss).
    old_harmful = check.corrected_accuracy < check.plain_accuracy or (
        check.corrected_accuracy == check.plain_accuracy
        and check.corrected_log_loss > check.plain_log_loss
    )
    unchecked_accuracy = 100.0 * unchecked.score(cell["X_test"], cell["y_test"])
    return {
        "plain": plain_accuracy,
        "agra": 100.0 * agra.score(cell["X_test"], cell["y_test"]),
        "unchecked": unchecked_accuracy,
        "old_rule": plain_accuracy if old_harmful else unchecked_accuracy,
        "fallback": bool(agra.fallback_),
        "old_fallback": bool(old_harmful),
        "lr": agra.lr_,
        "threshold": agra.threshold_,
        "b": check.n_better,
        "c": check.n_worse,
        "seconds": seconds,
    }


def label(name, kind, rate):
    return name if kind is None else f"{name} {kind} {rate:.0%}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--seeds", type=int, help="number of seeds (3; quick 1)")
    parser.add_argument("--datasets", nargs="+", help="data sets to run")
    args = parser.parse_args()
    n_seeds = args.seeds or (1 if args.quick else 3)
    wanted = args.datasets or (QUICK_DATASETS if args.quick else None)
    warnings.filterwarnings("ignore")
    notes, rows, sources = [], [], {}
    with single_threaded():
        report = Report.start("AGRA at its defaults against its plain base", args.quick)
        for name, kind, rate in CELLS:
            if wanted and name not in wanted:
                continue
            if name not in sources:
                sources[name] = load_source(name, 3_000, notes)
            if sources[name] is None:
                continue
            runs = []
            for seed in range(n_seeds):
                out = run_cell(sources[name], name, kind, rate, seed)
                runs.append(out)
                print(f"{label(name, kind, rate)} seed {seed}: {out}", flush=True)
            mean = {k: statistics.mean(r[k] for r in runs) for k in runs[0]}
            rows.append(
                [
                    label(name, kind, rate),
                    f"{mean['plain']:.1f}",
                    f"{mean['agra']:.1f}",
                    f"{mean['agra'] - mean['plain']:+.1f}",
                    f"{sum(r['fallback'] for r in runs)}/{len(runs)}",
                    ", ".join(f"{r['b']}:{r['c']}" for r in runs),
                    ", ".join(sorted({f"{r['lr']:g}" for r in runs})),
                    f"{mean['unchecked']:.1f}",
                    f"{mean['old_rule']:.1f} "
                    f"({sum(r['old_fallback'] for r in runs)}/{len(runs)})",
                    f"{mean['seconds']:.1f}",
                ]
            )
    report.add(
        f"## Test accuracy (%), mean of {n_seeds} seed{'s' * (n_seeds > 1)}\n\n"
        + markdown_table(
            [
                "cell",
                "plain base",
                "AGRA defaults",
                "diff",
                "fell back",
                "check b:c per seed",
                "lr_",
                "AGRA unchecked (fallback=False)",
                "AGRA, not-worse rule (fell back)",
                "AGRA fit (s)",
            ],
            rows,
        )
    )
    if notes:
        report.add("## Notes\n\n" + "\n".join(f"- {note}" for note in notes))
    stem = "agra_defaults_quick" if args.quick else "agra_defaults"
    report.write(RESULTS_DIR / f"{stem}.md")


if __name__ == "__main__":
    main()
