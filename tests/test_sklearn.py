"""fastnn.sklearn: scikit-learn's estimator checks, and the meanings of its parameters."""
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("scipy")
from sklearn.base import clone  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

STOCHASTIC = {"check_sample_weight_equivalence_on_dense_data":
              "mini-batches: a sample repeated k times falls into other batches than one "
              "weighted by k, so the fits differ (scikit-learn checks its own MLPs with "
              "solver='lbfgs' here, as the lbfgs instances below do)"}
FLOAT32 = {check: "float32: a row's dot products are summed in an order that depends on the "
           "rows beside it (BLAS blocking), so predictions on a subset can differ in the "
           "last bit (1e-7 relative) from those on the whole; the float64 instances pass"
           for check in ("check_methods_subset_invariance",
                         "check_methods_sample_order_invariance")}
EXPECTED_FAILURES = {("MLPClassifier", "adam"): {**STOCHASTIC, **FLOAT32},
                     ("MLPRegressor", "adam"): {**STOCHASTIC, **FLOAT32}}


def expected_failures(estimator):
    return EXPECTED_FAILURES.get((type(estimator).__name__, estimator.solver), {})


@parametrize_with_checks([MLPClassifier(max_iter=100, backend="numpy", random_state=0),
                          MLPRegressor(max_iter=100, backend="numpy", random_state=0),
                          MLPClassifier(solver="lbfgs", max_iter=100, backend="numpy",
                                        dtype="float64", random_state=0),
                          MLPRegressor(solver="lbfgs", max_iter=200, backend="numpy",
                                       dtype="float64", random_state=0)],
                         expected_failed_checks=expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        check(estimator)


# ---- the meanings of scikit-learn's parameters ---------------------------------------

from sklearn import neural_network  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402


def blobs(n=120, classes=3, features=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (classes, features))
    y = rng.integers(0, classes, n)
    return centers[y] + rng.normal(size=(n, features)), y


def regression(n=100, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    Y = np.tanh(X @ rng.normal(size=(4, outputs)))
    return X, (Y[:, 0] if outputs == 1 else Y)


def sklearn_twin(ours, X, y, sample_weight=None):
    """scikit-learn's estimator with our parameters and our fitted weights."""
    params = {k: v for k, v in ours.get_params().items()
              if k not in ("dropout", "dtype", "backend", "threads", "class_weight")}
    twin = type(ours).__mro__[0].__name__
    twin = getattr(neural_network, twin)(**{**params, "solver": "lbfgs", "max_iter": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        twin.fit(X, y, sample_weight=sample_weight)
    twin.coefs_ = [c.astype(np.float64) for c in ours.coefs_]
    twin.intercepts_ = [b.astype(np.float64) for b in ours.intercepts_]
    return twin


def sklearn_loss_and_gradient(twin, X, Y, sample_weight):
    """scikit-learn's own full-batch loss and gradient (its lbfgs objective)."""
    from sklearn.neural_network._multilayer_perceptron import _pack
    n_layers = len(twin.coefs_)
    activations = [X] + [None] * n_layers
    deltas = [None] * n_layers
    coef_grads = [np.empty_like(c) for c in twin.coefs_]
    intercept_grads = [np.empty_like(b) for b in twin.intercepts_]
    return twin._loss_grad_lbfgs(_pack(twin.coefs_, twin.intercepts_), X, Y, sample_weight,
                                 activations, deltas, coef_grads, intercept_grads)


PROBLEMS = {
    "multiclass": lambda: blobs(60, 3),
    "binary": lambda: blobs(60, 2),
    "multilabel": lambda: (blobs(60)[0], np.random.default_rng(1).integers(0, 2, (60, 3))),
    "regression": lambda: regression(60),
    "multioutput": lambda: regression(60, outputs=3),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_loss_and_gradient_are_sklearns_on_the_same_weights(problem, weighted):
    """alpha's L2 term, the loss's scale and the gradient: scikit-learn's, on fixed weights."""
    X, y = PROBLEMS[problem]()
    w = np.random.default_rng(2).uniform(0.5, 2, len(X)) if weighted else None
    Estimator = MLPRegressor if problem in ("regression", "multioutput") else MLPClassifier
    ours = Estimator(hidden_layer_sizes=(5, 4), activation="tanh", alpha=0.3, max_iter=2,
                     dtype="float64", backend="numpy", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(X, y, sample_weight=w)
    twin = sklearn_twin(ours, X, y, w)
    Y = twin._label_binarizer.transform(y) if Estimator is MLPClassifier else \
        (y[:, None] if y.ndim == 1 else y)
    expected_loss, expected_grad = sklearn_loss_and_gradient(twin, X, Y.astype(float), w)
    X64 = np.asarray(X, np.float64)
    targets, _ = ours._encode(y, False, None, False)
    model = ours.model_
    model.set_l2(ours._objective.l2(ours.alpha, len(X) if w is None else w.sum()))
    loss, grad = ours._loss_and_gradient(model, X64, targets, w)
    if problem != "multioutput":  # scikit-learn's multi-output loss is not its gradient's
        assert loss == pytest.approx(expected_loss, rel=1e-10)
    # fastnn's parameter order is W1, b1, W2, …; scikit-learn's W1, W2, …, b1, b2, …
    sizes = [(c.size, b.size) for c, b in zip(ours.coefs_, ours.intercepts_)]
    ours_W = np.concatenate([grad[sum(a + b for a, b in sizes[:i]):][:c] for i, (c, _) in
                             enumerate(sizes)])
    np.testing.assert_allclose(ours_W, expected_grad[:ours_W.size], rtol=1e-9, atol=1e-12)


def test_alpha_adds_sklearns_l2_term_to_the_reported_loss():
    X, y = blobs(50, 3)
    clf = MLPClassifier((6,), alpha=2.0, solver="lbfgs", max_iter=30, dtype="float64",
                        backend="numpy", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    penalty = sum((W.astype(np.float64) ** 2).sum() for W in clf.coefs_) * 2.0 / (2 * len(X))
    assert clf.loss_ == pytest.approx(log_loss(y, clf.predict_proba(X)) + penalty, rel=1e-6)


def quiet_fit(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(*args, **kwargs)


def test_invscaling_and_adaptive_learning_rates_follow_sklearn():
    X, y = blobs(90, 3)
    common = dict(hidden_layer_sizes=(5,), solver="sgd", learning_rate_init=0.05,
                  max_iter=7, random_state=0, batch_size=40)
    ours = quiet_fit(MLPClassifier(learning_rate="invscaling", power_t=0.3, backend="numpy",
                                   **common), X, y)
    theirs = quiet_fit(neural_network.MLPClassifier(learning_rate="invscaling", power_t=0.3,
                                                    **common), X, y)
    assert ours.t_ == theirs.t_ == 7 * 90
    assert ours._lr == pytest.approx(theirs._optimizer.learning_rate, rel=1e-12)
    # a tol no epoch can meet: every epoch counts as no improvement, so the schedule is fixed
    common.update(max_iter=20, tol=1e9, n_iter_no_change=2)
    ours = quiet_fit(MLPClassifier(learning_rate="adaptive", backend="numpy", **common), X, y)
    theirs = quiet_fit(neural_network.MLPClassifier(learning_rate="adaptive", **common), X, y)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours._lr == pytest.approx(theirs._optimizer.learning_rate, rel=1e-12)
    assert ours._lr == pytest.approx(0.05 / 5 ** 6)
    ours = quiet_fit(MLPClassifier(backend="numpy", **{**common, "solver": "adam"}), X, y)
    theirs = quiet_fit(neural_network.MLPClassifier(**{**common, "solver": "adam"}), X, y)
    # the first epoch improves on best_loss_ = inf; then n_iter_no_change + 1 more
    assert ours.n_iter_ == theirs.n_iter_ == 4


@pytest.mark.parametrize("n, steps", [(450, 3), (150, 1)])
def test_batch_size_auto_is_min_200_n(n, steps):
    X, y = blobs(n, 2)
    clf = quiet_fit(MLPClassifier((4,), max_iter=2, backend="numpy", random_state=0), X, y)
    assert clf.model_.optimizer.step_count == 2 * steps


def test_batch_size_larger_than_the_data_is_clipped_with_a_warning():
    X, y = blobs(30, 2)
    with pytest.warns(UserWarning, match="clipped"):
        clf = MLPClassifier((4,), batch_size=100, max_iter=1, backend="numpy").fit(X, y)
    assert clf.model_.optimizer.step_count == 1


@pytest.mark.parametrize("labels", [np.array(["cat", "dog", "emu"]),
                                    np.array([3, 7, 10]),
                                    np.array(["a", 2.5, None], dtype=object)],
                         ids=["strings", "integers", "objects"])
def test_any_class_labels_round_trip(labels, backend):
    X, y = blobs(90, 3)
    if labels.dtype == object:
        labels = np.array(["a", "b", "c"], dtype=object)
    clf = quiet_fit(MLPClassifier((8,), max_iter=80, learning_rate_init=0.05, backend=backend,
                                  random_state=0), X, labels[y])
    assert list(clf.classes_) == sorted(labels.tolist())
    predicted = clf.predict(X)
    assert set(predicted) <= set(labels) and np.mean(predicted == labels[y]) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (90, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))


def test_binary_labels_use_one_logistic_output():
    X, y = blobs(60, 2)
    clf = quiet_fit(MLPClassifier((4,), max_iter=5, backend="numpy"), X,
                    np.where(y == 1, "yes", "no"))
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert clf.predict_proba(X).shape == (60, 2) and clf.n_layers_ == 3


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = blobs(60, 2)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = quiet_fit(MLPClassifier((4,), max_iter=3, backend="numpy"), frame, y)
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"] and clf.n_features_in_ == 4
    np.testing.assert_array_equal(clf.predict(frame), clf.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(frame[["b", "a", "c", "d"]])


def test_multilabel_indicator_targets(backend):
    X, _ = blobs(120, 3)
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 1] > 0], axis=1).astype(int)
    clf = quiet_fit(MLPClassifier((16,), max_iter=200, learning_rate_init=0.02,
                                  backend=backend, random_state=0), X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    assert clf.predict(X).shape == Y.shape and clf.predict_proba(X).shape == Y.shape
    assert clf.score(X, Y) > 0.8  # subset accuracy


def test_multioutput_regression(backend):
    X, Y = regression(200, outputs=3)
    reg = quiet_fit(MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, learning_rate_init=0.01,
                                 backend=backend, random_state=0), X, Y)
    assert reg.n_outputs_ == 3 and reg.out_activation_ == "identity"
    assert reg.predict(X).shape == (200, 3) and reg.score(X, Y) > 0.9


def test_partial_fit_continues_the_optimizer():
    X, y = blobs(100, 3)
    clf = MLPClassifier((8,), batch_size=50, backend="numpy", random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    assert clf.model_.optimizer.step_count == 1 and clf.n_iter_ == 1
    state = clf.model_.optimizer.m.copy()
    clf.partial_fit(X[50:], y[50:])
    assert clf.model_.optimizer.step_count == 2 and clf.t_ == 100
    assert len(clf.loss_curve_) == 2 and not np.array_equal(clf.model_.optimizer.m, state)
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        clf.partial_fit(X[:3], [0, 1, 5])
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


def test_partial_fit_equals_fit_epoch_by_epoch():
    X, y = blobs(80, 3)
    a = MLPClassifier((8,), backend="numpy", random_state=0, shuffle=False)
    for _ in range(3):
        a.partial_fit(X, y, classes=[0, 1, 2])
    b = quiet_fit(MLPClassifier((8,), backend="numpy", random_state=0, shuffle=False,
                                max_iter=3), X, y)
    np.testing.assert_allclose(a.model_.params, b.model_.params, rtol=1e-6)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-6)


def test_warm_start_continues_from_the_fitted_weights():
    X, y = blobs(100, 3)
    clf = quiet_fit(MLPClassifier((8,), max_iter=5, warm_start=True, backend="numpy",
                                  random_state=0), X, y)
    weights = [W.copy() for W in clf.coefs_]
    first = list(clf.loss_curve_)
    quiet_fit(clf, X, y)
    assert clf.loss_curve_[:5] == first and len(clf.loss_curve_) == 10
    assert clf.loss_curve_[5] < first[0]
    cold = quiet_fit(MLPClassifier((8,), max_iter=5, backend="numpy", random_state=0), X, y)
    np.testing.assert_array_equal(cold.coefs_[0], weights[0])  # same start, same 5 epochs
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, np.where(y == 2, 1, y))


def test_early_stopping_keeps_the_best_validation_weights():
    X, y = blobs(200, 3)
    clf = quiet_fit(MLPClassifier((8,), max_iter=30, early_stopping=True,
                                  validation_fraction=0.2, n_iter_no_change=3,
                                  backend="numpy", random_state=0), X, y)
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert len(clf.loss_curve_) == clf.n_iter_
    plain = quiet_fit(MLPClassifier((8,), max_iter=3, backend="numpy"), X, y)
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None
    assert plain.best_loss_ == min(plain.loss_curve_)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_lbfgs_converges_on_a_small_problem(backend):
    X, y = blobs(80, 3)
    clf = MLPClassifier((10,), solver="lbfgs", max_iter=500, backend=backend,
                        dtype="float64", random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0 and clf.n_iter_ < 500 and clf.loss_ < 0.1
    assert not hasattr(clf, "loss_curve_")


def test_sample_weight_and_class_weight():
    X, y = blobs(90, 3)
    y[:60] = 0  # imbalanced
    balanced = quiet_fit(MLPClassifier((6,), max_iter=4, class_weight="balanced",
                                       backend="numpy", random_state=0), X, y)
    weighted = quiet_fit(MLPClassifier((6,), max_iter=4, backend="numpy", random_state=0),
                         X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_array_equal(balanced.model_.params, weighted.model_.params)
    plain = quiet_fit(MLPClassifier((6,), max_iter=4, backend="numpy", random_state=0), X, y)
    assert not np.array_equal(plain.model_.params, weighted.model_.params)
    ones = quiet_fit(MLPClassifier((6,), max_iter=4, backend="numpy", random_state=0), X, y,
                     sample_weight=np.ones(len(y)))
    np.testing.assert_array_equal(plain.model_.params, ones.model_.params)


def test_cross_val_score_pipeline_and_clone(backend):
    X, y = blobs(120, 3)
    clf = MLPClassifier((16,), max_iter=50, learning_rate_init=0.02, backend=backend,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(clf, X, y, cv=3)
        pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
    assert scores.shape == (3,) and scores.mean() > 0.8
    assert pipe.predict(X).shape == (120,) and pipe.score(X, y) > 0.9
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and not hasattr(copy, "model_")


def test_a_fitted_estimator_pickles(backend):
    X, y = blobs(100, 3)
    clf = quiet_fit(MLPClassifier((8,), max_iter=3, backend=backend, random_state=0), X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)
    np.testing.assert_array_equal(copy.model_.params, clf.model_.params)


def test_backends_agree():
    X, y = blobs(100, 3)
    fits = [quiet_fit(MLPClassifier((8,), max_iter=5, backend=b, random_state=0), X, y)
            for b in ("numpy", "numba")]
    np.testing.assert_allclose(fits[0].predict_proba(X), fits[1].predict_proba(X), atol=1e-5)


def test_fastnn_parameters_reach_the_model():
    X, y = blobs(100, 3)
    clf = quiet_fit(MLPClassifier((8, 6), dropout=0.25, dtype="float64", backend="numpy",
                                  threads=1, max_iter=3, random_state=0), X, y)
    model = clf.model_
    assert [type(layer).__name__ for layer in model.layers] == \
        ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert model.dtype == np.float64 and model.backend == "numpy" and model.threads == 1
    assert clf.coefs_[0].dtype == np.float64 and clf.n_layers_ == 4


def test_verbose_prints_sklearns_lines(capsys):
    X, y = blobs(40, 2)
    quiet_fit(MLPClassifier((4,), max_iter=2, verbose=True, backend="numpy"), X, y)
    assert "Iteration 1, loss = " in capsys.readouterr().out


# ---- errors --------------------------------------------------------------------------

def test_continuous_targets_to_the_classifier_are_refused():
    X, _ = blobs(20)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MLPClassifier().fit(X, np.linspace(0, 1, 20))


@pytest.mark.parametrize("params, name", [
    (dict(activation="sigmoid"), "activation"), (dict(solver="rmsprop"), "solver"),
    (dict(learning_rate="cosine"), "learning_rate"), (dict(alpha=-1), "alpha"),
    (dict(batch_size=0), "batch_size"), (dict(batch_size="big"), "batch_size"),
    (dict(learning_rate_init=0), "learning_rate_init"), (dict(momentum=1.5), "momentum"),
    (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes="wide"), "hidden_layer_sizes"), (dict(max_iter=0), "max_iter"),
    (dict(validation_fraction=1.0), "validation_fraction"), (dict(beta_1=1), "beta_1"),
    (dict(epsilon=0), "epsilon"), (dict(n_iter_no_change=0), "n_iter_no_change"),
    (dict(tol=-1), "tol"), (dict(dropout=1.0), "dropout"), (dict(backend="cuda"), "backend"),
    (dict(dtype="float16"), "dtype"), (dict(shuffle="yes"), "shuffle"),
])
def test_bad_hyper_parameters_name_themselves(params, name):
    X, y = blobs(20)
    with pytest.raises((ValueError, TypeError), match=name):
        MLPClassifier(**params).fit(X, y)


def test_fastnn_activation_names_point_to_sklearns():
    X, y = blobs(20)
    with pytest.raises(ValueError, match="scikit-learn calls it 'logistic'"):
        MLPClassifier(activation="sigmoid").fit(X, y)


def test_unsupported_regression_loss_is_refused():
    X, y = regression(20)
    with pytest.raises(ValueError, match="loss"):
        MLPRegressor(loss="poisson").fit(X, y)


def test_import_fastnn_does_not_import_sklearn():
    import subprocess
    import sys
    code = "import sys, fastnn; print('sklearn' in sys.modules, 'scipy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.split() == ["False", "False"], done.stderr
