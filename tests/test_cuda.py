"""The CUDA check script: on a GPU, as a CPU dry run, and its skip without one.

``benchmarks/cuda_check.py`` compares every deep code path fitted on CUDA
with the same fit on the CPU. Without a GPU the comparison runs CPU against
CPU (``--cpu-dry-run``), which exercises the checking code itself; the
helpers that decide pass or fail are tested on inputs that must fail.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("skorch")

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import cuda_check  # noqa: E402


@pytest.fixture
def one_thread():
    # The machines running the suite are small and shared.
    restore = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(restore)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_every_deep_path_agrees_with_the_cpu_on_cuda():
    outcomes, adapter_rows = cuda_check.run_checks("cuda", quick=True)
    failures = [f"{o.name}: {msg}" for o in outcomes for msg in o.failures]
    assert not failures, "\n".join(failures)
    assert {o.name for o in outcomes} == {*cuda_check.PATH_NAMES, "SkorchAdapter"}
    assert adapter_rows


@pytest.mark.parametrize("path", cuda_check.PATH_NAMES)
def test_cpu_dry_run_of_each_deep_path_passes(path, one_thread):
    (outcome,), _ = cuda_check.run_checks(
        "cpu", quick=True, paths=(path,), adapter=False
    )
    assert outcome.passed, outcome.failures
    # CPU against CPU from the same seed: the very same model.
    assert outcome.metrics["agreement"] == 1.0
    assert outcome.metrics["max_proba_diff"] == 0.0
    assert outcome.metrics["selection_agreement"] == 1.0


def test_cpu_dry_run_of_the_adapter_primitives_passes(one_thread):
    outcomes, rows = cuda_check.run_checks("cpu", quick=True, paths=())
    assert [o.name for o in outcomes] == ["SkorchAdapter"]
    assert outcomes[0].passed, outcomes[0].failures
    names = [row[0] for row in rows]
    for primitive in (
        "predict_proba",
        "embed",
        "per_sample_loss",
        "gradient_factors: R",
        "per_sample_gradients",
        "parameter_gradients",
        "train_step: weights",
    ):
        assert primitive in names
    assert all(row[1] == 0.0 for row in rows)


def test_main_dry_run_exits_zero_and_writes_no_report(
    one_thread, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(cuda_check, "RESULTS_DIR", tmp_path)
    # Tiny timing data: the timing code runs, in well under a second.
    monkeypatch.setattr(
        cuda_check,
        "timing_data",
        lambda quick: (*_tiny_timing_data(), "tiny test data"),
    )
    status = cuda_check.main(
        ["--cpu-dry-run", "--quick", "--paths", "RDIA-LS", "--no-adapter"]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "Every check passed." in out
    assert "| RDIA-LS |" in out
    assert "| AGRA |" in out  # the timing table
    assert not list(tmp_path.iterdir())


def _tiny_timing_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 784)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def test_main_without_cuda_prints_the_skip_message_and_exits_zero(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    def must_not_run(*args, **kwargs):
        raise AssertionError("no check may run without a CUDA device")

    monkeypatch.setattr(cuda_check, "run_checks", must_not_run)
    assert cuda_check.main([]) == 0
    assert cuda_check.main(["--quick", "--device", "cuda:1"]) == 0
    out = capsys.readouterr().out
    assert out.count("skipped: no CUDA device") == 2


def test_a_path_that_raises_fails_and_the_others_still_run(monkeypatch, one_thread):
    def broken_fit(estimator, data):
        raise RuntimeError("Expected all tensors to be on the same device")

    broken = cuda_check.DeepPath(
        "broken", lambda net: net, broken_fit, lambda est, d: None
    )
    rdia = next(p for p in cuda_check.DEEP_PATHS if p.name == "RDIA-LS")
    monkeypatch.setattr(cuda_check, "DEEP_PATHS", (broken, rdia))
    outcomes, _ = cuda_check.run_checks(
        "cpu", quick=True, paths=("broken", "RDIA-LS"), adapter=False
    )
    assert [o.name for o in outcomes] == ["broken", "RDIA-LS"]
    assert not outcomes[0].passed
    assert "same device" in outcomes[0].failures[0]
    assert outcomes[1].passed


def test_disagreeing_predictions_fail_the_comparison():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=100)
    flipped = proba[:, ::-1]
    outcome = cuda_check.Outcome("fake")
    cuda_check.compare_predictions(
        outcome,
        [(proba, proba.argmax(1)), (flipped, flipped.argmax(1))],
        np.zeros(100, dtype=int),
    )
    assert not outcome.passed
    assert any("labels agree" in msg for msg in outcome.failures)

    close = cuda_check.Outcome("close")
    nudged = proba + 1e-7
    cuda_check.compare_predictions(
        close,
        [(proba, proba.argmax(1)), (nudged, nudged.argmax(1))],
        np.zeros(100, dtype=int),
    )
    assert close.passed


def test_tensors_off_the_cpu_are_found_outside_skorch_nets():
    class Fitted:
        pass

    fitted = Fitted()
    fitted.scores_ = {"last": [np.zeros(2), torch.zeros(2, device="meta")]}
    fitted.cpu_tensor_ = torch.zeros(2)
    fitted.module_ = torch.nn.Linear(2, 2, device="meta")
    found = cuda_check.off_cpu_tensors(fitted)
    assert len(found) == 3
    assert any("scores_" in path and "meta" in path for path in found)
    assert any("module_.weight" in path for path in found)

    clean = Fitted()
    clean.cpu_tensor_ = torch.zeros(2)
    assert cuda_check.off_cpu_tensors(clean) == []


def test_a_draw_from_the_global_torch_stream_is_detected():
    before = cuda_check.rng_snapshot()
    with cuda_check.seeded_global_stream(0):
        torch.rand(3)
    assert cuda_check.rng_changes(before, cuda_check.rng_snapshot()) == []
    torch.rand(3)
    assert cuda_check.rng_changes(before, cuda_check.rng_snapshot()) == ["CPU"]
