"""Prune4ReLSelector accuracy: the spec's CPU proxy, every strategy.

Protocol (spec prune4rel.md §5, CPU proxy):

- Data: scikit-learn's digits (standardised) and the 10,000 MNIST test
  images (pixels / 255, via ``sknoisy.datasets.load_mnist``), each split
  70/30 stratified per seed; symmetric noise (to another class, exact count,
  ``sknoisy.noise.make_label_noise``) of 20 % and 40 % on the training part.
- Warm-up: ``MLPClassifier((64,), max_iter=20)`` on all noisy training rows;
  embeddings = its ReLU layer, confidence = max probability. The warm-up is
  fitted once per (data set, noise, seed) and shared by every strategy and
  fraction (passed as ``embeddings=``/``proba=``); ``forgetting`` runs its
  own per-epoch warm-up (10 ``partial_fit`` epochs of the same MLP).
- Selector: tau 0.9, eta 1, self gain, balance on (the sknoisy defaults but
  tau); two extra Prune4ReL rows: the full (marginal) gain, and no balance.
- Evaluation on the clean test part: **ReL** = the re-labeling model
  (``DivideMixLiteClassifier``, sknoisy's default: out-of-fold loss, GMM
  split, label spreading, logistic regression) trained on the kept rows;
  **std** = a plain ``LogisticRegression`` on the kept rows; the label noise
  of the kept rows. Means over seeds.

Run: ``SKNOISY_DATA=/work/shared/data python benchmarks/prune4rel.py``
(``--quick``: digits only, 2 seeds, written to ``prune4rel_quick.md``).
``--mnist-seeds`` and ``--mnist-fractions`` bound the MNIST part, whose
re-labeling fits dominate the run time.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from _report import Report, markdown_table
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sknoisy import DivideMixLiteClassifier, Prune4ReLSelector
from sknoisy.adapters import make_adapter
from sknoisy.datasets import get_data_home, load_mnist
from sknoisy.noise import make_label_noise

RESULTS_DIR = Path(__file__).resolve().parent / "results"
NOISE_RATES = (0.2, 0.4)
FRACTIONS = (0.1, 0.2, 0.4, 0.6, 0.8)
STRATEGIES = {
    "Uniform": {"strategy": "uniform"},
    "SmallLoss": {"strategy": "small_loss"},
    "Margin": {"strategy": "margin"},
    "LeastConfidence": {"strategy": "least_confidence"},
    "Entropy": {"strategy": "entropy"},
    "Forgetting": {"strategy": "forgetting"},
    "GraNd": {"strategy": "grand"},
    "Moderate": {"strategy": "moderate"},
    "kCenterGreedy": {"strategy": "kcenter_greedy"},
    "Prune4ReL (self, balanced)": {"strategy": "prune4rel"},
    "Prune4ReL (full gain)": {"strategy": "prune4rel", "gain": "full"},
    "Prune4ReL (no balance)": {"strategy": "prune4rel", "balance": False},
}


def warmup_model(seed):
    return MLPClassifier((64,), max_iter=20, random_state=seed)


def load_sets(with_mnist, notes):
    X, y = load_digits(return_X_y=True)
    sets = {"digits": (X.astype(np.float64), y, True)}
    if with_mnist:
        try:
            X, y = load_mnist("test", download_if_missing=False)
            sets["MNIST test images"] = (X / 255.0, y, False)
        except FileNotFoundError:
            notes.append(f"MNIST skipped: files not found under {get_data_home()}.")
    return sets


def run_setting(X, y, standardise, noise, seed, fractions, relabeler):
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    if standardise:
        scaler = StandardScaler().fit(X_tr)
        X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    y_noisy = make_label_noise(y_tr, noise, random_state=seed)
    adapter = make_adapter(warmup_model(seed), 10, any_classifier=True)
    adapter.fit(X_tr, y_noisy, random_state=seed)
    proba, embeddings = adapter.predict_proba(X_tr), adapter.embed(X_tr)
    out = {}
    for name, params in STRATEGIES.items():
        for fraction in fractions:
            selector = Prune4ReLSelector(
                clone_relabeler(relabeler, seed),
                warmup_estimator=warmup_model(seed),
                fraction=fraction,
                tau=0.9,
                eta=1.0,
                random_state=seed,
                **params,
            )
            start = time.perf_counter()
            if params["strategy"] == "forgetting":
                selector.fit(X_tr, y_noisy)
            else:
                selector.fit(X_tr, y_noisy, embeddings=embeddings, proba=proba)
            kept = selector.sample_indices_
            std = LogisticRegression(max_iter=1000).fit(X_tr[kept], y_noisy[kept])
            out[name, fraction] = (
                100 * selector.score(X_te, y_te),
                100 * std.score(X_te, y_te),
                100 * np.mean(y_noisy[kept] != y_tr[kept]),
                time.perf_counter() - start,
            )
    return out


def clone_relabeler(relabeler, seed):
    from sklearn.base import clone

    return clone(relabeler).set_params(random_state=seed)


def tables(results, fractions):
    """Markdown tables: ReL per fraction, then std and noise per fraction."""
    rel_rows, std_rows = [], []
    for name in STRATEGIES:
        cells = [np.array(results[name, f]) for f in fractions]
        rel_rows.append(
            [name]
            + [f"{c[:, 0].mean():.1f} ± {c[:, 0].std(ddof=1):.1f}" for c in cells]
        )
        std_rows.append(
            [name] + [f"{c[:, 1].mean():.1f} / {c[:, 2].mean():.1f}" for c in cells]
        )
    heads = [f"f = {f}" for f in fractions]
    return (
        "ReL test accuracy (%), mean ± sd over seeds:\n\n"
        + markdown_table(["strategy", *heads], rel_rows)
        + "\n\nstd test accuracy (%) / label noise of the kept rows (%):\n\n"
        + markdown_table(["strategy", *heads], std_rows)
    )


def plot(all_results, fraction_sets, path, notes):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        notes.append("matplotlib is not installed: no plot written.")
        return None
    keys = list(all_results)
    fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4.5), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        results, fractions = all_results[key], fraction_sets[key]
        colours = plt.get_cmap("tab20").colors
        for index, name in enumerate(STRATEGIES):
            means = [np.mean(np.array(results[name, f])[:, 0]) for f in fractions]
            style = "-" if name.startswith("Prune4ReL") else "--"
            ax.plot(
                fractions,
                means,
                style,
                marker="o",
                color=colours[2 * index % 20 + (index >= 10)],
                label=name,
            )
        ax.set_title(f"{key[0]}, {int(key[1] * 100)} % symmetric noise")
        ax.set_xlabel("fraction kept")
        ax.set_ylabel("ReL test accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits, 2 seeds")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--mnist-seeds", type=int, default=5)
    parser.add_argument(
        "--mnist-fractions", type=float, nargs="+", default=list(FRACTIONS)
    )
    args = parser.parse_args()
    suffix = "_quick" if args.quick else ""
    output = RESULTS_DIR / f"{Path(__file__).stem}{suffix}.md"
    seeds = range(2) if args.quick else range(args.seeds)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    started = time.perf_counter()

    report = Report.start(
        "Prune4ReLSelector accuracy benchmark (CPU proxy)", args.quick
    )
    notes = []
    sets = load_sets(not args.quick, notes)
    relabeler = DivideMixLiteClassifier()
    all_results, fraction_sets = {}, {}
    with threadpool_limits(limits=1):
        for data_name, (X, y, standardise) in sets.items():
            is_mnist = data_name.startswith("MNIST")
            data_seeds = range(args.mnist_seeds) if is_mnist else seeds
            fractions = tuple(args.mnist_fractions) if is_mnist else FRACTIONS
            for noise in NOISE_RATES:
                results = {}
                for seed in data_seeds:
                    out = run_setting(
                        X, y, standardise, noise, seed, fractions, relabeler
                    )
                    for key, value in out.items():
                        results.setdefault(key, []).append(value)
                    print(
                        f"{data_name} noise {noise} seed {seed} done "
                        f"({time.perf_counter() - started:.0f} s)",
                        flush=True,
                    )
                all_results[data_name, noise] = results
                fraction_sets[data_name, noise] = fractions
                report.add(
                    f"## {data_name}, {int(noise * 100)} % symmetric noise "
                    f"({len(data_seeds)} seeds)\n\n" + tables(results, fractions)
                )

    key = ("digits", 0.4)
    if key in all_results and 0.2 in fraction_sets[key]:
        results = all_results[key]
        p4r = np.array(results["Prune4ReL (self, balanced)", 0.2])[:, 0]
        uni = np.array(results["Uniform", 0.2])[:, 0]
        small = np.array(results["SmallLoss", 0.2])[:, 0]
        diff = p4r.mean() - uni.mean()
        report.add(
            "## Acceptance check\n\n"
            f"digits, 40 % noise, f = 0.2: Prune4ReL (defaults, tau 0.9) ReL "
            f"{p4r.mean():.1f} vs Uniform {uni.mean():.1f}: {diff:+.1f} points "
            f"(target >= +2: {'met' if diff >= 2 else '**not met**'}); "
            f"per-seed differences {np.round(p4r - uni, 1).tolist()}. "
            f"SmallLoss: {small.mean():.1f}."
        )
    png = RESULTS_DIR / f"{Path(__file__).stem}{suffix}.png"
    if plot(all_results, fraction_sets, png, notes):
        report.add(f"Plot: `{png.relative_to(RESULTS_DIR.parent.parent)}`.")
    if notes:
        report.add("## Notes\n\n" + "\n".join(f"- {n}" for n in notes))
    report.add(f"Total wall time: {time.perf_counter() - started:.0f} s.")
    report.write(output)


if __name__ == "__main__":
    main()
