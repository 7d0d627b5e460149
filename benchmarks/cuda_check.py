"""CUDA check: every deep code path on the GPU against the CPU, then timed.

What is checked, and why:

Every sknoisy method that drives a skorch network is fitted twice from the
same ``random_state`` on small data (sklearn digits, standardised, 20 %
uniform label noise): once with a ``device="cpu"`` network and once with
``device="cuda"``. The paths are ``AGRAClassifier`` (fixed threshold and
learning rate, best epoch on a clean ``X_val``), ``RDIARelabeler`` with
``noise_rate`` (RDIA-LS), ``RobustActiveLabelCorrector`` with an oracle
``annotator``, ``Prune4ReLSelector`` and ``DivideMixLiteClassifier``, all
with ``fallback=False`` where the parameter exists, so that the method itself
runs (the do-no-harm check takes a discrete decision on held-out rows that
could go either way on two devices; it is not compared here). GPU and
CPU kernels differ in the last bits and the methods take discrete decisions
(which samples to keep, relabel or query), so equality is not expected: a
path passes when the two fits predict the same label for at least 97 % of
the test rows, their probabilities differ by at most 0.02 on average and
0.25 at most. Each fit must also

- return numpy arrays (on the CPU) from ``predict`` and ``predict_proba``;
- pickle, and predict the same after ``pickle.loads``;
- hold no tensor off the CPU outside its skorch networks (skorch moves its
  own module and optimizer when it pickles; anything else would tie the
  fitted estimator to the device);
- leave the global torch random state, CPU and CUDA, as it was.

``DivideMixLiteClassifier`` cannot seed a skorch network (which has no
``random_state``), so its nets draw from the global torch stream; the script
runs both of its fits on a fork of that stream seeded alike, and its random
state check reads "n/a".

The model-adapter primitives (``predict_proba``, ``forward``, ``embed``,
``per_sample_loss``, ``gradient_factors``, ``per_sample_gradients``,
``parameter_gradients``, one ``train_step``) are compared on *the same
weights*: the CPU adapter's fitted ``state_dict`` is loaded into the CUDA
adapter, so only float32 rounding separates them (relative tolerance 1e-4 of
each array's largest entry).

Timing: the MNIST test images (``SKNOISY_DATA``; a synthetic 20,000 x 784
problem when the files are missing) train a 784-256-10 MLP with the plain
skorch ``fit``, AGRA and RDIA-LS on the CPU and on CUDA; the seconds and the
ratio CPU / CUDA are printed. The CPU side uses ``--threads`` torch threads
(default: torch's own choice on a GPU machine, 1 in a dry run).

Run: ``SKNOISY_DATA=/work/shared/data python benchmarks/cuda_check.py``
(``--quick``: fewer epochs and rows; ``--device cuda:1``; ``--paths AGRA
RDIA-LS`` for a subset). The markdown report goes to
``benchmarks/results/cuda_check.md`` (``cuda_check_quick.md`` with
``--quick``) and is written only when the run used a GPU.

``--cpu-dry-run`` runs everything with ``device="cpu"`` on both sides, so
that the checking code itself can be exercised on a machine without a GPU;
it writes no report.

Exit status: 0 when every check passes, and also when no CUDA device is
present (after printing ``skipped: no CUDA device``), so that the benchmark
suite does not fail on CPU-only machines; 1 when a check fails.
"""

import argparse
import contextlib
import pickle
import sys
import time
import traceback
import types
import warnings
from collections import namedtuple
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from _report import Report, markdown_table
from scipy import sparse
from sklearn.datasets import load_digits, make_classification
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNet, NeuralNetClassifier
from threadpoolctl import threadpool_limits
from torch import nn

from sknoisy import (
    AGRAClassifier,
    DivideMixLiteClassifier,
    Prune4ReLSelector,
    RDIARelabeler,
    RobustActiveLabelCorrector,
)
from sknoisy.adapters import make_adapter
from sknoisy.datasets import load_mnist
from sknoisy.noise import make_label_noise

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SKIP_MESSAGE = "skipped: no CUDA device (torch.cuda.is_available() is False)"

# Fitted paths: CPU and device predictions may differ where a discrete
# decision (keep, relabel, query) flipped on a last-bit difference.
MIN_LABEL_AGREEMENT = 0.97
MAX_MEAN_PROBA_DIFF = 0.02
MAX_PROBA_DIFF = 0.25
# Adapter primitives on identical weights: float32 rounding only.
ADAPTER_RTOL = 1e-4
SEED = 0
NOISE_RATE = 0.2

SmallData = namedtuple(
    "SmallData", "X y_noisy y_clean X_val y_val X_test y_test n_classes"
)


# --------------------------------------------------------------------------
# Data and network
# --------------------------------------------------------------------------
class MLP(nn.Module):
    """``n_features -> n_hidden (ReLU) -> n_classes``, returning logits."""

    def __init__(self, n_features, n_hidden, n_classes):
        super().__init__()
        self.hidden = nn.Linear(n_features, n_hidden)
        self.out = nn.Linear(n_hidden, n_classes)

    def forward(self, X):
        return self.out(torch.relu(self.hidden(X)))


def make_net(device, n_features, n_classes, *, n_hidden=64, max_epochs=4):
    """A skorch MLP classifier on ``device`` (SGD, batch 128, no split)."""
    return NeuralNetClassifier(
        MLP,
        module__n_features=n_features,
        module__n_hidden=n_hidden,
        module__n_classes=n_classes,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        lr=0.05,
        batch_size=128,
        max_epochs=max_epochs,
        iterator_train__shuffle=True,
        train_split=None,
        device=device,
        verbose=0,
    )


def small_epochs(quick):
    """Epochs of the small-data fits (15: the digits holdout case's)."""
    return 8 if quick else 15


def small_data():
    """sklearn digits, standardised, 20 % uniform noise on the training rows.

    Rows 0-1199 train (noisy), 1200-1399 clean validation, the rest test.
    """
    X, y = load_digits(return_X_y=True)
    scaler = StandardScaler().fit(X[:1200])
    X = scaler.transform(X).astype(np.float32)
    y_noisy = make_label_noise(y[:1200], NOISE_RATE, random_state=SEED)
    return SmallData(
        X=X[:1200],
        y_noisy=y_noisy,
        y_clean=y[:1200],
        X_val=X[1200:1400],
        y_val=y[1200:1400],
        X_test=X[1400:],
        y_test=y[1400:],
        n_classes=10,
    )


def timing_data(quick):
    """MNIST test images / 255 (synthetic 784 features if missing), noisy."""
    n_rows = 2_000 if quick else None
    try:
        X, y = load_mnist("test", download_if_missing=False)
        X, y = (X / 255.0).astype(np.float32), y
        source = "MNIST test images / 255"
    except (FileNotFoundError, OSError, ValueError):
        X, y = make_classification(
            n_samples=n_rows or 20_000,
            n_features=784,
            n_informative=64,
            n_redundant=0,
            n_classes=10,
            n_clusters_per_class=1,
            random_state=SEED,
        )
        X = X.astype(np.float32)
        source = "synthetic (make_classification, MNIST files not found)"
    if n_rows is not None:
        X, y = X[:n_rows], y[:n_rows]
    y_noisy = make_label_noise(y, NOISE_RATE, random_state=SEED)
    return X, y_noisy, source


# --------------------------------------------------------------------------
# Checks shared by every path
# --------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one comparison measured and which of its checks failed."""

    name: str
    metrics: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    warnings: set = field(default_factory=set)

    @property
    def passed(self):
        return not self.failures

    def check(self, ok, message):
        if not ok:
            self.failures.append(message)
        return ok


def _cuda_in_use():
    return torch.cuda.is_available() and torch.cuda.is_initialized()


def rng_snapshot():
    """The global torch random states: the CPU's and every CUDA device's."""
    cuda = torch.cuda.get_rng_state_all() if _cuda_in_use() else []
    return torch.get_rng_state(), cuda


def rng_changes(before, after):
    """Names of the global torch random streams that differ between snapshots."""
    changed = [] if torch.equal(before[0], after[0]) else ["CPU"]
    changed += [
        f"cuda:{i}"
        for i, (a, b) in enumerate(zip(before[1], after[1], strict=False))
        if not torch.equal(a, b)
    ]
    if len(before[1]) != len(after[1]):
        # CUDA was initialised in between: its fresh state cannot be compared.
        changed.append("CUDA initialised during the fit")
    return changed


@contextlib.contextmanager
def seeded_global_stream(seed):
    """A fork of the global torch stream, every device's, seeded by ``seed``.

    For estimators that draw from the global stream instead of their own
    (a skorch net inside ``DivideMixLiteClassifier``): both sides then start
    from the same state, and the caller's stream is restored. Every CUDA
    device is forked because ``torch.manual_seed`` seeds them all.
    """
    devices = list(range(torch.cuda.device_count())) if _cuda_in_use() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


_NOT_ENTERED = (types.FunctionType, types.MethodType, types.ModuleType)


def off_cpu_tensors(obj, path="estimator", depth=0, seen=None):
    """Paths of tensors (or module parameters) off the CPU held by ``obj``.

    skorch networks are not entered: skorch moves their device-dependent
    attributes to the CPU when it pickles, and back when it loads.
    """
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 8:
        return []
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        return [f"{path} ({obj.device})"] if obj.device.type != "cpu" else []
    if isinstance(obj, NeuralNet):
        return []
    if isinstance(obj, torch.nn.Module):
        return [
            f"{path}.{name} ({tensor.device})"
            for name, tensor in [*obj.named_parameters(), *obj.named_buffers()]
            if tensor.device.type != "cpu"
        ]
    if isinstance(obj, (np.ndarray, str, bytes, int, float, type)) or sparse.issparse(
        obj
    ):
        return []
    if isinstance(obj, dict):
        items = [(f"[{key!r}]", value) for key, value in obj.items()]
    elif isinstance(obj, (list, tuple, set, frozenset)):
        items = [(f"[{i}]", value) for i, value in enumerate(obj)]
    elif hasattr(obj, "__dict__") and not isinstance(obj, _NOT_ENTERED):
        items = [(f".{name}", value) for name, value in vars(obj).items()]
    else:
        return []
    found = []
    for access, value in items:
        found += off_cpu_tensors(value, path + access, depth + 1, seen)
    return found


def check_fitted(outcome, estimator, X_test, proba, pred, side):
    """Numpy outputs, pickling and no stray device tensors."""
    outcome.check(
        isinstance(proba, np.ndarray) and isinstance(pred, np.ndarray),
        f"{side}: predict/predict_proba return {type(pred).__name__}/"
        f"{type(proba).__name__}, not numpy arrays",
    )
    outcome.check(
        np.all(np.isfinite(proba)), f"{side}: predict_proba has non-finite values"
    )
    stray = off_cpu_tensors(estimator)
    outcome.check(
        not stray, f"{side}: fitted estimator holds tensors off the CPU: {stray[:3]}"
    )
    try:
        loaded = pickle.loads(pickle.dumps(estimator))
        reloaded = np.asarray(loaded.predict_proba(X_test))
        outcome.check(
            np.allclose(reloaded, proba, rtol=0, atol=1e-6),
            f"{side}: predict_proba changes after a pickle round trip",
        )
    except Exception as error:  # reported, not raised
        outcome.check(False, f"{side}: pickling fails: {error!r}")


def compare_predictions(outcome, results, y_test):
    """Gate the CPU and device fits' agreement; record the accuracies."""
    (proba_cpu, pred_cpu), (proba_dev, pred_dev) = results
    diff = np.abs(proba_cpu - proba_dev)
    agreement = float(np.mean(pred_cpu == pred_dev))
    outcome.metrics.update(
        agreement=agreement,
        mean_proba_diff=float(diff.mean()),
        max_proba_diff=float(diff.max()),
        accuracy_cpu=float(np.mean(pred_cpu == y_test)),
        accuracy_device=float(np.mean(pred_dev == y_test)),
    )
    outcome.check(
        agreement >= MIN_LABEL_AGREEMENT,
        f"labels agree on {agreement:.3f} of the test rows (< {MIN_LABEL_AGREEMENT})",
    )
    outcome.check(
        diff.mean() <= MAX_MEAN_PROBA_DIFF,
        f"mean |proba difference| {diff.mean():.4f} > {MAX_MEAN_PROBA_DIFF}",
    )
    outcome.check(
        diff.max() <= MAX_PROBA_DIFF,
        f"max |proba difference| {diff.max():.4f} > {MAX_PROBA_DIFF}",
    )


# --------------------------------------------------------------------------
# The deep paths
# --------------------------------------------------------------------------
@dataclass
class DeepPath:
    """How to build, fit and read one method around a skorch network.

    ``selection`` returns the method's per-row decision (kept, relabelled,
    queried...), compared between the two fits for information only.
    ``own_torch_stream``: the method seeds a private torch stream from its
    ``random_state``; otherwise the script seeds the global one for it.
    """

    name: str
    build: callable
    fit: callable
    selection: callable
    own_torch_stream: bool = True


def _half_warm_up(net):
    """``net`` with RDIA-LS's warm-up and forget-rate ramp over half its epochs.

    The paper's 10 warm-up epochs would leave a short run without a single
    step of the RDIA-LS loss itself.
    """
    half = max(1, net.max_epochs // 2)
    params = net.get_params(deep=False)
    # Set through the constructor: the plain net has no such callback yet;
    # RDIARelabeler carries the parameters over to its RDIA-LS network.
    params.update(
        callbacks__rdia_ls_schedule__init_epoch=half,
        callbacks__rdia_ls_schedule__num_gradual=half,
    )
    return type(net)(**params)


def _fit_plain(estimator, data):
    estimator.fit(data.X, data.y_noisy)


def _rows_mask(indices, n_rows):
    mask = np.zeros(n_rows, dtype=bool)
    mask[indices] = True
    return mask


DEEP_PATHS = (
    DeepPath(
        "AGRA",
        lambda net: AGRAClassifier(
            net, threshold=0.0, lr=None, fallback=False, random_state=SEED
        ),
        lambda est, d: est.fit(d.X, d.y_noisy, X_val=d.X_val, y_val=d.y_val),
        lambda est, d: est.removal_counts_,
    ),
    DeepPath(
        "RDIA-LS",
        lambda net: RDIARelabeler(
            _half_warm_up(net),
            noise_rate=NOISE_RATE,
            fallback=False,
            random_state=SEED,
        ),
        lambda est, d: est.fit(d.X, d.y_noisy, X_val=d.X_val, y_val=d.y_val),
        lambda est, d: est.relabeled_mask_,
    ),
    DeepPath(
        "RobustActiveLabelCorrector",
        lambda net: RobustActiveLabelCorrector(
            net, budget=40, batch_size=20, fallback=False, random_state=SEED
        ),
        # The oracle annotator answers with the clean labels.
        lambda est, d: est.fit(d.X, d.y_noisy, annotator=lambda rows: d.y_clean[rows]),
        lambda est, d: est.labels_,
    ),
    DeepPath(
        "Prune4ReLSelector",
        lambda net: Prune4ReLSelector(
            net, fraction=0.5, fallback=False, random_state=SEED
        ),
        _fit_plain,
        lambda est, d: _rows_mask(est.sample_indices_, len(d.y_noisy)),
    ),
    DeepPath(
        "DivideMixLiteClassifier",
        lambda net: DivideMixLiteClassifier(net, cv=3, random_state=SEED),
        _fit_plain,
        lambda est, d: est.noisy_mask_,
        own_torch_stream=False,
    ),
)
PATH_NAMES = tuple(p.name for p in DEEP_PATHS)


def compare_path(path, device, data, quick):
    """Fit ``path`` on the CPU and on ``device``; return its Outcome."""
    outcome = Outcome(path.name)
    results, selections, rng_notes = [], [], []
    for key, side in (("cpu", "cpu"), ("device", device)):
        label = f"{key} side ({side})"
        net = make_net(
            side, data.X.shape[1], data.n_classes, max_epochs=small_epochs(quick)
        )
        estimator = path.build(net)
        # A path on the global torch stream gets a seeded fork of it, around
        # predict too (skorch's DataLoader draws a seed from that stream).
        stream = (
            contextlib.nullcontext()
            if path.own_torch_stream
            else seeded_global_stream(SEED)
        )
        before = rng_snapshot()
        started = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught, stream:
            warnings.simplefilter("always")
            path.fit(estimator, data)
            proba = estimator.predict_proba(data.X_test)
            pred = estimator.predict(data.X_test)
        outcome.metrics[f"seconds_{key}"] = time.perf_counter() - started
        outcome.warnings |= {f"{w.category.__name__}: {w.message}" for w in caught}
        changed = rng_changes(before, rng_snapshot())
        rng_notes += [f"{key}: {', '.join(changed)}"] if changed else []
        outcome.check(
            not changed,
            f"{label}: fit and predict changed the global torch random state "
            f"({', '.join(changed)})",
        )
        check_fitted(outcome, estimator, data.X_test, proba, pred, label)
        results.append((np.asarray(proba, dtype=np.float64), np.asarray(pred)))
        selections.append(path.selection(estimator, data))
    compare_predictions(outcome, results, data.y_test)
    outcome.metrics["selection_agreement"] = float(
        np.mean(selections[0] == selections[1])
    )
    if not path.own_torch_stream:
        outcome.metrics["global_rng"] = "n/a: forked by the script"
    else:
        outcome.metrics["global_rng"] = "; ".join(rng_notes) or "untouched"
    return outcome


# --------------------------------------------------------------------------
# Adapter primitives on identical weights
# --------------------------------------------------------------------------
def _max_errors(reference, other):
    """``max |a - b|`` and that divided by ``max |b|`` (dense arrays)."""
    reference = reference.toarray() if sparse.issparse(reference) else reference
    other = other.toarray() if sparse.issparse(other) else other
    error = float(np.max(np.abs(np.asarray(other) - np.asarray(reference))))
    scale = float(np.max(np.abs(reference)))
    return error, error / scale if scale > 0 else error


def _state_dict_arrays(adapter):
    return {
        name: tensor.detach().cpu().numpy()
        for name, tensor in adapter.net.module_.state_dict().items()
    }


def compare_adapter(device, data, quick):
    """SkorchAdapter on ``device`` against the CPU: trained, then same weights.

    Returns the Outcome and the table rows ``(primitive, max abs error, max
    relative error)``.
    """
    outcome = Outcome("SkorchAdapter")
    n_features, n_classes = data.X.shape[1], data.n_classes
    epochs = small_epochs(quick)
    adapters, results = [], []
    for key, side in (("cpu", "cpu"), ("device", device)):
        net = make_net(side, n_features, n_classes, max_epochs=epochs)
        before = rng_snapshot()
        adapter = make_adapter(net, n_classes).fit(
            data.X, data.y_noisy, random_state=SEED
        )
        proba = adapter.predict_proba(data.X_test)
        changed = rng_changes(before, rng_snapshot())
        outcome.check(
            not changed,
            f"{key} side ({side}): adapter fit and predict_proba changed the "
            f"global torch random state ({', '.join(changed)})",
        )
        results.append((proba, np.argmax(proba, axis=1)))
        adapters.append(adapter)
    compare_predictions(outcome, results, data.y_test)

    reference, candidate = adapters
    candidate.net.module_.load_state_dict(reference.net.module_.state_dict())
    n_probe = 128 if quick else 397
    X_probe, y_probe = data.X_test[:n_probe], data.y_test[:n_probe]
    residuals = reference.gradient_factors(X_probe, y_probe)[0]
    primitives = {
        "predict_proba": lambda a: a.predict_proba(X_probe),
        "forward: logits": lambda a: a.forward(X_probe)[0],
        "embed": lambda a: a.embed(X_probe),
        "per_sample_loss": lambda a: a.per_sample_loss(X_probe, y_probe),
        "gradient_factors: R": lambda a: a.gradient_factors(X_probe, y_probe)[0],
        "per_sample_gradients": lambda a: a.per_sample_gradients(
            X_probe, y_probe, include_bias=True
        ),
        "parameter_gradients": lambda a: a.parameter_gradients(X_probe, residuals),
    }
    rows = []
    for name, primitive in primitives.items():
        try:
            expected, got = primitive(reference), primitive(candidate)
        except Exception as error:  # reported, not raised
            outcome.check(False, f"{name} raised {error!r}")
            rows.append((name, "error", "error"))
            continue
        outcome.check(
            isinstance(got, np.ndarray) or sparse.issparse(got),
            f"{name} returns a {type(got).__name__}, not a numpy array",
        )
        absolute, relative = _max_errors(expected, got)
        outcome.check(
            relative <= ADAPTER_RTOL,
            f"{name}: relative error {relative:.2e} > {ADAPTER_RTOL}",
        )
        rows.append((name, absolute, relative))

    # One weighted optimizer step from the same weights on the same batch.
    weights = np.linspace(0.5, 1.5, len(y_probe))
    for adapter in adapters:
        adapter.train_step(X_probe, y_probe, sample_weight=weights)
    after = [_state_dict_arrays(a) for a in adapters]
    worst = max(
        (_max_errors(after[0][key], after[1][key]) for key in after[0]),
        key=lambda errors: errors[1],
    )
    outcome.check(
        worst[1] <= ADAPTER_RTOL,
        f"train_step: weights differ by {worst[1]:.2e} relative > {ADAPTER_RTOL}",
    )
    rows.append(("train_step: weights", *worst))
    return outcome, rows


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------
def _synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_methods(device, X, y_noisy, epochs):
    """Seconds to fit (and predict) each method on the CPU and on ``device``.

    Returns rows ``(method, cpu seconds, device seconds)``.
    """
    n_features, n_classes = X.shape[1], int(y_noisy.max()) + 1

    def plain(net):
        with seeded_global_stream(SEED):
            net.fit(X, y_noisy)
        return net

    methods = {
        "skorch fit (plain)": plain,
        "AGRA": lambda net: AGRAClassifier(
            net, threshold=0.0, lr=None, fallback=False, random_state=SEED
        ).fit(X, y_noisy),
        "RDIA-LS": lambda net: RDIARelabeler(
            _half_warm_up(net),
            noise_rate=NOISE_RATE,
            fallback=False,
            random_state=SEED,
        ).fit(X, y_noisy),
    }
    rows = []
    for name, fit in methods.items():
        seconds = []
        for side in ("cpu", device):
            net = make_net(side, n_features, n_classes, n_hidden=256, max_epochs=epochs)
            _synchronize(side)
            started = time.perf_counter()
            fitted = fit(net)
            fitted.predict_proba(X)
            _synchronize(side)
            seconds.append(time.perf_counter() - started)
        rows.append((name, *seconds))
        print(f"timed {name}: {seconds[0]:.2f} s cpu, {seconds[1]:.2f} s {device}")
    return rows


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------
def run_checks(device, quick, paths=PATH_NAMES, adapter=True):
    """Run the comparisons; return the Outcomes and the adapter table rows.

    A path that raises fails with the error, and the others still run.
    """
    if torch.device(device).type == "cuda":
        # Initialised before the first fit, so that every fit's snapshots of
        # the CUDA random states compare (an uninitialised device has none).
        torch.cuda.init()
    data = small_data()
    outcomes, adapter_rows = [], []
    selected = [p for p in DEEP_PATHS if p.name in paths]
    for path in selected:
        print(f"checking {path.name} ...", flush=True)
        try:
            outcomes.append(compare_path(path, device, data, quick))
        except Exception:  # reported, not raised
            failed = Outcome(path.name)
            failed.check(False, "raised " + traceback.format_exc(limit=-3).strip())
            outcomes.append(failed)
    if adapter:
        print("checking the SkorchAdapter primitives ...", flush=True)
        try:
            outcome, adapter_rows = compare_adapter(device, data, quick)
        except Exception:  # reported, not raised
            outcome = Outcome("SkorchAdapter")
            outcome.check(False, "raised " + traceback.format_exc(limit=-3).strip())
        outcomes.append(outcome)
    return outcomes, adapter_rows


def outcome_table(outcomes):
    """Markdown table of the fitted comparisons."""

    def fmt(outcome, key, spec):
        value = outcome.metrics.get(key)
        return "-" if value is None else format(value, spec)

    rows = [
        [
            o.name,
            fmt(o, "agreement", ".3f"),
            fmt(o, "mean_proba_diff", ".2e"),
            fmt(o, "max_proba_diff", ".2e"),
            fmt(o, "selection_agreement", ".3f"),
            fmt(o, "accuracy_cpu", ".3f"),
            fmt(o, "accuracy_device", ".3f"),
            fmt(o, "seconds_cpu", ".1f"),
            fmt(o, "seconds_device", ".1f"),
            o.metrics.get("global_rng", "-"),
            "ok" if o.passed else "**FAILED**",
        ]
        for o in outcomes
    ]
    headers = [
        "path",
        "label agreement",
        "mean abs Δp",
        "max abs Δp",
        "selection agreement",
        "acc cpu",
        "acc device",
        "s cpu",
        "s device",
        "global torch RNG",
        "checks",
    ]
    return markdown_table(headers, rows)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and rows")
    parser.add_argument(
        "--device", default="cuda", help="torch device to check (default: cuda)"
    )
    parser.add_argument(
        "--cpu-dry-run",
        action="store_true",
        help='run every comparison with device="cpu" on both sides (no GPU needed)',
    )
    parser.add_argument(
        "--paths",
        nargs="+",
        choices=PATH_NAMES,
        default=list(PATH_NAMES),
        help="deep paths to check (default: all)",
    )
    parser.add_argument(
        "--no-adapter", action="store_true", help="skip the adapter primitives"
    )
    parser.add_argument("--no-timing", action="store_true", help="skip the timing")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch and BLAS threads (default: 1 in a dry run, torch's own else)",
    )
    parser.add_argument("--output", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv=None):
    """Run the CUDA check; return the exit status (see the module docstring)."""
    args = parse_args(argv)
    device = "cpu" if args.cpu_dry_run else args.device
    on_gpu = torch.device(device).type == "cuda"
    if on_gpu and not torch.cuda.is_available():
        print(SKIP_MESSAGE, flush=True)
        return 0
    dry_run = not on_gpu
    threads = args.threads or (1 if dry_run else torch.get_num_threads())
    restore_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            return _run(args, device, dry_run, threads)
    finally:
        torch.set_num_threads(restore_threads)


def _run(args, device, dry_run, threads):
    title = "sknoisy on CUDA: agreement with the CPU, and speed"
    report = Report.start(title + (" (CPU dry run)" if dry_run else ""), args.quick)
    where = (
        f"{device}: {torch.cuda.get_device_name(torch.device(device))}, float32 "
        f"matmul precision {torch.get_float32_matmul_precision()!r} (TF32, "
        "'high', would exceed the adapters' 1e-4 tolerance)"
        if not dry_run
        else "cpu against cpu (dry run: checks the checking code, not a GPU)"
    )
    report.add(
        f"Device: {where}; {threads} torch thread(s) on the CPU side. Small "
        "data: sklearn digits, rows 0-1199 train (20 % uniform noise, seed 0), "
        "1200-1399 clean validation, 1400-1796 test; MLP 64-64-10, SGD lr "
        f"0.05, batch 128, {small_epochs(args.quick)} epochs. A path passes "
        f"with label agreement ≥ {MIN_LABEL_AGREEMENT}, mean |Δp| ≤ "
        f"{MAX_MEAN_PROBA_DIFF}, max |Δp| ≤ {MAX_PROBA_DIFF}, numpy outputs, "
        "a pickle round trip, no tensor off the CPU outside skorch nets and "
        "the global torch RNG untouched. *Selection agreement* (the share "
        "of rows with the same removal count, relabelling, label, kept flag "
        "or noisy flag) is for information."
    )
    outcomes, adapter_rows = run_checks(
        device, args.quick, paths=args.paths, adapter=not args.no_adapter
    )
    report.add(
        "## Deep paths, CPU fit against device fit\n\n" + outcome_table(outcomes)
    )
    if adapter_rows:
        rows = [
            [
                name,
                absolute if isinstance(absolute, str) else f"{absolute:.2e}",
                relative if isinstance(relative, str) else f"{relative:.2e}",
            ]
            for name, absolute, relative in adapter_rows
        ]
        report.add(
            "## SkorchAdapter primitives on the same weights\n\n"
            f"Tolerance: relative error ≤ {ADAPTER_RTOL} of the largest entry.\n\n"
            + markdown_table(["primitive", "max abs error", "max rel error"], rows)
        )
    if not args.no_timing:
        X, y_noisy, source = timing_data(args.quick)
        epochs = 1 if args.quick else 5
        rows = time_methods(device, X, y_noisy, epochs)
        report.add(
            f"## Timing\n\n{source}: {X.shape[0]} rows, MLP 784-256-10, "
            f"{epochs} epoch(s), fit and predict_proba.\n\n"
            + markdown_table(
                ["method", "s cpu side", f"s device side ({device})", "cpu / device"],
                [
                    [name, f"{cpu:.2f}", f"{dev:.2f}", f"{cpu / dev:.2f}"]
                    for name, cpu, dev in rows
                ],
            )
        )
    failures = [f"- {o.name}: {msg}" for o in outcomes for msg in o.failures]
    notes = sorted({w for o in outcomes for w in o.warnings})
    if notes:
        report.add("## Warnings raised\n\n" + "\n".join(f"- {w}" for w in notes))
    report.add(
        "## Result\n\n" + ("\n".join(failures) if failures else "Every check passed.")
    )
    if not dry_run:
        stem = Path(__file__).stem + ("_quick" if args.quick else "")
        report.write(args.output or RESULTS_DIR / f"{stem}.md")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
