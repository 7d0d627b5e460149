"""sknoisy's main job: noisy labels in, a comparison table out.

Run ``python -m sknoisy.demo``. It injects label noise into datasets bundled
with scikit-learn, trains each available sknoisy estimator and the plain base
model on the noisy labels, and prints their test accuracy on clean labels.
When the benchmark data is found (``SKNOISY_DATA`` or ``--data-home``), it
adds the WRENCH YouTube set, whose noise comes from real weak supervision.

Every estimator registered in :data:`METHODS` is run, with its default
settings, on the same rows: the noisy training rows plus a small share of
rows whose labels stay clean (carved before noise is injected), which the
sknoisy estimators are told about through ``fit(X, y, trusted=mask)``; the
plain models train on those rows too, without being told. Each sknoisy
estimator is printed under a plain model of the family it wraps; a method
whose do-no-harm check did not find its correction clearly better than its
own plain base model returns that model and is marked ``(fell back)``.
Active label correction also gets a simulated annotator that answers the
clean label of each queried row (within its default budget). A legend under
the table says what each column holds, which methods were given the clean
rows, and whether the WRENCH set was skipped.
"""

import argparse
import sys
import textwrap
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MaxAbsScaler

from ._agra import AGRAClassifier
from ._alc import RobustActiveLabelCorrector
from ._prune4rel import Prune4ReLSelector
from ._rdia import RDIARelabeler
from .datasets import get_data_home, load_wrench
from .exceptions import CorrectionFallbackWarning
from .linear_model import SoftmaxRegression
from .metrics import label_noise_rate
from .noise import make_label_noise

#: Share of the training rows kept clean as validation set for the methods
#: that need one.
TRUSTED_FRACTION = 0.15

# name -> (factory(random_state), extra fit parameters it takes).
METHODS = {
    "plain SoftmaxRegression": (
        lambda random_state: SoftmaxRegression(random_state=random_state),
        (),
    ),
    "AGRAClassifier": (
        lambda random_state: AGRAClassifier(random_state=random_state),
        ("trusted",),
    ),
    "RobustActiveLabelCorrector": (
        lambda random_state: RobustActiveLabelCorrector(random_state=random_state),
        ("trusted", "annotator"),
    ),
    "plain LogisticRegression": (
        lambda random_state: LogisticRegression(max_iter=1000),
        (),
    ),
    "RDIARelabeler": (
        lambda random_state: RDIARelabeler(random_state=random_state),
        ("trusted",),
    ),
    "Prune4ReLSelector": (
        lambda random_state: Prune4ReLSelector(random_state=random_state),
        ("trusted",),
    ),
}


def _oracle(y_clean):
    """Return a simulated annotator answering the clean label of each row."""
    y_clean = np.asarray(y_clean)

    def annotate(indices):
        return y_clean[indices]

    return annotate


def _bundled_datasets(noise_rates, kinds, random_state):
    """Train/test splits of scikit-learn's bundled data with injected noise."""
    for name, loader in [
        ("breast_cancer", load_breast_cancer),
        ("digits", load_digits),
    ]:
        X, y = loader(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=random_state
        )
        scaler = MaxAbsScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        trusted = np.zeros(len(y_train), dtype=bool)
        trusted[
            train_test_split(
                np.arange(len(y_train)),
                test_size=TRUSTED_FRACTION,
                stratify=y_train,
                random_state=random_state,
            )[1]
        ] = True
        for kind in kinds:
            for rate in noise_rates:
                # Noise on the other rows; the trusted rows keep clean labels.
                y_noisy = y_train.copy()
                y_noisy[~trusted] = make_label_noise(
                    y_train[~trusted], rate, kind=kind, random_state=random_state
                )
                yield (
                    f"{name}",
                    f"{kind} {rate:.0%}",
                    X_train,
                    y_noisy,
                    y_train,
                    trusted,
                    X_test,
                    y_test,
                )


def _wrench_youtube(data_home, notes):
    """YouTube spam with weak-supervision (majority-vote) labels, TF-IDF.

    Yields nothing when its files are not in ``data_home`` (nothing is
    downloaded), and appends to ``notes`` a ``(text, command)`` pair that
    says how to add the set.
    """
    try:
        data = load_wrench("youtube", data_home=data_home, download_if_missing=False)
    except OSError:
        where = get_data_home(data_home)
        notes.append(
            (
                f"youtube (WRENCH) skipped: its files are not in {where}. To add "
                "this set, whose noisy labels come from real weak supervision, set "
                "SKNOISY_DATA (or pass --data-home) to a folder that holds the "
                "benchmark data, or download it there once with:",
                'python -c "from sknoisy.datasets import load_wrench; '
                "load_wrench('youtube')\"",
            )
        )
        return
    vectorizer = TfidfVectorizer().fit(data.train.data)
    # The gold validation split joins the training rows as trusted rows.
    texts = list(data.train.data) + list(data.valid.data)
    n_train, n_valid = len(data.train.target), len(data.valid.target)
    yield (
        "youtube (WRENCH)",
        "majority vote",
        vectorizer.transform(texts),
        np.concatenate([data.train.target_noisy, data.valid.target]),
        np.concatenate([data.train.target, data.valid.target]),
        np.r_[np.zeros(n_train, dtype=bool), np.ones(n_valid, dtype=bool)],
        vectorizer.transform(data.test.data),
        data.test.target,
    )


def _legend(methods, bases, width):
    """Lines under the table: the columns, the clean rows, who was told.

    ``bases`` maps each sknoisy estimator to the class of the model it
    trained (its ``estimator_``), the model it returns when it falls back.
    """
    told = [name for name, (_, extra) in methods.items() if "trusted" in extra]
    asked = [name for name, (_, extra) in methods.items() if "annotator" in extra]
    columns = [
        ("dataset", "the data set (youtube only when its files are found)"),
        (
            "noise",
            "the label noise put into the training labels, kind and rate; for "
            "youtube, the majority vote of WRENCH's labelling functions",
        ),
        (
            "wrong",
            "share of the training labels that are actually wrong, among the "
            "rows not kept clean",
        ),
        (
            "method",
            '"plain ...": that model alone at its defaults, a baseline; the '
            "sknoisy estimators follow, each training its own base model "
            "(below)",
        ),
        ("test acc", "accuracy on the clean labels of the test rows (higher: better)"),
        ("log-loss", "log-loss on the same test rows (lower: better)"),
        ("seconds", "wall time of the fit"),
        (
            "(fell back)",
            "the do-no-harm check did not find the correction clearly better "
            "than the estimator's own plain base model, so that model was "
            "returned, fitted on the same rows",
        ),
    ]
    lines = ["Columns:"]
    for name, text in columns:
        lines += textwrap.wrap(
            text,
            width,
            initial_indent=f"  {name:<12}",
            subsequent_indent=" " * 14,
        )
    clean = (
        f"Clean rows: every model trains on the same rows, the noisy ones plus "
        f"{TRUSTED_FRACTION:.0%} of the training rows that keep their clean labels "
        "(youtube: its gold validation split). "
        f"Told which rows are clean (fit's trusted= mask): {', '.join(told)}. "
        "The plain models train on the clean rows without being told."
    )
    lines += textwrap.wrap(clean, width)
    if bases:
        own = ", ".join(f"{name} a {model}" for name, model in bases.items())
        lines += textwrap.wrap(
            f"Own base models (with settings of their own): {own}.", width
        )
    for name in asked:
        budget = getattr(methods[name][0](0), "budget", None)
        within = f"up to {budget}" if budget is not None else "its budget of"
        lines += textwrap.wrap(
            f"{name} also asks a simulated annotator for the clean labels of "
            f"{within} rows of its choice; its plain base model, when it falls "
            "back, trains on those answers too.",
            width,
        )
    return lines


def run(
    noise_rates=(0.2, 0.4),
    kinds=("uniform",),
    data_home=None,
    random_state=0,
    stream=None,
):
    """Run every method on every dataset and print one table.

    Parameters
    ----------
    noise_rates : sequence of float, default=(0.2, 0.4)
        Label-noise rates injected into the bundled datasets.

    kinds : sequence of str, default=("uniform",)
        Noise kinds, see :func:`sknoisy.noise.make_label_noise`.

    data_home : str or path-like, default=None
        Where to look for the benchmark data; see
        :func:`sknoisy.datasets.get_data_home`. Datasets that are not found
        are left out (nothing is downloaded).

    random_state : int, default=0
        Seed of the splits, the noise and the estimators.

    stream : file-like, default=None
        Where to print; standard output when None.

    Returns
    -------
    rows : list of dict
        One row per (dataset, noise, method) with keys ``dataset``,
        ``noise``, ``actual_noise`` (among the untrusted training rows),
        ``method``, ``accuracy``, ``log_loss`` (both on the clean test
        labels), ``seconds`` (the fit) and ``fell_back`` (whether the
        estimator returned its plain model).
    """
    stream = stream or sys.stdout
    notes, bases = [], {}
    jobs = list(_bundled_datasets(noise_rates, kinds, random_state))
    jobs += list(_wrench_youtube(data_home, notes))
    rows = []
    header = (
        f"{'dataset':<18}{'noise':<16}{'wrong':>7}  {'method':<28}"
        f"{'test acc':>9}{'log-loss':>10}{'seconds':>9}"
    )
    print(header, file=stream)
    print("-" * len(header), file=stream)
    for dataset, noise, X_train, y_noisy, y_clean, trusted, X_test, y_test in jobs:
        actual = label_noise_rate(y_clean[~trusted], y_noisy[~trusted])
        for method, (factory, extra) in METHODS.items():
            start = time.perf_counter()
            available = {"trusted": trusted, "annotator": _oracle(y_clean)}
            fit_params = {name: available[name] for name in extra}
            with warnings.catch_warnings():
                # Shown in the table as "(fell back)" instead.
                warnings.simplefilter("ignore", CorrectionFallbackWarning)
                estimator = factory(random_state).fit(X_train, y_noisy, **fit_params)
            fell_back = bool(getattr(estimator, "fallback_", False))
            if extra:  # a sknoisy estimator: name the model it trained
                bases.setdefault(method, type(estimator.estimator_).__name__)
            seconds = time.perf_counter() - start
            accuracy = estimator.score(X_test, y_test)
            loss = log_loss(
                y_test, estimator.predict_proba(X_test), labels=estimator.classes_
            )
            rows.append(
                {
                    "dataset": dataset,
                    "noise": noise,
                    "actual_noise": actual,
                    "method": method,
                    "accuracy": accuracy,
                    "log_loss": loss,
                    "seconds": seconds,
                    "fell_back": fell_back,
                }
            )
            print(
                f"{dataset:<18}{noise:<16}{actual:>7.1%}  {method:<28}"
                f"{accuracy:>9.3f}{loss:>10.3f}{seconds:>9.2f}"
                + ("  (fell back)" if fell_back else ""),
                file=stream,
                flush=True,
            )
    print("-" * len(header), file=stream)
    for line in _legend(METHODS, bases, len(header)):
        print(line, file=stream)
    for text, command in notes:
        print(file=stream)
        print(textwrap.fill(text, len(header)), file=stream)
        # Not wrapped: it is meant to be copied.
        print(f"  {command}", file=stream)
    return rows


def main(argv=None):
    """Command-line entry point of ``python -m sknoisy.demo``.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        Zero on success.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sknoisy.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--noise",
        type=float,
        nargs="+",
        default=[0.2, 0.4],
        help="noise rates to inject (default: 0.2 0.4)",
    )
    parser.add_argument(
        "--kind",
        nargs="+",
        default=["uniform"],
        choices=["uniform", "pair"],
        help="noise kinds",
    )
    parser.add_argument(
        "--data-home",
        default=None,
        help="benchmark data folder (default: $SKNOISY_DATA)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    np.seterr(over="ignore")
    run(args.noise, args.kind, args.data_home, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
