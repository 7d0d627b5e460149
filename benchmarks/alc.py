"""RobustActiveLabelCorrector: which queries hit wrong labels, and what they buy.

What is measured, and why (the CPU proxy protocol of ``specs/alc.md`` §5):

1. **Selection and accuracy.** Digits (1,797 images, 70/30 stratified split)
   and the 10,000 MNIST test images (70/30 split, pixels / 255), with
   uniform and pair noise at 20 % and 40 % (``sknoisy.noise.make_label_noise``,
   exact flip counts) on the training part. Every strategy (``"robust"``,
   the default, and the baselines ``"random"``, ``"entropy"``, ``"lossent"``,
   ``"corractive"``) runs the same session through the ask/tell API with an
   oracle that returns the true label: digits budget 300 in rounds of 50,
   MNIST budget 1,000 in rounds of 200. Reported: the share of queries that
   hit a wrong label (cumulative and per round) and the test accuracy after
   every round, mean ± std over 3 seeds (split, noise and model seed all
   change). Reference rows: the base model trained on the noisy labels and
   on the clean labels. Base model: ``SoftmaxRegression()`` (50 epochs per
   (re)training) on digits, ``SoftmaxRegression(max_epochs=20)`` on MNIST.
2. **Acceptance check** (issue 6): digits, 30 % uniform noise, budget 300 in
   rounds of 50: the default's queries hit wrong labels ≥ 90 % of the time
   (random about 30 %), and its final test accuracy beats the base model
   trained on the noisy labels by ≥ 2 points.
3. **Ablation** on that setting: robust update on/off × propagation
   none/full/delta, and the kernel width ``alpha_sigma="median"``.
4. **Time of one query round at n = 20,000** (random dense data, d = 64 and
   512, 10 classes, Q = 50): ``query()`` (scores, candidates, kNN graph,
   Q · s diffusion steps) and ``teach()`` (retraining, 5 epochs), with the
   default candidate set (|C| = 20 Q = 1,000) and with the whole pool as
   candidates; and the sparse graph + diffusion against the obvious dense
   alternative (n × n affinity, dense mat-vecs) at |C| = 4,000, where the
   dense matrix still fits. Default threads.

Sections 1-4 run the method in the settings of this proxy (``PAPER``:
``alpha_sigma=1.0``, the paper's global normalisation of Eq. 3 and
``fallback=False``, the defaults before issues 12 and 13), so that their
figures stay comparable from run to run; the defaults changed.

5. **Defaults against the plain base** (issue 12; ``--defaults``, written to
   ``results/alc_defaults.md``): ``RobustActiveLabelCorrector()`` at its
   defaults, budget 100 (rounds of 10) with an oracle, the clean rows passed
   as ``trusted``, against its own plain base ``SoftmaxRegression()`` fitted
   on the same noisy + trusted rows. Cells: breast-cancer (30 % uniform),
   digits / 16 (uniform and pair, 20 and 40 %), with 10 % of the training
   rows kept clean (stratified, drawn before the noise) as the trusted rows,
   70/30 splits; WRENCH YouTube (TF-IDF on the training texts, majority-vote
   labels, the gold ``valid`` split stacked into ``X`` as the trusted rows);
   2 seeds. ``--slow`` adds SMS and TREC (3-5 minutes each).

Run: ``SKNOISY_DATA=/work/shared/data python benchmarks/alc.py`` (``--quick``
for a short smoke run, written to ``results/alc_quick.md``). MNIST is skipped
with a note when its files are missing. Plots (PNG) need matplotlib; the
tables are written without it.
"""

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from _report import Report, markdown_table
from sklearn.datasets import load_digits
from sklearn.metrics import pairwise_distances
from sklearn.model_selection import train_test_split

from sknoisy import RobustActiveLabelCorrector
from sknoisy._alc import _knn_graph, _laplacian, _propagation_select
from sknoisy.datasets import load_mnist
from sknoisy.linear_model import SoftmaxRegression
from sknoisy.noise import make_label_noise

RESULTS_DIR = Path(__file__).resolve().parent / "results"
STRATEGIES = ("robust", "random", "entropy", "lossent", "corractive")
# The settings of the CPU proxy: its kernel width, and no do-no-harm check (no
# trusted rows here), so that the corrected model is always the one measured.
PAPER = {"alpha_sigma": 1.0, "alpha_normalization": "global", "fallback": False}
NOISES = (("uniform", 0.2), ("uniform", 0.4), ("pair", 0.2), ("pair", 0.4))


# --------------------------------------------------------------------- data
def load_sets(notes, quick):
    X, y = load_digits(return_X_y=True)
    sets = {
        "digits": {
            "X": X,
            "y": y,
            "budget": 300,
            "batch": 50,
            "estimator": SoftmaxRegression(),
        }
    }
    if quick:
        notes.append("MNIST not run in quick mode.")
        return sets
    try:
        X, y = load_mnist("test", download_if_missing=False)
    except FileNotFoundError:
        notes.append("MNIST test images skipped: files not found (set SKNOISY_DATA).")
        return sets
    sets["MNIST test"] = {
        "X": X.astype(np.float64) / 255.0,
        "y": y,
        "budget": 1000,
        "batch": 200,
        "estimator": SoftmaxRegression(max_epochs=20),
    }
    return sets


def split(data, kind, rate, seed):
    X_tr, X_te, y_tr, y_te = train_test_split(
        data["X"], data["y"], test_size=0.3, random_state=seed, stratify=data["y"]
    )
    y_noisy = make_label_noise(y_tr, rate, kind=kind, random_state=seed)
    return X_tr, y_tr, y_noisy, X_te, y_te


# ------------------------------------------------------------------ session
def session(data, parts, seed, **params):
    """One labelling session with an oracle; the curve and the hit rates."""
    X_tr, y_tr, y_noisy, X_te, y_te = parts
    alc = RobustActiveLabelCorrector(
        data["estimator"],
        budget=data["budget"],
        batch_size=data["batch"],
        random_state=seed,
        **{**PAPER, **params},
    )
    started = time.perf_counter()
    alc.start(X_tr, y_noisy)
    queries, accuracy = [0], [alc.score(X_te, y_te)]
    while True:
        batch = alc.query()
        if not batch.size:
            break
        alc.teach(batch, y_tr[batch])
        queries.append(len(alc.queried_))
        accuracy.append(alc.score(X_te, y_te))
    wrong = y_noisy[alc.queried_] != y_tr[alc.queried_]
    n_wrong = int(np.sum(y_noisy != y_tr))
    return {
        "ceiling": min(1.0, n_wrong / max(len(alc.queried_), 1)),
        "queries": queries,
        "accuracy": accuracy,
        "hit": float(wrong.mean()),
        "cumulative_hit": [float(wrong[:q].mean()) for q in queries[1:]],
        "round_hit": [h["hit_rate"] for h in alc.history_],
        "seconds": time.perf_counter() - started,
    }


def reference_accuracy(data, parts, seed):
    X_tr, y_tr, y_noisy, X_te, y_te = parts
    from sklearn.base import clone

    model = clone(data["estimator"]).set_params(random_state=seed)
    noisy = model.fit(X_tr, y_noisy).score(X_te, y_te)
    clean = clone(model).fit(X_tr, y_tr).score(X_te, y_te)
    return noisy, clean


def mean_std(values, scale=100.0, digits=1):
    values = np.asarray(values, dtype=float) * scale
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


# ------------------------------------------------------------ main section
def selection_section(report, sets, seeds, noises, results):
    for name, data in sets.items():
        report.add(
            f"## {name}: budget {data['budget']} in rounds of {data['batch']}\n\n"
            "Hit rate: share of queries whose noisy label was wrong (cumulative, "
            "%). Accuracy: test accuracy (%) before any query (the model trained "
            "on the noisy labels, robustly for `robust`) and after the budget. "
            "Ceiling: the highest hit rate possible, wrong labels in the pool / "
            "queries. Per-round hit rates are means over seeds. Mean ± std over "
            f"{len(seeds)} seeds."
        )
        for kind, rate in noises:
            runs = {s: [] for s in STRATEGIES}
            refs = []
            for seed in seeds:
                parts = split(data, kind, rate, seed)
                refs.append(reference_accuracy(data, parts, seed))
                for strategy in STRATEGIES:
                    out = session(data, parts, seed, strategy=strategy)
                    runs[strategy].append(out)
                    print(
                        f"  {name} {kind} {rate} seed {seed} {strategy}: hit "
                        f"{out['hit']:.3f} acc {out['accuracy'][-1]:.3f} "
                        f"({out['seconds']:.1f}s)",
                        flush=True,
                    )
            results[(name, kind, rate)] = runs
            rows = []
            for strategy in STRATEGIES:
                outs = runs[strategy]
                per_round = np.mean([o["round_hit"] for o in outs], axis=0)
                rows.append(
                    [
                        f"`{strategy}`",
                        mean_std([o["hit"] for o in outs]),
                        mean_std([o["ceiling"] for o in outs]),
                        " / ".join(f"{100 * h:.0f}" for h in per_round),
                        mean_std([o["accuracy"][0] for o in outs]),
                        mean_std([o["accuracy"][-1] for o in outs]),
                        f"{statistics.median(o['seconds'] for o in outs):.1f}",
                    ]
                )
            rows.append(
                [
                    "base model, noisy labels",
                    "",
                    "",
                    "",
                    mean_std([r[0] for r in refs]),
                    "",
                    "",
                ]
            )
            rows.append(
                [
                    "base model, clean labels",
                    "",
                    "",
                    "",
                    mean_std([r[1] for r in refs]),
                    "",
                    "",
                ]
            )
            report.add(
                f"### {name}, {kind} noise {int(100 * rate)} %\n\n"
                + markdown_table(
                    [
                        "strategy",
                        "hit rate",
                        "ceiling",
                        "hit rate per round",
                        "acc. at 0 queries",
                        "acc. after budget",
                        "time/session (s)",
                    ],
                    rows,
                )
            )


def acceptance_section(report, seeds):
    X, y = load_digits(return_X_y=True)
    data = {
        "X": X,
        "y": y,
        "budget": 300,
        "batch": 50,
        "estimator": SoftmaxRegression(),
    }
    rows, verdict = [], []
    for seed in seeds:
        parts = split(data, "uniform", 0.3, seed)
        noisy, _ = reference_accuracy(data, parts, seed)
        robust = session(data, parts, seed)
        random = session(data, parts, seed, strategy="random")
        gain = robust["accuracy"][-1] - noisy
        rows.append(
            [
                seed,
                f"{100 * robust['hit']:.1f}",
                f"{100 * random['hit']:.1f}",
                f"{100 * noisy:.1f}",
                f"{100 * robust['accuracy'][0]:.1f}",
                f"{100 * robust['accuracy'][-1]:.1f}",
                f"{100 * gain:+.1f}",
            ]
        )
        verdict.append(robust["hit"] >= 0.9 and gain >= 0.02)
    report.add(
        "## Acceptance: digits, 30 % uniform noise, budget 300 in rounds of 50\n\n"
        "Target: default hit rate ≥ 90 % (random ≈ 30 %), final accuracy ≥ 2 "
        "points above the base model trained on the noisy labels.\n\n"
        + markdown_table(
            [
                "seed",
                "hit rate default (%)",
                "hit rate random (%)",
                "acc. noisy base (%)",
                "acc. default, 0 queries (%)",
                "acc. default, final (%)",
                "gain over noisy base",
            ],
            rows,
        )
        + f"\n\nTarget met on {sum(verdict)} of {len(verdict)} seeds."
    )


def ablation_section(report, seeds):
    X, y = load_digits(return_X_y=True)
    data = {
        "X": X,
        "y": y,
        "budget": 300,
        "batch": 50,
        "estimator": SoftmaxRegression(),
    }
    variants = [
        ("robust update on, propagation delta (default)", {}),
        ("robust update on, propagation full", {"propagation": "full"}),
        ("robust update on, no propagation", {"propagation": None}),
        ("robust update off, propagation delta", {"alpha_step": 0.0}),
        (
            "robust update off, propagation full",
            {"alpha_step": 0.0, "propagation": "full"},
        ),
        ("robust update off, no propagation", {"alpha_step": 0.0, "propagation": None}),
        (
            "alpha_sigma='median', propagation full (spec defaults)",
            {"alpha_sigma": "median", "propagation": "full"},
        ),
        ("alpha_sigma='median', propagation delta", {"alpha_sigma": "median"}),
        ("uncertainty='entropy' (paper's wording)", {"uncertainty": "entropy"}),
        ("alpha_sigma=0.25 (default since issue 12)", {"alpha_sigma": 0.25}),
    ]
    rows = []
    for label, params in variants:
        outs = [
            session(data, split(data, "uniform", 0.3, seed), seed, **params)
            for seed in seeds
        ]
        rows.append(
            [
                label,
                mean_std([o["hit"] for o in outs]),
                mean_std([o["accuracy"][0] for o in outs]),
                mean_std([o["accuracy"][-1] for o in outs]),
            ]
        )
        print(f"  ablation {label}: {rows[-1][1:]}", flush=True)
    report.add(
        "## Ablation: digits, 30 % uniform noise, budget 300 in rounds of 50\n\n"
        "Strategy `robust`; uncertainty `loss` unless stated. Mean ± std over "
        f"{len(seeds)} seeds.\n\n"
        + markdown_table(
            ["variant", "hit rate (%)", "acc. at 0 queries (%)", "acc. final (%)"],
            rows,
        )
    )


# ------------------------------------------------------------------ timing
def _dense_select(features, scores, n_select, rate, steps, k):
    """The obvious dense alternative: n × n affinity and dense mat-vecs."""
    d2 = pairwise_distances(features, squared=True)
    np.fill_diagonal(d2, np.inf)
    neighbors = np.argpartition(d2, k, axis=1)[:, :k]
    rows = np.repeat(np.arange(len(d2)), k)
    knn = d2[rows, neighbors.ravel()]
    W = np.zeros_like(d2)
    W[rows, neighbors.ravel()] = np.exp(-knn / np.median(knn))
    W = (W + W.T) / 2
    P = W / W.sum(1, keepdims=True)
    field = scores.copy()
    available = np.ones(len(field), bool)
    for _ in range(n_select):
        pick = int(np.argmax(np.where(available, field, -np.inf)))
        available[pick] = False
        mass = np.zeros_like(field)
        mass[pick] = field[pick]
        for _ in range(steps):
            mass = (1 - rate) * mass + rate * (P @ mass)
        field = field - mass
        field[pick] = 0.0


def _sparse_select(features, scores, n_select, rate, steps, k):
    L = _laplacian(_knn_graph(features, k), "random_walk")
    _propagation_select(scores, L, n_select, rate, steps, "delta")


def timing_section(report, quick):
    n = 5_000 if quick else 20_000
    rng = np.random.default_rng(0)
    rows = []
    for d in (64, 512):
        X = rng.standard_normal((n, d))
        y = np.argmax(X @ rng.standard_normal((d, 10)) + rng.gumbel(size=(n, 10)), 1)
        y_noisy = make_label_noise(y, 0.3, random_state=0)
        for label, n_candidates in (("default (20 Q)", None), ("whole pool", n)):
            alc = RobustActiveLabelCorrector(
                SoftmaxRegression(max_epochs=5),
                budget=150,
                batch_size=50,
                n_candidates=n_candidates,
                random_state=0,
                **PAPER,
            ).start(X, y_noisy)
            query_s, teach_s = [], []
            for _ in range(3):
                start = time.perf_counter()
                batch = alc.query()
                query_s.append(time.perf_counter() - start)
                start = time.perf_counter()
                alc.teach(batch, y[batch])
                teach_s.append(time.perf_counter() - start)
            size = min(n, 1000) if n_candidates is None else n_candidates
            rows.append(
                [
                    f"{n:,}",
                    d,
                    f"{label}: {size:,}",
                    f"{statistics.median(query_s):.2f}",
                    f"{statistics.median(teach_s):.2f}",
                ]
            )
            print(f"  timing {rows[-1]}", flush=True)
    report.add(
        "## Time of one query round (default threads)\n\n"
        "Random dense data, 10 classes, Q = 50, k = 10, s = 5, `SoftmaxRegression("
        "max_epochs=5)`. `query()`: probabilities of the pool, candidate draw, "
        "kNN graph on the candidates' L2-normalised features, Q · s sparse "
        "diffusion steps. `teach()`: 5 epochs of retraining with the alpha update. "
        "Medians of 3 rounds.\n\n"
        + markdown_table(
            ["n", "d", "candidate set size", "query() (s)", "teach() (s)"], rows
        )
    )

    m = 1_000 if quick else 4_000
    rows = []
    for d in (64, 512):
        features = rng.standard_normal((m, d)).astype(np.float32)
        features /= np.linalg.norm(features, axis=1, keepdims=True)
        scores = rng.random(m)
        timings = {}
        for name, fn in (("sparse (ours)", _sparse_select), ("dense", _dense_select)):
            values = []
            for _ in range(3):
                start = time.perf_counter()
                fn(features, scores, 50, 0.5, 5, 10)
                values.append(time.perf_counter() - start)
            timings[name] = statistics.median(values)
        rows.append(
            [
                f"{m:,}",
                d,
                f"{timings['sparse (ours)']:.3f}",
                f"{timings['dense']:.3f}",
                f"{timings['sparse (ours)'] / timings['dense']:.3f}",
                f"{m * 10 * 2 * 12 / 2**20:.1f} (CSR)",
                f"{m * m * 8 / 2**20:.0f}",
            ]
        )
    report.add(
        "## Graph + selection: sparse kNN against the dense alternative\n\n"
        "Q = 50 picks, s = 5 delta-diffusion steps each, k = 10; medians of 3. "
        "Ratio = sparse / dense (below 1: ours faster).\n\n"
        + markdown_table(
            [
                "candidates",
                "d",
                "sparse (s)",
                "dense (s)",
                "ratio",
                "graph memory (MiB)",
                "dense W (MiB)",
            ],
            rows,
        )
    )


# ------------------------------------------------------------- defaults
def _gold_cells(seeds):
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    sources = {
        "breast-cancer": (load_breast_cancer(return_X_y=True), [("uniform", 0.3)]),
        "digits": (
            load_digits(return_X_y=True),
            [(kind, rate) for kind in ("uniform", "pair") for rate in (0.2, 0.4)],
        ),
    }
    for name, ((X, y), noises) in sources.items():
        X = X / 16.0 if name == "digits" else X
        for kind, rate in noises:
            for seed in seeds:
                X_tr, X_te, y_tr, y_te = train_test_split(
                    X, y, test_size=0.3, stratify=y, random_state=seed
                )
                if name == "breast-cancer":
                    scaler = StandardScaler().fit(X_tr)
                    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
                X_rest, X_ok, y_rest, y_ok = train_test_split(
                    X_tr, y_tr, test_size=0.1, stratify=y_tr, random_state=seed
                )
                y_noisy = make_label_noise(y_rest, rate, kind=kind, random_state=seed)
                yield (
                    f"{name}, {kind} {int(100 * rate)} %",
                    seed,
                    (X_rest, y_noisy, y_rest, X_ok, y_ok, X_te, y_te),
                )


def _wrench_cells(names, seeds, notes):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from sknoisy.datasets import load_wrench

    for name in names:
        try:
            data = load_wrench(name, download_if_missing=False)
        except FileNotFoundError:
            notes.append(f"WRENCH {name} skipped: files not found (set SKNOISY_DATA).")
            continue
        vectorizer = TfidfVectorizer().fit(data.train.data)
        parts = (
            vectorizer.transform(data.train.data),
            data.train.target_noisy,
            data.train.target,
            vectorizer.transform(data.valid.data),
            data.valid.target,
            vectorizer.transform(data.test.data),
            data.test.target,
        )
        for seed in seeds[name]:
            yield f"WRENCH {name}, MV labels", seed, parts


def _stacked(parts):
    """Noisy rows and trusted rows in one ``X``; the gold labels; the mask."""
    from scipy import sparse

    X_rest, y_noisy, y_rest, X_ok, y_ok, X_te, y_te = parts
    if sparse.issparse(X_rest):
        X = sparse.vstack([X_rest, X_ok], format="csr")
    else:
        X = np.vstack([X_rest, X_ok])
    y = np.concatenate([y_noisy, y_ok])
    gold = np.concatenate([y_rest, y_ok])
    trusted = np.r_[np.zeros(len(y_noisy), bool), np.ones(len(y_ok), bool)]
    return X, y, gold, trusted, X_te, y_te


def _defaults_cells(slow, notes):
    cells = list(_gold_cells((0, 1)))
    wrench_seeds = {"youtube": (0, 1), "sms": (0, 1), "trec": (0, 1)}
    names = ("youtube", "sms", "trec") if slow else ("youtube",)
    return cells + list(_wrench_cells(names, wrench_seeds, notes))


def widths_section(report, cells):
    """ALC's own model (no check) for three kernel widths."""
    widths = (1.0, 0.25, "median")
    rows = []
    for label, seed, parts in cells:
        if label.startswith(("WRENCH sms", "WRENCH trec")):
            continue
        X, y, gold, trusted, X_te, y_te = _stacked(parts)
        plain = SoftmaxRegression(random_state=seed).fit(X, y).score(X_te, y_te)
        row = [label, seed, f"{100 * plain:.1f}"]
        for width in widths:
            alc = RobustActiveLabelCorrector(
                alpha_sigma=width, fallback=False, random_state=seed
            ).fit(X, y, annotator=gold.__getitem__, trusted=trusted)
            row.append(f"{100 * alc.score(X_te, y_te):.1f}")
        rows.append(row)
        print(f"  widths {row}", flush=True)
    report.add(
        "## Kernel width\n\n"
        "ALC's own model (`fallback=False`), budget 100 in rounds of 10, an "
        "oracle, the clean rows as `trusted`, for three values of "
        "`alpha_sigma`; plain base: `SoftmaxRegression()` on the same rows. "
        "Test accuracy (%).\n\n"
        + markdown_table(
            ["cell", "seed", "plain base", *(f"`{w!r}`" for w in widths)], rows
        )
    )


def defaults_section(report, cells):
    rows, per_set = [], {}
    for label, seed, parts in cells:
        X, y, gold, trusted, X_te, y_te = _stacked(parts)
        plain = SoftmaxRegression(random_state=seed).fit(X, y).score(X_te, y_te)
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alc = RobustActiveLabelCorrector(random_state=seed).fit(
                X, y, annotator=gold.__getitem__, trusted=trusted
            )
        seconds = time.perf_counter() - started
        accuracy = alc.score(X_te, y_te)
        # The corrected model the check judged (kept whichever way it went).
        corrected = np.mean(
            alc.classes_[np.argmax(alc._learner.predict_proba(X_te), axis=1)] == y_te
        )
        check = alc.harm_check_
        per_set.setdefault(label.split(",")[0], []).append(accuracy - plain)
        rows.append(
            [
                label,
                seed,
                int(trusted.sum()),
                f"{alc.alpha_sigma_!r}",
                f"{100 * plain:.1f}",
                f"{100 * corrected:.1f}",
                f"{100 * check.corrected_accuracy:.1f} / "
                f"{100 * check.plain_accuracy:.1f}",
                "yes" if alc.fallback_ else "no",
                f"{100 * accuracy:.1f}",
                f"{100 * (accuracy - plain):+.1f}",
                f"{seconds:.0f}",
            ]
        )
        print(f"  defaults {rows[-1]}", flush=True)
    diffs = [d for values in per_set.values() for d in values]
    at_or_above = sum(d >= -1e-12 for d in diffs)
    means = ", ".join(
        f"{name} {100 * np.mean(values):+.1f}" for name, values in per_set.items()
    )
    report.add(
        "## Defaults against the plain base (issue 12)\n\n"
        "`RobustActiveLabelCorrector()` at its defaults (kernel width chosen "
        "on the trusted rows, do-no-harm check on), budget 100 in rounds of "
        "10, an oracle answering the gold labels, the clean rows as "
        "`trusted`; plain base: "
        "`SoftmaxRegression()` on the same noisy + trusted rows. Test accuracy "
        "(%). *Corrected*: ALC's own model, which the check judged; *check*: "
        "cross-fitted accuracy on the held-out trusted rows of robust / plain "
        "training on the labels with the answers applied; *final*: the model "
        "returned (the plain base on those labels when it fell back).\n\n"
        + markdown_table(
            [
                "cell",
                "seed",
                "trusted rows",
                "width chosen",
                "plain base",
                "corrected",
                "check (robust / plain)",
                "fell back",
                "final",
                "final - plain",
                "fit (s)",
            ],
            rows,
        )
        + f"\n\nAt or above the plain base in {at_or_above} of {len(diffs)} "
        f"cells; mean difference per data set (points): {means}."
    )


# ------------------------------------------------------------------ plots
def plots(results, stem, notes):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        notes.append("Plots skipped: matplotlib is not installed.")
        return []
    written = []
    for name in sorted({key[0] for key in results}):
        keys = [key for key in results if key[0] == name]
        fig, axes = plt.subplots(
            2, len(keys), figsize=(4 * len(keys), 7), squeeze=False
        )
        for col, key in enumerate(keys):
            for strategy, outs in results[key].items():
                queries = outs[0]["queries"]
                hit = np.mean([o["cumulative_hit"] for o in outs], axis=0)
                acc = np.mean([o["accuracy"] for o in outs], axis=0)
                axes[0, col].plot(queries[1:], 100 * hit, marker="o", label=strategy)
                axes[1, col].plot(queries, 100 * acc, marker="o", label=strategy)
            axes[0, col].set_title(f"{name}, {key[1]} {int(100 * key[2])} %")
            axes[0, col].set_ylabel("queries hitting a wrong label (%)")
            axes[1, col].set_ylabel("test accuracy (%)")
            axes[1, col].set_xlabel("number of queries")
        axes[0, 0].legend()
        fig.tight_layout()
        path = RESULTS_DIR / f"{stem}_{name.split()[0].lower()}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


# --------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="only the defaults against the plain base (results/alc_defaults.md)",
    )
    parser.add_argument(
        "--slow", action="store_true", help="with --defaults: add SMS and TREC"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    warnings.filterwarnings("ignore", category=UserWarning)
    if args.defaults:
        notes = []
        report = Report.start("RobustActiveLabelCorrector defaults", False)
        cells = _defaults_cells(args.slow, notes)
        defaults_section(report, cells)
        widths_section(report, cells)
        if notes:
            report.add("## Notes\n\n" + "\n".join(f"- {note}" for note in notes))
        report.add(
            f"Total wall time (after imports): {time.perf_counter() - started:.0f} s."
        )
        report.write(RESULTS_DIR / "alc_defaults.md")
        return
    stem = "alc_quick" if args.quick else "alc"
    seeds = range(1) if args.quick else range(3)
    noises = NOISES[:1] if args.quick else NOISES
    notes = []
    report = Report.start("RobustActiveLabelCorrector benchmark", args.quick)
    sets = load_sets(notes, args.quick)
    results = {}
    acceptance_section(report, seeds)
    selection_section(report, sets, seeds, noises, results)
    if not args.quick:
        ablation_section(report, seeds)
    timing_section(report, args.quick)
    for path in plots(results, stem, notes):
        report.add(f"![{path.stem}]({path.name})")
    if notes:
        report.add("## Notes\n\n" + "\n".join(f"- {note}" for note in notes))
    report.add(
        f"Total wall time (after imports): {time.perf_counter() - started:.0f} s."
    )
    report.write(RESULTS_DIR / f"{stem}.md")


if __name__ == "__main__":
    main()
