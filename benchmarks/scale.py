"""Scale: time and peak memory against n, growth exponents, issue 15's targets.

What is measured, each point in a fresh process (its peak RSS is the whole
process: data, model and search together):

1. **Prune4ReL** keeps 20 % of ``n`` float32 embeddings of 512 dimensions
   (precomputed ``embeddings=`` and ``proba=``, so no warm-up), with the
   exact neighbour graph and with the approximate one (every pair above
   ``tau`` within faiss k-means cells and their nearest cells,
   ``neighbors="approximate"``). Target: 1,200,000 rows within 15
   minutes and 8 GB; at 50,000 rows the approximate selection overlaps the
   exact one by at least 95 %.
2. **Downstream accuracy**: the Prune4ReL benchmark's protocol (digits and
   7,000 MNIST images, 40 % symmetric noise, MLP warm-up embeddings,
   DivideMix-lite re-labeling model on the kept 20 %) with exact and
   approximate neighbours, same seeds: accuracy, paired difference with its
   standard error, selection overlap and the share of the exact graph's
   edges the approximate one holds.
3. **ALC**: ``RobustActiveLabelCorrector`` on ``n`` rows of 128 float32
   features with ``graph_scope="all"`` and approximate neighbours: the graph
   of every row is built at the first round; then one query round
   (``query()`` of 100 rows among 100,000 candidates, then ``teach()``, which
   retrains one epoch). Target: a round at 1,000,000 rows under 30 s.
4. **Growth exponents**: the slope of log time against log n over the
   approximate runs (target <= 1.2 for Prune4ReL and ALC).
5. **RDIA at the cost of a fit**: an ``RDIARelabeler()`` fit against one fit
   of its default base ``LogisticRegression(max_iter=1000)`` on the 10,000
   MNIST test images (10 classes, 30 % uniform noise, 2 % trusted rows),
   interleaved, median of 3. Target <= 3.

The embeddings are synthetic: per class a centre, a rank-16 variation and
isotropic noise, the low intrinsic dimension of a trained network's
features. Data generation is not timed.

Run: ``SKNOISY_DATA=<data> python benchmarks/scale.py`` (about 30 minutes);
``--quick`` (a few minutes, small n, no target sizes) writes
``scale_quick.md``.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _report import Report, markdown_table

RESULTS_DIR = Path(__file__).resolve().parent / "results"
N_DIMS = 512
N_CLASSES = 100
FRACTION = 0.2
ALC_DIMS = 128
PRUNE4REL_TARGET = (1_200_000, 15 * 60, 8 * 2**30)
ALC_TARGET = (1_000_000, 30.0)
OVERLAP_N, OVERLAP_TARGET = 50_000, 0.95
EXPONENT_TARGET = 1.2
RDIA_TARGET = 3.0
SECTIONS = ["prune4rel", "downstream", "alc", "rdia"]


# ------------------------------------------------------------------- data
def make_embeddings(n, d=N_DIMS, n_classes=N_CLASSES, seed=0):
    """Class centres, a rank-16 variation per class and isotropic noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(n_classes, size=n)
    Z = np.empty((n, d), np.float32)
    for c in range(n_classes):
        rows = np.flatnonzero(y == c)
        centre = rng.standard_normal(d, dtype=np.float32)
        basis = 0.25 * rng.standard_normal((16, d), dtype=np.float32)
        Z[rows] = centre + rng.standard_normal((rows.size, 16), np.float32) @ basis
        Z[rows] += 0.2 * rng.standard_normal((rows.size, d), dtype=np.float32)
    return Z, y


def noisy_proba(y, n_classes, rng):
    """Warm-up-like probabilities: right about 70 % of the time, float32."""
    logits = rng.standard_normal((len(y), n_classes), dtype=np.float32)
    logits[np.arange(len(y)), y] += 2.0
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ------------------------------------------------------- child measurements
def child_prune4rel(n, neighbors, seed=0):
    from sknoisy import Prune4ReLSelector
    from sknoisy.linear_model import SoftmaxRegression

    Z, y = make_embeddings(n, seed=seed)
    proba = noisy_proba(y, N_CLASSES, np.random.default_rng(seed))
    data_rss = peak_rss()
    selector = Prune4ReLSelector(
        SoftmaxRegression(), neighbors=neighbors, fraction=FRACTION, random_state=0
    )
    start = time.perf_counter()
    selector.fit_resample(Z, y, embeddings=Z, proba=proba)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss": peak_rss(),
        "data_rss": data_rss,
        "degree": selector.mean_degree_,
        "tau": selector.tau_,
        "selection": selector.sample_indices_.tolist() if n <= OVERLAP_N else None,
    }


def child_alc(n, candidates, batch, seed=0):
    from sknoisy import RobustActiveLabelCorrector
    from sknoisy.linear_model import SoftmaxRegression

    X, y = make_embeddings(n, d=ALC_DIMS, seed=seed)
    y_noisy = y.copy()
    flip = np.random.default_rng(seed).random(n) < 0.3
    y_noisy[flip] = (y[flip] + 1) % N_CLASSES
    corrector = RobustActiveLabelCorrector(
        SoftmaxRegression(max_epochs=3, random_state=0),
        budget=4 * batch,
        batch_size=batch,
        epochs=1,
        n_candidates=candidates,
        neighbors="approximate",
        graph_scope="all",
        fallback=False,
        random_state=0,
    )
    timings = {}
    start = time.perf_counter()
    corrector.fit(X, y_noisy)
    timings["fit"] = time.perf_counter() - start
    for label in ("first", "second", "third"):
        start = time.perf_counter()
        rows = corrector.query()
        timings[f"{label}_query"] = time.perf_counter() - start
        start = time.perf_counter()
        corrector.teach(rows, y[rows])
        timings[f"{label}_teach"] = time.perf_counter() - start
    timings["rss"] = peak_rss()
    return timings


def child_downstream(neighbors, seeds, data="digits"):
    """The Prune4ReL benchmark's protocol, at 40 % noise."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from sknoisy import DivideMixLiteClassifier, Prune4ReLSelector
    from sknoisy.noise import make_label_noise

    if data == "digits":
        X, y = load_digits(return_X_y=True)
    else:  # the 10,000 MNIST test images, pixels / 255, not standardised
        from sknoisy.datasets import load_mnist

        X, y = load_mnist("test", download_if_missing=False)
        X = X.reshape(len(X), -1) / 255.0
    scores, selections, degrees = [], [], []
    for seed in range(seeds):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        if data == "digits":
            scaler = StandardScaler().fit(X_tr)
            X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
        y_noisy = make_label_noise(y_tr, 0.4, random_state=seed)
        warm = MLPClassifier((64,), max_iter=20, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warm.fit(X_tr, y_noisy)
        hidden = np.maximum(X_tr @ warm.coefs_[0] + warm.intercepts_[0], 0)
        selector = Prune4ReLSelector(
            DivideMixLiteClassifier(random_state=seed),
            tau=0.9,
            neighbors=neighbors,
            fallback=False,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            selector.fit(
                X_tr, y_noisy, embeddings=hidden, proba=warm.predict_proba(X_tr)
            )
        scores.append(100 * selector.score(X_te, y_te))
        selections.append(selector.sample_indices_.tolist())
        degrees.append(selector.mean_degree_)
    return {"scores": scores, "selections": selections, "degrees": degrees}


def child_rdia(repeats):
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    from sknoisy import RDIARelabeler
    from sknoisy.datasets import load_mnist
    from sknoisy.noise import make_label_noise

    images, digits = load_mnist("test", download_if_missing=False)
    X = images.reshape(len(images), -1).astype(np.float64) / 255.0
    rng = np.random.default_rng(0)
    trusted = np.zeros(len(digits), bool)
    trusted[rng.choice(len(digits), size=len(digits) // 50, replace=False)] = True
    y = digits.copy()
    y[~trusted] = make_label_noise(digits[~trusted], 0.3, random_state=0)
    plain = LogisticRegression(max_iter=1000)
    times = {"lr": [], "rdia": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            start = time.perf_counter()
            clone(plain).fit(X, y)
            times["lr"].append(time.perf_counter() - start)
            start = time.perf_counter()
            RDIARelabeler(random_state=0).fit(X, y, trusted=trusted)
            times["rdia"].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()} | {
        "all": times
    }


CHILDREN = {
    "prune4rel": child_prune4rel,
    "alc": child_alc,
    "downstream": child_downstream,
    "rdia": child_rdia,
}


def measure(kind, **kwargs):
    """Run one measurement in a fresh interpreter; its JSON result."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps([kind, kwargs])],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{kind} {kwargs} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"{kind} {kwargs}: {time.perf_counter() - started:.0f} s wall "
        f"(load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return result


# ------------------------------------------------------------------ report
def exponent(ns, seconds):
    """Least-squares slope of log(seconds) against log(n)."""
    return float(np.polyfit(np.log(ns), np.log(seconds), 1)[0])


def gib(n_bytes):
    return f"{n_bytes / 2**30:.2f}"


def prune4rel_section(report, sizes, exact_sizes, target_n, figures):
    rows, approx, exact = [], {}, {}
    for n in sorted(set(sizes) | set(exact_sizes) | ({target_n} - {None})):
        for neighbors in ("exact", "approximate"):
            if neighbors == "exact" and n not in exact_sizes:
                continue
            if neighbors == "approximate" and n not in sizes and n != target_n:
                continue
            r = measure("prune4rel", n=n, neighbors=neighbors)
            (exact if neighbors == "exact" else approx)[n] = r
            rows.append(
                [
                    f"{n:,}",
                    neighbors,
                    f"{r['seconds']:.1f}",
                    gib(r["rss"]),
                    gib(r["data_rss"]),
                    f"{r['degree']:.1f}",
                    f"{r['tau']:.4f}",
                ]
            )
    report.add(
        f"## 1. Prune4ReL: {FRACTION:.0%} of n x {N_DIMS} float32 embeddings\n\n"
        f"{N_CLASSES} classes; precomputed embeddings and proba; tau='auto' "
        "(target degree 20), self gain, balanced. Peak RSS is the whole "
        "process; 'data' is its RSS once the inputs exist, before the fit.\n\n"
        + markdown_table(
            [
                "n",
                "neighbors",
                "fit (s)",
                "peak RSS (GiB)",
                "data (GiB)",
                "mean degree",
                "tau_",
            ],
            rows,
        )
    )
    overlap_n = max(n for n in exact if n in approx)
    a, e = approx[overlap_n]["selection"], exact[overlap_n]["selection"]
    overlap = float(np.isin(a, e).mean())
    figures["prune4rel"] = (approx, exact)
    lines = [
        f"- Overlap of the approximate selection with the exact one at "
        f"{overlap_n:,} rows: **{overlap:.1%}** (target >= {OVERLAP_TARGET:.0%}"
        f"{'' if overlap_n == OVERLAP_N else ', at ' + format(OVERLAP_N, ',')}): "
        f"{'met' if overlap >= OVERLAP_TARGET else '**not met**'}."
    ]
    if target_n in approx:
        r = approx[target_n]
        met = r["seconds"] <= PRUNE4REL_TARGET[1] and r["rss"] <= PRUNE4REL_TARGET[2]
        lines.append(
            f"- {target_n:,} rows: **{r['seconds']:.0f} s, {gib(r['rss'])} GiB** "
            f"peak (target <= {PRUNE4REL_TARGET[1] // 60} min and "
            f"{PRUNE4REL_TARGET[2] // 2**30} GB): {'met' if met else '**not met**'}."
        )
    ns = sorted(n for n in approx if n >= 50_000) or sorted(approx)
    if len(ns) >= 2:
        slope = exponent(ns, [approx[n]["seconds"] for n in ns])
        verdict = "met" if slope <= EXPONENT_TARGET else "**not met**"
        lines.append(
            f"- Growth exponent of the approximate fit over n = "
            f"{', '.join(f'{n:,}' for n in ns)}: **{slope:.2f}** (target <= "
            f"{EXPONENT_TARGET}): {verdict}."
        )
    if len(exact) >= 2:
        ns = sorted(exact)
        lines.append(
            f"- Exact graph, for comparison: exponent "
            f"{exponent(ns, [exact[n]['seconds'] for n in ns]):.2f}."
        )
    report.add("\n".join(lines))


def downstream_section(report, seeds, sets):
    parts = []
    for data in sets:
        try:
            results = {
                nb: measure("downstream", neighbors=nb, seeds=seeds, data=data)
                for nb in ("exact", "approximate")
            }
        except RuntimeError as exc:
            parts.append(f"{data}: skipped ({str(exc).splitlines()[-1]})")
            continue
        exact, approx = results["exact"], results["approximate"]
        rows = [
            [
                nb,
                f"{np.mean(r['scores']):.1f} ± {np.std(r['scores']):.1f}",
                ", ".join(f"{x:.1f}" for x in r["scores"]),
                ", ".join(f"{d:.1f}" for d in r["degrees"]),
            ]
            for nb, r in results.items()
        ]
        diff = np.array(approx["scores"]) - np.array(exact["scores"])
        stderr = np.std(diff, ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
        overlap = [
            100 * np.isin(a, e).mean()
            for a, e in zip(approx["selections"], exact["selections"], strict=True)
        ]
        edges = 100 * np.array(approx["degrees"]) / np.array(exact["degrees"])
        n_train = 1257 if data == "digits" else 7000
        parts.append(
            f"### {data} ({n_train:,} training rows, "
            f"{max(1, n_train // 256)} cells of which 8 are probed)\n\n"
            + markdown_table(
                ["neighbors", "accuracy mean ± sd", "per seed", "mean degree"], rows
            )
            + f"\n\n- Paired difference approximate - exact: **{diff.mean():+.2f} "
            f"± {stderr:.2f}** (standard error; per seed "
            f"{', '.join(f'{d:+.1f}' for d in diff)}).\n"
            f"- Selection overlap with the exact one: "
            f"{', '.join(f'{o:.1f}' for o in overlap)} %.\n"
            f"- Edges of the exact graph the approximate one holds (mean degree "
            f"ratio): {', '.join(f'{e:.1f}' for e in edges)} %."
        )
    report.add(
        "## 2. Downstream accuracy (the Prune4ReL benchmark's protocol)\n\n"
        "40 % symmetric noise, fraction 0.2, tau 0.9, MLP warm-up embeddings, "
        f"DivideMix-lite on the kept rows; {seeds} seeds, test accuracy (%). "
        "On digits every cell is probed, so the approximate graph is the exact "
        "one; MNIST is the case where it approximates.\n\n" + "\n\n".join(parts)
    )


def alc_section(report, sizes, candidates, batch, figures):
    rows, rounds, graphs = [], {}, {}
    for n in sizes:
        r = measure("alc", n=n, candidates=min(candidates, n // 2), batch=batch)
        graph = r["first_query"] - r["second_query"]
        later = [
            r["second_query"] + r["second_teach"],
            r["third_query"] + r["third_teach"],
        ]
        rounds[n] = float(np.median(later))
        graphs[n] = r["first_query"]
        rows.append(
            [
                f"{n:,}",
                f"{r['fit']:.1f}",
                f"{r['first_query']:.1f}",
                f"{r['second_query']:.2f}",
                f"{r['second_teach']:.2f}",
                f"{r['third_query']:.2f}",
                f"{r['third_teach']:.2f}",
                f"{rounds[n]:.1f}",
                gib(r["rss"]),
            ]
        )
        del graph
    figures["alc"] = (graphs, rounds)
    report.add(
        f"## 3. ALC: one query round on n x {ALC_DIMS} float32 rows\n\n"
        f"`SoftmaxRegression(max_epochs=3)`, `epochs=1` per round, "
        f"batch {batch}, candidates min({candidates:,}, n/2), "
        "`neighbors='approximate'`, `graph_scope='all'`. The first query builds "
        "the graph of every row; a round is a later `query()` + `teach()` "
        "(teach retrains one epoch), the median of rounds 2 and 3.\n\n"
        + markdown_table(
            [
                "n",
                "initial fit (s)",
                "1st query, builds graph (s)",
                "2nd query (s)",
                "2nd teach (s)",
                "3rd query (s)",
                "3rd teach (s)",
                "round (s)",
                "peak RSS (GiB)",
            ],
            rows,
        )
    )
    ns = sorted(rounds)
    lines = []
    if ALC_TARGET[0] in rounds:
        r = rounds[ALC_TARGET[0]]
        lines.append(
            f"- One round at {ALC_TARGET[0]:,} rows: **{r:.1f} s** (target < "
            f"{ALC_TARGET[1]:.0f} s): {'met' if r < ALC_TARGET[1] else '**not met**'}."
        )
    if len(ns) >= 2:
        for name, values in (("round", rounds), ("graph build (1st query)", graphs)):
            slope = exponent(ns, [values[n] for n in ns])
            lines.append(
                f"- Growth exponent of the {name}: **{slope:.2f}** (target <= "
                f"{EXPONENT_TARGET}): "
                f"{'met' if slope <= EXPONENT_TARGET else '**not met**'}."
            )
    report.add("\n".join(lines))


def rdia_section(report, repeats):
    r = measure("rdia", repeats=repeats)
    ratio = r["rdia"] / r["lr"]
    report.add(
        "## 5. RDIA at the cost of a fit (10,000 MNIST test images, 10 classes)\n\n"
        f"Interleaved, median of {repeats}: `LogisticRegression(max_iter=1000)` "
        f"{r['lr']:.1f} s, `RDIARelabeler()` (alpha='auto', 200 trusted rows) "
        f"{r['rdia']:.1f} s: ratio **{ratio:.2f}** (target <= {RDIA_TARGET}): "
        f"{'met' if ratio <= RDIA_TARGET else '**not met**'}. Runs: LR "
        f"{', '.join(f'{t:.1f}' for t in r['all']['lr'])} s; RDIA "
        f"{', '.join(f'{t:.1f}' for t in r['all']['rdia'])} s."
    )


def plot(figures, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    if "prune4rel" in figures:
        approx, exact = figures["prune4rel"]
        for label, runs, style in (
            ("approximate", approx, "o-"),
            ("exact", exact, "s--"),
        ):
            ns = sorted(runs)
            axes[0].loglog(
                ns, [runs[n]["seconds"] for n in ns], style, label=f"{label}: time (s)"
            )
            axes[0].loglog(
                ns,
                [runs[n]["rss"] / 2**30 for n in ns],
                style,
                alpha=0.5,
                label=f"{label}: peak RSS (GiB)",
            )
        axes[0].set_title("Prune4ReL, 20 % of n x 512")
        axes[0].set_xlabel("n")
        axes[0].legend(fontsize=8)
    if "alc" in figures:
        graphs, rounds = figures["alc"]
        ns = sorted(rounds)
        axes[1].loglog(
            ns, [graphs[n] for n in ns], "o-", label="graph of every row (s)"
        )
        axes[1].loglog(ns, [rounds[n] for n in ns], "s-", label="one round (s)")
        axes[1].set_title(f"ALC, n x {ALC_DIMS}")
        axes[1].set_xlabel("n")
        axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small n, no targets")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=SECTIONS)
    args = parser.parse_args()
    if args.child:
        kind, kwargs = json.loads(args.child)
        print(json.dumps(CHILDREN[kind](**kwargs)))
        return
    suffix = "_quick" if args.quick else ""
    if set(SECTIONS) - set(args.sections):  # a partial run keeps its own file
        suffix += "_" + "_".join(s for s in SECTIONS if s in args.sections)
    report = Report.start("Scale benchmark (issue 15)", args.quick)
    figures = {}
    if "prune4rel" in args.sections:
        if args.quick:
            prune4rel_section(
                report, [5_000, 10_000, 20_000], [5_000, 10_000], None, figures
            )
        else:
            prune4rel_section(
                report,
                [50_000, 100_000, 200_000],
                [10_000, 25_000, OVERLAP_N],
                PRUNE4REL_TARGET[0],
                figures,
            )
    if "downstream" in args.sections:
        downstream_section(
            report,
            2 if args.quick else 5,
            ["digits"] if args.quick else ["digits", "mnist"],
        )
    if "alc" in args.sections:
        if args.quick:
            alc_section(report, [20_000, 50_000], 10_000, 100, figures)
        else:
            alc_section(
                report, [100_000, 300_000, ALC_TARGET[0]], 100_000, 100, figures
            )
    if "rdia" in args.sections:
        try:
            rdia_section(report, 1 if args.quick else 3)
        except RuntimeError as exc:
            report.add(f"## 5. RDIA\n\nSkipped: {str(exc).splitlines()[-1]}")
    png = RESULTS_DIR / f"scale{suffix}.png"
    if figures and plot(figures, png):
        report.add(f"![time and memory against n]({png.name})")
    report.write(RESULTS_DIR / f"scale{suffix}.md")


if __name__ == "__main__":
    main()
