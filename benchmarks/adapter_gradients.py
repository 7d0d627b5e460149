"""Per-sample last-layer gradients: the adapters' closed form against vmap.

What is measured, and why:

AGRA compares every sample's last-layer gradient ``g_i = r_i h_iᵀ`` with an
aggregated gradient ``G`` of a comparison batch, through ``<g_i, G>`` and the
cosine ``<g_i, G> / (||g_i|| ||G||)``. The adapters return the factors
``R, H = adapter.gradient_factors(X, y)`` instead of the gradients, so that

    <g_i, G> = rowsum((R @ G) * H)_i = rowsum(R * (H @ Gᵀ))_i,
    ||g_i|| = ||r_i|| ||h_i||,

which needs O(n·(K + h)) memory and keeps sparse ``H`` sparse (the second
form is used; it never builds an n x h dense product). The obvious
alternative is to materialise the per-sample gradients with
``torch.func.vmap(torch.func.grad(loss))`` over the last layer's weight, an
(n, K, h) tensor, and contract it with ``G``. Both sides include their
forward pass. Cases: ``SoftmaxRegression`` (through ``LinearAdapter``) on
dense and on sparse TF-IDF data (vmap cannot take scipy sparse input, so the
brute force densifies X first, inside its timing), and a skorch
``NeuralNetClassifier`` MLP 784-256-10 trained one epoch on the MNIST test
images scaled to [0, 1] (float32, as the network computes).

Reported: median time of interleaved repeats and the ratio closed / vmap
(< 1: closed form faster); peak extra memory of each, measured (numpy
allocations with ``tracemalloc`` plus torch CPU allocations from the torch
profiler's memory events; the two peaks are added, an upper bound of the
joint peak) next to the analytic sizes n·(K + h) and n·K·h; and the largest
difference between the two results, max_i |a_i - b_i| / max_i |b_i| for the
inner products and max_i |a_i - b_i| for the cosines, which must be ≤ 1e-5.

Run: ``SKNOISY_DATA=/work/shared/data python benchmarks/adapter_gradients.py``
(``--quick`` for a < 1 minute smoke run). Data sets whose files are missing are
skipped with a note. Exits with status 1 if a difference exceeds 1e-5.
"""

import argparse
import contextlib
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _report import Report, markdown_table, median_times, mib
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.extmath import row_norms
from torch.func import functional_call, grad, vmap

from sknoisy.adapters import make_adapter
from sknoisy.datasets import load_mnist, load_wrench
from sknoisy.linear_model import SoftmaxRegression

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TORCH_THREADS = 2
# The control setting: one torch thread and one BLAS thread.
CONTROL_THREADS = 1
TOLERANCE = 1e-5


# --------------------------------------------------------------- reporting


# ------------------------------------------------------------- measurement
@contextlib.contextmanager
def quiet_stderr():
    """Silence the profiler's C++ start/stop lines on file descriptor 2."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def torch_peak_bytes(prof):
    """Peak of the running sum of the profiler's CPU allocation events."""
    events = [
        (event.start_ns(), event.nbytes())
        for event in prof.profiler.kineto_results.events()
        if event.name() == "[memory]"
    ]
    events.sort()
    running = np.cumsum([n_bytes for _, n_bytes in events]) if events else [0]
    return max(0, int(np.max(running)))


def peak_extra_bytes(fn):
    """Peak numpy (tracemalloc) plus peak torch (profiler) bytes of ``fn()``.

    Returns None for the torch part when the profiler's events are not
    available in this torch version.
    """
    tracemalloc.start()
    try:
        with quiet_stderr():
            with torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True
            ) as prof:
                fn()
        _, numpy_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        torch_peak = torch_peak_bytes(prof)
    except AttributeError:  # private profiler API changed
        torch_peak = None
    return numpy_peak, torch_peak


def cosines(dots, norms, G_norm):
    """Cosine of each per-sample gradient with G; 0 for a zero gradient."""
    denominator = norms * G_norm
    return np.divide(dots, denominator, out=np.zeros_like(dots), where=denominator > 0)


# ------------------------------------------------------ the two computations
def closed_form(adapter, X, y, G):
    """Inner products and norms from the adapter's factors."""
    R, H = adapter.gradient_factors(X, y)
    dots = np.einsum("ik,ik->i", R, np.asarray(H @ G.T))
    norms = np.linalg.norm(R, axis=1) * row_norms(H)
    return dots, norms


def literal_form(adapter, X, y, G):
    """``rowsum((R @ G) * H)``, to check it equals the form timed."""
    R, H = adapter.gradient_factors(X, y)
    if sparse.issparse(H):
        return np.asarray(H.multiply(R @ G).sum(axis=1)).ravel()
    return ((R @ G) * H).sum(axis=1)


def brute_linear(adapter, X, y, G):
    """vmap(grad) over SoftmaxRegression's weight, materialised (n, K, h)."""
    model = adapter.model
    weight = torch.as_tensor(model.coef_)
    bias = torch.as_tensor(model.intercept_)
    X_dense = X.toarray() if sparse.issparse(X) else X
    X_t = torch.as_tensor(X_dense, dtype=torch.float64)
    y_t = torch.as_tensor(y)

    def loss(w, x, target):
        return F.cross_entropy((x @ w.T + bias)[None], target[None])

    grads = vmap(grad(loss), in_dims=(None, 0, 0))(weight, X_t, y_t)
    dots = torch.einsum("nkh,kh->n", grads, torch.as_tensor(G))
    norms = torch.linalg.vector_norm(grads, dim=(1, 2))
    return dots.numpy(), norms.numpy()


def brute_skorch(adapter, X, y, G):
    """vmap(grad) of the net's loss over the last layer's weight (float32)."""
    net = adapter.net
    module = net.module_
    module.eval()
    params = {name: p.detach() for name, p in module.named_parameters()}
    weight_name = f"{adapter.last_layer}.weight"
    X_t = torch.as_tensor(X, dtype=torch.float32)
    y_t = torch.as_tensor(y, dtype=torch.int64)

    def loss(w, x, target):
        out = functional_call(module, {**params, weight_name: w}, (x[None],))
        return net.get_loss(out, target[None], X=x[None], training=False).sum()

    grads = vmap(grad(loss), in_dims=(None, 0, 0))(params[weight_name], X_t, y_t)
    dots = torch.einsum("nkh,kh->n", grads, torch.as_tensor(G, dtype=torch.float32))
    norms = torch.linalg.vector_norm(grads, dim=(1, 2))
    return dots.numpy().astype(np.float64), norms.numpy().astype(np.float64)


# ------------------------------------------------------------------- cases
class MLP(torch.nn.Module):
    def __init__(self, n_features=784, n_hidden=256, n_classes=10):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, n_hidden)
        self.output = torch.nn.Linear(n_hidden, n_classes)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x)))


def linear_adapter(X, y):
    n_classes = int(y.max()) + 1
    adapter = make_adapter(SoftmaxRegression(), n_classes)
    adapter.initialize(X, y, random_state=0)
    adapter.fit_epoch(X, y)  # one epoch, so that the parameters are not random
    return adapter


def skorch_adapter(X, y):
    from skorch import NeuralNetClassifier

    net = NeuralNetClassifier(
        MLP,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        batch_size=128,
        max_epochs=1,
        verbose=0,
    )
    adapter = make_adapter(net, n_classes=10)
    adapter.initialize(X, y, random_state=0)
    adapter.fit_epoch(X, y)
    return adapter


def build_cases(args, notes):
    """(name, adapter, X, y, brute function, itemsize of the brute force)."""
    cases = []
    rng = np.random.default_rng(0)
    n_random = 5_000 if args.quick else 20_000
    X = rng.standard_normal((n_random, 64))
    y = np.argmax(
        X @ rng.standard_normal((64, 10)) + rng.gumbel(size=(n_random, 10)), axis=1
    )
    cases.append(
        ("SoftmaxRegression, random dense", linear_adapter(X, y), X, y, brute_linear)
    )
    try:
        images, digits = load_mnist("test", download_if_missing=False)
    except FileNotFoundError:
        images = None
        notes.append("MNIST test images skipped: files not available.")
        print("note: MNIST skipped (files not found)", flush=True)
    if images is not None:
        n = 512 if args.quick else 2048
        X = images[:n] / 255.0
        cases.append(
            (
                "SoftmaxRegression, MNIST pixels (dense)",
                linear_adapter(X, digits[:n]),
                X,
                digits[:n],
                brute_linear,
            )
        )
    for name in ("youtube",) if args.quick else ("youtube", "sms"):
        try:
            ds = load_wrench(name, download_if_missing=False)
        except FileNotFoundError:
            notes.append(f"WRENCH {name!r} skipped: files not available.")
            print(f"note: WRENCH {name!r} skipped (files not found)", flush=True)
            continue
        X = TfidfVectorizer().fit_transform(ds.train.data).tocsr()
        y = ds.train.target
        cases.append(
            (
                f"SoftmaxRegression, WRENCH {name} TF-IDF (CSR, nnz {X.nnz})",
                linear_adapter(X, y),
                X,
                y,
                brute_linear,
            )
        )
    if images is not None:
        X = (images / 255.0).astype(np.float32)
        print("training the skorch MLP for one epoch ...", flush=True)
        adapter = skorch_adapter(X, digits)
        for n in (512,) if args.quick else (512, 4096):
            cases.append(
                (
                    "skorch MLP 784-256-10, MNIST (float32)",
                    adapter,
                    X[:n],
                    digits[:n],
                    brute_skorch,
                )
            )
    return cases


# --------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run in under a minute"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS_DIR / f"{Path(__file__).stem}.md",
        help="markdown file to write (default: benchmarks/results/<script>.md)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    repeats = 3 if args.quick else 9
    budget = 3.0 if args.quick else 10.0  # seconds per case and thread setting
    torch.set_num_threads(TORCH_THREADS)

    report = Report.start(
        "Per-sample last-layer gradients: closed form vs vmap", args.quick
    )
    notes = []
    cases = build_cases(args, notes)

    time_rows, memory_rows, accuracy_rows = [], [], []
    failed = False
    for name, adapter, X, y, brute in cases:
        print(f"measuring {name}, n = {X.shape[0]} ...", flush=True)
        R, H = adapter.gradient_factors(X, y)
        n, K = R.shape
        h = H.shape[1]
        G = np.random.default_rng(1).standard_normal((K, h))
        G_norm = np.linalg.norm(G)
        label = f"{name}, n={n}, K={K}, h={h}"

        # Results and their agreement.
        dots, norms = closed_form(adapter, X, y, G)
        literal = literal_form(adapter, X, y, G)
        if not np.allclose(dots, literal, rtol=1e-10, atol=1e-12 * np.abs(dots).max()):
            raise AssertionError(f"{name}: rowsum forms disagree")
        brute_dots, brute_norms = brute(adapter, X, y, G)
        dot_diff = np.abs(dots - brute_dots).max() / np.abs(brute_dots).max()
        cos_diff = np.abs(
            cosines(dots, norms, G_norm) - cosines(brute_dots, brute_norms, G_norm)
        ).max()
        ok = dot_diff <= TOLERANCE and cos_diff <= TOLERANCE
        failed |= not ok
        accuracy_rows.append(
            [
                label,
                f"{dot_diff:.1e}",
                f"{cos_diff:.1e}",
                int(np.sum(brute_norms == 0)),
                "pass" if ok else "**FAIL**",
            ]
        )

        # Time, with the benchmark's thread count and the 1-thread control.
        row = [label]
        rounds, medians = [], {}
        for threads in (TORCH_THREADS, CONTROL_THREADS):
            median, done = median_times(
                {
                    "closed": lambda a=adapter, X=X, y=y, G=G: closed_form(a, X, y, G),
                    "brute": lambda a=adapter, X=X, y=y, G=G, f=brute: f(a, X, y, G),
                },
                repeats,
                threads,
                budget,
            )
            rounds.append(str(done))
            medians[threads] = median
            row += [
                f"{median['closed'] * 1e3:.1f}",
                f"{median['brute'] * 1e3:.1f}",
                f"{median['closed'] / median['brute']:.3f}",
            ]
        time_rows.append([*row, " / ".join(rounds)])
        for key, what in (("closed", "closed form"), ("brute", "vmap")):
            slowdown = medians[TORCH_THREADS][key] / medians[CONTROL_THREADS][key]
            if slowdown > 3:
                notes.append(
                    f"{label}, {what}: {slowdown:.0f}x slower with {TORCH_THREADS} "
                    f"threads than with {CONTROL_THREADS} in this run (machine "
                    "load; see the control columns)."
                )

        # Memory.
        brute_itemsize = 4 if "float32" in name else 8
        closed_np, closed_torch = peak_extra_bytes(
            lambda a=adapter, X=X, y=y, G=G: closed_form(a, X, y, G)
        )
        brute_np, brute_torch = peak_extra_bytes(
            lambda a=adapter, X=X, y=y, G=G, f=brute: f(a, X, y, G)
        )
        if closed_torch is None or brute_torch is None:
            notes.append("torch profiler memory events unavailable: torch part n/a.")
            closed_torch = closed_torch or 0
            brute_torch = brute_torch or 0
        memory_rows.append(
            [
                label,
                f"{mib(closed_np)} + {mib(closed_torch)}",
                f"{mib(brute_np)} + {mib(brute_torch)}",
                f"{(closed_np + closed_torch) / (brute_np + brute_torch):.3f}",
                mib(n * (K + h) * 8),
                mib(n * K * h * brute_itemsize),
            ]
        )

    report.add(
        "## Time\n\n"
        f"Median of up to {repeats} interleaved repeats (fewer when a setting "
        f"exceeds {budget:.0f} s; the count is shown) after one warm-up call, "
        "in ms. "
        "Closed form: `adapter.gradient_factors` (forward pass included) then "
        "`rowsum(R * (H @ G.T))` and `||r_i|| ||h_i||`. vmap: "
        "`vmap(grad(loss))` over the last layer's weight (forward included; "
        "sparse X densified first), then contraction with G and per-sample "
        "norms. Ratio < 1: closed form faster. Each case is timed with "
        f"{TORCH_THREADS} threads (torch and numpy BLAS; the benchmark setting) "
        f"and, as a control, with {CONTROL_THREADS}: on this shared 2-vCPU "
        "machine multi-threaded kernels can be much slower than single-threaded "
        "ones, which affects both sides.\n\n"
        + markdown_table(
            [
                "case",
                f"closed ms ({TORCH_THREADS} thr)",
                f"vmap ms ({TORCH_THREADS} thr)",
                f"closed / vmap ({TORCH_THREADS} thr)",
                f"closed ms ({CONTROL_THREADS} thr)",
                f"vmap ms ({CONTROL_THREADS} thr)",
                f"closed / vmap ({CONTROL_THREADS} thr)",
                "repeats",
            ],
            time_rows,
        )
    )
    report.add(
        "## Peak extra memory (MiB)\n\n"
        "Measured in a separate, untimed call: numpy allocations (`tracemalloc`) "
        "+ torch CPU allocations (torch profiler memory events, running sum), "
        "each the peak beyond what existed before the call; their sum bounds the "
        "joint peak from above. Analytic: the factors R and H in float64, "
        "n·(K + h)·8 bytes (for sparse H the CSR is smaller), and the "
        "materialised gradients, n·K·h·itemsize bytes (float64 for "
        "SoftmaxRegression, float32 for the MLP).\n\n"
        + markdown_table(
            [
                "case",
                "closed form (numpy + torch)",
                "vmap (numpy + torch)",
                "closed / vmap",
                "analytic n(K+h)",
                "analytic nKh",
            ],
            memory_rows,
        )
    )
    report.add(
        "## Agreement (must be ≤ 1e-5)\n\n"
        "Inner products: max_i |closed_i - vmap_i| / max_i |vmap_i|. Cosines: "
        "max_i |closed_i - vmap_i|. The closed form computes in float64 from "
        "the adapter's factors (float32 network outputs cast to float64 for the "
        "MLP); vmap computes in the model's dtype. The timed form "
        "`rowsum(R * (H @ G.T))` is also checked against the literal "
        "`rowsum((R @ G) * H)` (rtol 1e-10). Rows whose gradient is exactly zero "
        "(empty TF-IDF rows: h_i = 0) have no cosine; it is set to 0 on both "
        "sides and their count is shown.\n\n"
        + markdown_table(
            ["case", "inner products", "cosines", "zero-gradient rows", "≤ 1e-5"],
            accuracy_rows,
        )
    )
    if notes:
        report.add("## Notes\n\n" + "\n".join(f"- {note}" for note in notes))
    report.add(
        f"Total wall time (after imports): {time.perf_counter() - started:.0f} s."
    )
    report.write(args.output)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
