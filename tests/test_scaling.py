"""Scaling out: pickling to workers and joblib's dask backend.

scikit-learn users scale tuning out through joblib: ``GridSearchCV(...,
n_jobs=...)`` inside ``joblib.parallel_backend("dask")`` sends every
(estimator, parameters, fold) task to a dask worker process. That needs
estimators that pickle with everything they hold and give the same results
in another process. The cluster here is a local one with two worker
processes, as in docs/scaling.rst.
"""

import importlib.util
import inspect
import logging
import os
import pickle
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.model_selection import GridSearchCV, PredefinedSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknoisy import RDIARelabeler
from sknoisy.exceptions import CorrectionFallbackWarning
from sknoisy.model_selection import trusted_scorer
from sknoisy.noise import make_label_noise
from sknoisy.utils import all_estimators

# Prune4ReL's default tau suits CNN features and says so on these toy data.
pytestmark = pytest.mark.filterwarnings("ignore:tau=:UserWarning")

_HAS_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "skorch"))


def _require(module, why):
    """Skip without ``module`` locally; in CI (``CI=true``) a missing one fails."""
    if importlib.util.find_spec(module) is not None:
        return
    message = f"{module} is not installed: {why}"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message + ". CI installs it with the test extra.")
    pytest.skip(message)


def _is_skorch_class(cls):
    return any(base.__module__.startswith("skorch.") for base in cls.__mro__)


def _tiny_module(n_features, n_classes):
    from torch import nn

    return nn.Sequential(nn.Linear(n_features, 8), nn.ReLU(), nn.Linear(8, n_classes))


def _tiny_net_params(n_features, n_classes):
    import torch

    return dict(
        module=_tiny_module(n_features, n_classes),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=0.01,
        max_epochs=3,
        batch_size=32,
        train_split=None,
        verbose=0,
    )


def _base_model_factories():
    """tests/test_common.py's base models and settings, for the same setup."""
    from test_common import _BASE_MODELS, _TEST_PARAMS, _linear_base_model

    return _BASE_MODELS, _linear_base_model, _TEST_PARAMS


def _meta_estimator_kwargs(cls):
    base_models, linear_base_model, test_params = _base_model_factories()
    kwargs = dict(test_params.get(cls.__name__, {}))
    for name, param in inspect.signature(cls).parameters.items():
        if name == "estimator" and param.default in (None, inspect.Parameter.empty):
            kwargs[name] = base_models.get(cls.__name__, linear_base_model)()
        elif param.default is inspect.Parameter.empty:
            raise TypeError(f"Add a test instance for {cls.__name__}({name}=...).")
    return kwargs


def _instance(cls, n_features, n_classes):
    """The estimator as tests/test_common.py builds it (a linear base model).

    Networks (skorch classes) get a tiny module instead.
    """
    if _is_skorch_class(cls):
        if not _HAS_TORCH:
            pytest.skip("torch and skorch are not installed")
        params = _tiny_net_params(n_features, n_classes)
        if "noise_rate" in inspect.signature(cls).parameters:
            params["noise_rate"] = 0.2
        # No random_state: the module instance carries its initial weights
        # and skorch does not shuffle by default, so fits are reproducible.
        return cls(**params)
    estimator = cls(**_meta_estimator_kwargs(cls))
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=0)
    return estimator


def _classification_data(n_classes=3):
    X, y = make_classification(
        n_samples=150,
        n_features=6,
        n_informative=4,
        n_classes=n_classes,
        random_state=0,
    )
    return StandardScaler().fit_transform(X).astype(np.float32), y


ESTIMATOR_NAMES = [name for name, _ in all_estimators()]
ESTIMATORS = dict(all_estimators())


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        # The checks' settings (test_common._TEST_PARAMS): RDIARelabeler
        # holds out noisy rows, and says so.
        warnings.filterwarnings("ignore", "No validation set given", UserWarning)
        return estimator.fit(X, y)


@pytest.mark.parametrize("name", ESTIMATOR_NAMES)
def test_fitted_estimator_pickles_with_equal_predictions(name):
    X, y = _classification_data()
    estimator = _fit(_instance(ESTIMATORS[name], X.shape[1], 3), X, y)

    loaded = pickle.loads(pickle.dumps(estimator))

    assert type(loaded) is type(estimator)
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    if hasattr(estimator, "predict_proba"):
        np.testing.assert_array_equal(
            loaded.predict_proba(X), estimator.predict_proba(X)
        )
    # The copy is independent: refitting it leaves the original as it was.
    before = estimator.predict_proba(X)
    _fit(loaded, X[:100], y[:100])
    np.testing.assert_array_equal(estimator.predict_proba(X), before)


@pytest.mark.torch
def test_rdia_ls_relabeler_pickles_with_equal_predictions():
    if not _HAS_TORCH:
        pytest.skip("torch and skorch are not installed")
    from skorch import NeuralNetClassifier

    X, y = _classification_data(n_classes=2)
    rdia = RDIARelabeler(
        NeuralNetClassifier(**_tiny_net_params(X.shape[1], 2)),
        noise_rate=0.2,
        random_state=0,
    ).fit(X, y, X_val=X[:30], y_val=y[:30])

    loaded = pickle.loads(pickle.dumps(rdia))

    np.testing.assert_array_equal(loaded.predict_proba(X), rdia.predict_proba(X))
    np.testing.assert_array_equal(loaded.y_relabeled_, rdia.y_relabeled_)


# --------------------------------------------------------------- dask
@pytest.fixture(scope="module")
def dask_client():
    _require("distributed", "the dask tests need dask.distributed")
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        # Import once per worker up front, not inside the first timed task.
        client.run(_import_in_worker)
        yield client


def _import_in_worker():
    import sklearn.model_selection  # noqa: F401

    import sknoisy  # noqa: F401

    if _HAS_TORCH:
        import skorch  # noqa: F401


def _on_dask(client, run):
    """``run()`` under joblib's dask backend; its result and the task count."""
    from dask.distributed import get_task_stream
    from joblib import parallel_backend

    with get_task_stream(client) as stream, parallel_backend("dask"):
        result = run()
    return result, len(stream.data)


def _search_results(search, **fit_params):
    search.fit(**fit_params)
    return search.cv_results_


def _noisy_cancer_with_trusted_rows():
    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:400], y[:400]
    trusted = np.arange(len(y)) % 4 == 0
    y_noisy = y.copy()
    y_noisy[~trusted] = make_label_noise(y[~trusted], 0.3, random_state=0)
    return X, y_noisy, trusted


def test_grid_search_over_alpha_runs_on_a_dask_cluster(dask_client):
    # docs/scaling.rst: the trusted rows travel with X through the folds and
    # the scaler, and each test fold is scored on its trusted rows.
    X, y_noisy, trusted = _noisy_cancer_with_trusted_rows()
    alphas = [0.01, 0.002, 0.0002, 0.0]
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            make_pipeline(StandardScaler(), RDIARelabeler(random_state=0)),
            {"rdiarelabeler__alpha": alphas},
            cv=3,
            scoring=trusted_scorer("neg_log_loss"),
            n_jobs=2,
        )
        fit_params = dict(X=X, y=y_noisy, trusted=trusted)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CorrectionFallbackWarning)
            expected = _search_results(
                clone(search).set_params(n_jobs=None), **fit_params
            )
            on_dask, n_tasks = _on_dask(
                dask_client, lambda: _search_results(search, **fit_params)
            )

    assert n_tasks >= len(alphas)  # the fits ran on the workers
    np.testing.assert_allclose(
        on_dask["mean_test_score"], expected["mean_test_score"], rtol=1e-12
    )
    # The search refits the best alpha and hands back a working estimator.
    assert search.best_params_["rdiarelabeler__alpha"] in alphas
    assert search.best_estimator_.score(X[trusted], y_noisy[trusted]) > 0.9


def _noisy_cancer_with_clean_validation():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, y_train = X[:300], y[:300]
    X_val, y_val = X[300:400], y[300:400]
    y_noisy = make_label_noise(y_train, 0.3, random_state=0)
    # The clean validation rows form the only test fold.
    X_all = np.vstack([X_train, X_val])
    y_all = np.r_[y_noisy, y_val]
    test_fold = np.r_[np.full(len(y_noisy), -1), np.zeros(len(y_val))]
    return X_all, y_all, PredefinedSplit(test_fold), X_val, y_val


@pytest.mark.torch
def test_grid_search_over_gamma_of_rdia_ls_runs_on_a_dask_cluster(dask_client):
    if not _HAS_TORCH:
        pytest.skip("torch and skorch are not installed")
    from skorch import NeuralNetClassifier

    X_all, y_all, cv, X_val, y_val = _noisy_cancer_with_clean_validation()
    X_all, X_val = X_all.astype(np.float32), X_val.astype(np.float32)
    net = NeuralNetClassifier(**_tiny_net_params(X_all.shape[1], 2))
    search = GridSearchCV(
        RDIARelabeler(net, noise_rate=0.3, random_state=0),
        {"gamma": [0.2, 0.8]},
        cv=cv,
        scoring="neg_log_loss",
        refit=False,
        n_jobs=2,
    )
    fit_params = dict(X=X_all, y=y_all, X_val=X_val, y_val=y_val)

    expected = _search_results(clone(search).set_params(n_jobs=None), **fit_params)
    on_dask, n_tasks = _on_dask(
        dask_client, lambda: _search_results(search, **fit_params)
    )

    assert n_tasks >= 2
    # Seeded networks train identically in the worker processes.
    np.testing.assert_allclose(
        on_dask["mean_test_score"], expected["mean_test_score"], rtol=1e-5
    )
    assert np.all(np.isfinite(on_dask["mean_test_score"]))


@pytest.mark.parametrize("name", ESTIMATOR_NAMES)
def test_every_estimator_cross_validates_on_a_dask_cluster(dask_client, name):
    X, y = _classification_data()
    estimator = _instance(ESTIMATORS[name], X.shape[1], 3)

    def cross_validate(n_jobs):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "No validation set given", UserWarning)
            return cross_val_score(estimator, X, y, cv=2, n_jobs=n_jobs)

    expected = cross_validate(n_jobs=None)
    on_dask, n_tasks = _on_dask(dask_client, lambda: cross_validate(n_jobs=2))

    assert n_tasks >= 2
    np.testing.assert_allclose(on_dask, expected, rtol=1e-5)


def _blobs_with_noise(n=400):
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n, n_features=8, centers=4, random_state=0)
    return X.astype(np.float32), y, make_label_noise(y, 0.3, random_state=0)


def test_a_single_prune4rel_fit_spreads_its_graph_over_a_dask_cluster(
    dask_client, monkeypatch
):
    # docs/scaling.rst: one large fit, its neighbour-graph blocks on workers.
    import sknoisy.neighbors as neighbors
    from sknoisy import Prune4ReLSelector
    from sknoisy.linear_model import SoftmaxRegression

    X, _, y_noisy = _blobs_with_noise()
    monkeypatch.setattr(neighbors, "_BLOCK_BYTES", 400 * 4 * 50)  # 8 blocks

    def select():
        selector = Prune4ReLSelector(
            SoftmaxRegression(max_epochs=5), fallback=False, random_state=0
        )
        return selector.fit_resample(X, y_noisy), selector

    (X_serial, y_serial), serial = select()
    ((X_dask, y_dask), on_dask), n_tasks = _on_dask(dask_client, select)
    assert n_tasks >= 4  # joblib may batch the 8 blocks into fewer tasks
    np.testing.assert_array_equal(on_dask.sample_indices_, serial.sample_indices_)
    np.testing.assert_array_equal(X_dask, X_serial)
    np.testing.assert_array_equal(y_dask, y_serial)


def test_a_single_alc_fit_spreads_its_graphs_over_a_dask_cluster(
    dask_client, monkeypatch
):
    import sknoisy.neighbors as neighbors
    from sknoisy import RobustActiveLabelCorrector
    from sknoisy.linear_model import SoftmaxRegression

    X, y, y_noisy = _blobs_with_noise()
    monkeypatch.setattr(neighbors, "_BLOCK_BYTES", 200 * 8 * 50)  # 4 blocks

    def correct():
        return RobustActiveLabelCorrector(
            SoftmaxRegression(max_epochs=5),
            budget=40,
            batch_size=20,
            n_candidates=200,
            fallback=False,
            random_state=0,
        ).fit(X, y_noisy, annotator=lambda rows: y[rows])

    serial = correct()
    on_dask, n_tasks = _on_dask(dask_client, correct)
    # Two rounds of four blocks (joblib may batch blocks into fewer tasks).
    assert n_tasks >= 4
    np.testing.assert_array_equal(on_dask.queried_, serial.queried_)
    np.testing.assert_array_equal(on_dask.labels_, serial.labels_)
