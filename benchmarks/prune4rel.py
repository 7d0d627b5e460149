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

The selector runs with the paper's settings passed explicitly (``tau=0.9``
as the spec's proxy, ``eta=1``, no trusted rows, no fallback), so that the
figures do not move when sknoisy's defaults do.

Run: ``SKNOISY_DATA=/work/shared/data python benchmarks/prune4rel.py``
(``--quick``: digits only, 2 seeds, written to ``prune4rel_quick.md``).
``--mnist-seeds`` and ``--mnist-fractions`` bound the MNIST part, whose
re-labeling fits dominate the run time.

``--defaults`` runs another study instead, written to
``prune4rel_defaults.md``: the neighbourhood graph at the paper's
``tau=0.975`` and at the default ``tau="auto"`` on the default embeddings
(``X`` as received) of breast-cancer, digits, MNIST and WRENCH YouTube; then
``Prune4ReLSelector`` at its defaults, given the trusted rows, against a plain
``LogisticRegression(max_iter=1000)`` fitted on the noisy plus trusted rows,
on breast-cancer (30 % uniform noise), digits (20 and 40 %, uniform and
pair), 3,000 MNIST test images (40 % uniform) and YouTube (majority-vote
labels, TF-IDF, the gold ``valid`` split stacked into ``X`` as the trusted
rows), 2 seeds (``--seeds``). On the data sets with gold labels, 30 % of the
rows are the test set and 10 % of the training rows (drawn before the noise)
keep their clean labels as the trusted rows.
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
                fallback=False,
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
    parser.add_argument(
        "--defaults", action="store_true", help="the defaults study (see above)"
    )
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--mnist-seeds", type=int, default=5)
    parser.add_argument(
        "--mnist-fractions", type=float, nargs="+", default=list(FRACTIONS)
    )
    args = parser.parse_args()
    if args.defaults:
        return defaults_study(args.seeds or 2)
    suffix = "_quick" if args.quick else ""
    output = RESULTS_DIR / f"{Path(__file__).stem}{suffix}.md"
    seeds = range(2) if args.quick else range(args.seeds or 5)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    started = time.perf_counter()

    report = Report.start(
        "Prune4ReLSelector accuracy benchmark (CPU proxy)", args.quick
    )
    notes = []
    sets = load_sets(not args.quick, notes)
    relabeler = DivideMixLiteClassifier()
    all_results, fraction_sets = {}, {}
    for data_name, (X, y, standardise) in sets.items():
        is_mnist = data_name.startswith("MNIST")
        data_seeds = range(args.mnist_seeds) if is_mnist else seeds
        fractions = tuple(args.mnist_fractions) if is_mnist else FRACTIONS
        for noise in NOISE_RATES:
            results = {}
            for seed in data_seeds:
                out = run_setting(X, y, standardise, noise, seed, fractions, relabeler)
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


# --------------------------------------------------------------------------
# The defaults study
# --------------------------------------------------------------------------
def _defaults_sources():
    """``name -> (X, y)`` of the gold sets, and the WRENCH YouTube splits."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.feature_extraction.text import TfidfVectorizer

    from sknoisy.datasets import load_wrench

    X, y = load_breast_cancer(return_X_y=True)
    gold = {"breast-cancer": (X, y)}
    X, y = load_digits(return_X_y=True)
    gold["digits"] = (X / 16.0, y)
    mnist = load_mnist("test", download_if_missing=False)
    # A stratified 3,000-image subsample keeps the re-labeling fits short.
    keep, _ = train_test_split(
        np.arange(len(mnist[1])), train_size=3000, stratify=mnist[1], random_state=0
    )
    keep = np.sort(keep)
    gold["mnist"] = (mnist[0][keep] / 255.0, mnist[1][keep])
    data = load_wrench("youtube", download_if_missing=False)
    vectorizer = TfidfVectorizer().fit(data.train.data)
    youtube = {
        "X": vectorizer.transform(data.train.data),
        "y": data.train.target_noisy,
        "y_gold": data.train.target,
        "X_val": vectorizer.transform(data.valid.data),
        "y_val": data.valid.target,
        "X_test": vectorizer.transform(data.test.data),
        "y_test": data.test.target,
    }
    return gold, mnist, youtube


def _gold_cell(X, y, name, kind, rate, seed):
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    if name == "breast-cancer":
        scaler = StandardScaler().fit(X_tr)
        X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    trusted = np.zeros(len(y_tr), dtype=bool)
    _, rows = train_test_split(
        np.arange(len(y_tr)), test_size=0.1, stratify=y_tr, random_state=seed
    )
    trusted[rows] = True
    y_noisy = y_tr.copy()
    y_noisy[~trusted] = make_label_noise(
        y_tr[~trusted], rate, kind=kind, random_state=seed
    )
    return X_tr, y_noisy, y_tr, trusted, X_te, y_te


def _youtube_cell(d):
    from scipy import sparse

    X = sparse.vstack([d["X"], d["X_val"]], format="csr")
    y_noisy = np.concatenate([d["y"], d["y_val"]])
    y_gold = np.concatenate([d["y_gold"], d["y_val"]])
    trusted = np.r_[np.zeros(len(d["y"]), bool), np.ones(len(d["y_val"]), bool)]
    return X, y_noisy, y_gold, trusted, d["X_test"], d["y_test"]


def _graph_rows(gold, mnist, youtube):
    from sknoisy._prune4rel import (
        _auto_cos_threshold,
        _radius_graph,
        _sample_rows,
    )
    from sknoisy.neighbors import l2_normalize

    sets = {
        "breast-cancer (standardised)": _gold_cell(
            *gold["breast-cancer"], "breast-cancer", "uniform", 0.3, 0
        )[0],
        "digits / 16": _gold_cell(*gold["digits"], "digits", "uniform", 0.2, 0)[0],
        "MNIST test images / 255 (7,000 training rows)": train_test_split(
            mnist[0] / 255.0, test_size=0.3, stratify=mnist[1], random_state=0
        )[0],
        "YouTube TF-IDF (train + valid)": _youtube_cell(youtube)[0],
    }
    rows = []
    for name, Z in sets.items():
        Zn = l2_normalize(Z)
        auto = _auto_cos_threshold(
            Zn, 20, _sample_rows(Zn.shape[0], np.random.default_rng(0))
        )
        cells = [name, str(Zn.shape[0])]
        for cos in (2 * 0.975 - 1, auto):
            degree = np.diff(_radius_graph(Zn, cos).indptr) - 1
            cells += [
                f"{(1 + cos) / 2:.3f}",
                f"{100 * np.mean(degree == 0):.1f}",
                f"{degree.mean():.1f}",
                f"{np.median(degree):.0f}",
            ]
        rows.append(cells)
    return markdown_table(
        [
            "embeddings (X as received)", "rows",
            "tau", "isolated %", "mean degree", "median degree",
            "tau auto", "isolated %", "mean degree", "median degree",
        ],
        rows,
    )  # fmt: skip


def defaults_study(n_seeds):
    from sklearn.metrics import roc_auc_score

    from sknoisy.exceptions import CorrectionFallbackWarning

    output = RESULTS_DIR / f"{Path(__file__).stem}_defaults.md"
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", category=CorrectionFallbackWarning)
    warnings.filterwarnings("ignore", message="tau=0.975 leaves")  # reported above
    started = time.perf_counter()
    report = Report.start("Prune4ReLSelector at its defaults, with trusted rows", False)
    gold, mnist, youtube = _defaults_sources()
    report.add(
        "## Neighbourhoods: the paper's tau=0.975 against tau='auto'\n\n"
        "Default embeddings (`X` as received; training rows of seed 0; "
        "`target_degree=20`):\n\n" + _graph_rows(gold, mnist, youtube)
    )
    digits = [("digits", k, r) for k in ("uniform", "pair") for r in (0.2, 0.4)]
    cells = [
        ("breast-cancer", "uniform", 0.3),
        *digits,
        ("mnist", "uniform", 0.4),
        ("youtube", "vote", None),
    ]
    methods = {
        "LR": None,
        "P4R": {},
        "P4R tau=0.975": {"tau": 0.975},
        "P4R fallback": {"fallback": True},
        "P4R no trusted": None,
    }
    rows, deltas = [], {m: [] for m in methods if m != "LR"}
    for name, kind, rate in cells:
        scores = {m: [] for m in methods}
        extra = {"kept": [], "tau": [], "iso": [], "auc": [], "fb": [], "s": []}
        for seed in range(n_seeds):
            if name == "youtube":
                X, y_noisy, y_gold, trusted, X_te, y_te = _youtube_cell(youtube)
            else:
                X, y_noisy, y_gold, trusted, X_te, y_te = _gold_cell(
                    *gold[name], name, kind, rate, seed
                )
            lr = LogisticRegression(max_iter=1000).fit(X, y_noisy)
            scores["LR"].append(100 * lr.score(X_te, y_te))
            for method, params in methods.items():
                if method == "LR":
                    continue
                selector = Prune4ReLSelector(random_state=seed, **(params or {}))
                tic = time.perf_counter()
                if method == "P4R no trusted":
                    selector.fit(X, y_noisy)
                else:
                    selector.fit(X, y_noisy, trusted=trusted)
                seconds = time.perf_counter() - tic
                scores[method].append(100 * selector.score(X_te, y_te))
                if method == "P4R":
                    flips = (y_noisy != y_gold)[~trusted]
                    extra["kept"].append(len(selector.sample_indices_))
                    extra["tau"].append(selector.tau_)
                    extra["iso"].append(100 * selector.isolated_fraction_)
                    extra["auc"].append(
                        roc_auc_score(flips, selector.noise_score_[~trusted])
                    )
                    extra["s"].append(seconds)
                if method == "P4R fallback":
                    extra["fb"].append(int(selector.fallback_))
        label = name if rate is None else f"{name} {kind} {int(100 * rate)} %"
        mean = {m: np.mean(v) for m, v in scores.items()}
        for m in deltas:
            deltas[m].append(mean[m] - mean["LR"])
        rows.append(
            [label, f"{X.shape[0]} ({trusted.sum()})"]
            + [f"{mean[m]:.1f}" for m in methods]
            + [
                f"{np.mean(extra['kept']):.0f}",
                f"{np.mean(extra['tau']):.3f}",
                f"{np.mean(extra['iso']):.1f}",
                f"{np.mean(extra['auc']):.3f}",
                f"{sum(extra['fb'])}/{n_seeds}",
                f"{np.mean(extra['s']):.1f}",
            ]
        )
        print(f"{label} done ({time.perf_counter() - started:.0f} s)", flush=True)
    report.add(
        f"## Test accuracy (%), mean over {n_seeds} seeds\n\n"
        "LR: `LogisticRegression(max_iter=1000)` on the noisy + trusted rows. "
        "P4R: `Prune4ReLSelector(random_state=seed)` (defaults: fraction 0.2, "
        "tau 'auto', DivideMixLiteClassifier) with `trusted=`; 'tau=0.975': the "
        "paper's threshold, else defaults; 'fallback': `fallback=True` (keeps "
        "every row when the cross-fitted check on the trusted rows finds pruning "
        "harmful); 'no trusted': defaults without `trusted=` (the trusted rows "
        "are then ordinary candidates with their clean labels). kept, tau_, "
        "isolated %, noise AUC (of `noise_score_` against the true flips, "
        "untrusted rows) and fit seconds are for P4R; 'fell back' counts the "
        "seeds where 'P4R fallback' kept every row.\n\n"
        + markdown_table(
            [
                "data",
                "rows (trusted)",
                *methods,
                "kept",
                "tau_",
                "isolated %",
                "noise AUC",
                "fell back",
                "P4R fit s",
            ],
            rows,
        )
        + "\n\nMean difference to LR over the data sets (points): "
        + ", ".join(f"{m} {np.mean(v):+.1f}" for m, v in deltas.items())
        + "; cells at or above LR: "
        + ", ".join(f"{m} {sum(d >= 0 for d in v)}/{len(v)}" for m, v in deltas.items())
        + "."
    )
    report.add(f"Total wall time: {time.perf_counter() - started:.0f} s.")
    report.write(output)


if __name__ == "__main__":
    main()
