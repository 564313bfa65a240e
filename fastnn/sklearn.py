"""MLPClassifier and MLPRegressor: drop-ins for ``sklearn.neural_network``'s, on fastnn.

Change the import and nothing else::

    from fastnn.sklearn import MLPClassifier     # was: from sklearn.neural_network import …
    clf = MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=20).fit(X, y)

The parameters, their defaults and meanings are scikit-learn's; ``dropout``, ``dtype``,
``backend`` and ``threads`` are fastnn's own. The network is a `fastnn.Sequential`
(``model_``) trained by fastnn's kernels. Where the two libraries state an update rule
differently, the estimator maps scikit-learn's meaning onto fastnn's (see `_Objective`).
Importing this module imports scikit-learn (an optional extra: ``pip install
fastnn[sklearn]``); ``import fastnn`` does not.
"""
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from fastnn.checks import flag, integer, known_name, number, sample_weights
from fastnn.errors import HyperParameterError
from fastnn.model import mlp
from fastnn.optim import SGD, Adam

ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
SOLVERS = ("lbfgs", "sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
OUTPUTS = {"softmax": ("softmax", "cce"), "logistic": ("sigmoid", "bce"),
           "identity": ("linear", "mse")}  # out_activation_ → fastnn (activation, loss)
MIN_ADAPTIVE_LR = 1e-6  # scikit-learn's "adaptive" schedule stops below this


class _Objective:
    """How scikit-learn's loss relates to the fastnn loss the model trains on.

    scikit-learn's gradients are those of c·L + α/(2·Σw)·Σ‖W‖², L being fastnn's loss
    (a mean over samples, and over outputs for "bce" and "mse"): c = 1 for softmax
    cross-entropy, O for O sigmoid outputs (scikit-learn sums them), O/2 for squared error
    (scikit-learn halves it). fastnn trains on L + l2·ΣW² with l2 = α/(2·c·Σw) per batch,
    whose gradient is scikit-learn's divided by c: SGD takes lr·c and Adam ε/c to make the
    same steps. The loss it reports (``loss_``) is scikit-learn's: `report` · L + penalty,
    with report = c, except for squared error over O outputs, where it is 1/2.
    """

    def __init__(self, loss, n_outputs):
        self.scale = {"cce": 1.0, "bce": float(n_outputs), "mse": n_outputs / 2}[loss]
        self.report = 0.5 if loss == "mse" else self.scale

    def l2(self, alpha, batch_weight):
        """fastnn's l2 for scikit-learn's alpha over batches of total weight batch_weight."""
        return alpha / (2 * self.scale * batch_weight)

    def sklearn_loss(self, fastnn_loss, penalty):
        """scikit-learn's loss from fastnn's (which includes its penalty l2·ΣW²)."""
        return self.report * (fastnn_loss - penalty) + self.scale * penalty


class _BaseMLP(BaseEstimator):
    """The parts MLPClassifier and MLPRegressor share: validation, model, solvers."""

    def _check_params(self):
        """Each hyper-parameter checked, with a ValueError that names it."""
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else sizes
        try:
            sizes = list(sizes)
        except TypeError:
            raise HyperParameterError(f"Invalid hidden_layer_sizes: {sizes!r} (must be an int "
                                      f"or a sequence of ints)") from None
        for size in sizes:
            integer("hidden_layer_sizes", size, 1)
        renamed = {fastnn: name for name, fastnn in ACTIVATIONS.items() if fastnn != name}
        if isinstance(self.activation, str) and self.activation in renamed:
            raise HyperParameterError(
                f"unknown activation {self.activation!r}: scikit-learn calls it "
                f"{renamed[self.activation]!r} (choose one of {sorted(ACTIVATIONS)})")
        known_name("activation", self.activation, ACTIVATIONS)
        known_name("solver", self.solver, SOLVERS)
        known_name("learning_rate", self.learning_rate, LEARNING_RATES)
        number("alpha", self.alpha, low=0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            integer("batch_size", self.batch_size, 1)
        number("learning_rate_init", self.learning_rate_init, low=0, low_open=True)
        number("power_t", self.power_t, low=0)
        integer("max_iter", self.max_iter, 1)
        integer("n_iter_no_change", self.n_iter_no_change, 1)
        integer("max_fun", self.max_fun, 1)
        number("tol", self.tol, low=0)
        number("momentum", self.momentum, low=0, high=1)
        number("validation_fraction", self.validation_fraction, low=0, high=1, high_open=True)
        number("beta_1", self.beta_1, low=0, high=1, high_open=True)
        number("beta_2", self.beta_2, low=0, high=1, high_open=True)
        number("epsilon", self.epsilon, low=0, low_open=True)
        number("dropout", self.dropout, low=0, high=1, high_open=True)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            flag(name, bool(getattr(self, name)) if isinstance(getattr(self, name), np.bool_)
                 else getattr(self, name))
        if not isinstance(self.verbose, (bool, np.bool_, numbers.Integral)):
            raise HyperParameterError(f"Invalid verbose: {self.verbose!r} (must be a bool or "
                                      f"an int)")
        return [int(size) for size in sizes]

    # ---- fitting ---------------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        hidden = self._check_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y = validate_data(self, X, y, multi_output=True, reset=first,
                             dtype=np.dtype(self.dtype), y_numeric=not is_classifier(self))
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        targets, out_activation = self._encode(y, first, classes, incremental)
        weights = self._weights(sample_weight, y, len(X))
        if first:
            self._start(X.shape[1], targets, out_activation, hidden)
        model = self.model_
        if self.solver == "lbfgs":
            self._fit_lbfgs(model, X, targets, weights)
        else:
            self._fit_stochastic(model, X, y, targets, weights, incremental)
        return self

    def _weights(self, sample_weight, y, n):
        """sample_weight times the class weights, or None for uniform weights."""
        weights = None if sample_weight is None else sample_weights(sample_weight, n, np.float64)
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            by_class = compute_sample_weight(class_weight, y)
            weights = sample_weights(by_class if weights is None else weights * by_class, n,
                                     np.float64)
        return weights

    def _start(self, n_features, targets, out_activation, hidden):
        """A new network with scikit-learn's initialization, and the fitted attributes."""
        self._random_state = check_random_state(self.random_state)
        seed = int(self._random_state.randint(np.iinfo(np.int32).max))
        n_outputs = len(self.classes_) if out_activation == "softmax" else targets.shape[1]
        output, loss = OUTPUTS[out_activation]
        model = mlp([n_features, *hidden, n_outputs], activation=ACTIVATIONS[self.activation],
                    output=output, loss=loss, seed=seed, dropout=self.dropout,
                    backend=self.backend, dtype=self.dtype, threads=self.threads)
        model.build()
        # Glorot uniform for weights and biases, as scikit-learn's _init_coef
        factor = 2.0 if self.activation == "logistic" else 6.0
        rng = np.random.default_rng(seed)
        weights = []
        for layer in model.dense_layers:
            bound = np.sqrt(factor / (layer.in_features + layer.out_features))
            weights += [rng.uniform(-bound, bound, layer.W.shape),
                        rng.uniform(-bound, bound, layer.b.shape)]
        model.set_weights(weights)
        self.model_, self._objective = model, _Objective(loss, n_outputs)
        self.n_outputs_, self.n_layers_ = n_outputs, len(hidden) + 2
        self.out_activation_ = out_activation
        self.n_iter_, self.t_ = 0, 0
        self._best_params = model.params.copy()
        if self.solver != "lbfgs":
            self.loss_curve_, self._no_improvement_count = [], 0
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
                self.best_loss_ = None
            else:
                self.validation_scores_ = self.best_validation_score_ = None
                self.best_loss_ = np.inf

    def _optimizer(self, objective):
        """The fastnn optimizer that makes scikit-learn's steps on fastnn's loss."""
        if self.solver == "adam":
            return Adam(lr=self.learning_rate_init, beta1=self.beta_1, beta2=self.beta_2,
                        eps=self.epsilon / objective.scale)
        return SGD(lr=self.learning_rate_init * objective.scale, momentum=self.momentum,
                   nesterov=bool(self.nesterovs_momentum) and self.momentum > 0)

    def _batch_size(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                          "going to be clipped")
        return int(np.clip(self.batch_size, 1, n))

    def _fit_stochastic(self, model, X, y, targets, weights, incremental):
        objective = self._objective
        if not incremental or not hasattr(self, "_lr"):
            model.optimizer = self._optimizer(objective)
            model.optimizer.build(len(model.params), model.dtype)
            self._lr = self.learning_rate_init
        validation = None
        if self.early_stopping:
            stratify = targets if is_classifier(self) and self.n_outputs_ == 1 else None
            if stratify is not None and stratify.ndim == 2:
                stratify = stratify.ravel()
            train, val = train_test_split(np.arange(len(X)), random_state=self._random_state,
                                          test_size=self.validation_fraction, stratify=stratify)
            if len(val) < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            validation = (X[val], y[val], None if weights is None else weights[val])
            X, targets = X[train], targets[train]
            weights = None if weights is None else weights[train]
        n = len(X)
        batch = self._batch_size(n)
        batch_weight = batch * (1.0 if weights is None else float(weights.mean()))
        model.set_l2(objective.l2(self.alpha, batch_weight))
        if weights is not None and np.all(weights == weights[0]):
            weights = None  # uniform: the plain mean, and the driver kernel
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            model.optimizer.lr = self._lr * (objective.scale if self.solver == "sgd" else 1)
            history = model.fit(X, targets, epochs=1, batch_size=batch, shuffle=self.shuffle,
                                verbose=0, sample_weight=weights)
            self.n_iter_ += 1
            self.t_ += n
            self.loss_ = objective.sklearn_loss(history.history["loss"][0], model.penalty())
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
            self._update_no_improvement_count(validation)
            if self.solver == "sgd" and self.learning_rate == "invscaling":
                self._lr = self.learning_rate_init / (self.t_ + 1) ** self.power_t
            if self._no_improvement_count > self.n_iter_no_change:
                what = "Validation score" if validation else "Training loss"
                message = (f"{what} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                if self.solver == "sgd" and self.learning_rate == "adaptive" \
                        and self._lr > MIN_ADAPTIVE_LR:
                    self._lr /= 5
                    self._no_improvement_count = 0
                    if self.verbose:
                        print(f"{message} Setting learning rate to {self._lr:f}")
                else:
                    if self.verbose:
                        print(f"{message} Stopping.")
                    break
            if incremental:
                break
            if self.n_iter_ == self.max_iter:
                warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                              f"reached and the optimization hasn't converged yet.",
                              ConvergenceWarning)
        if validation is not None:
            model.params[...] = self._best_params

    def _update_no_improvement_count(self, validation):
        if validation is not None:
            score = self._score_arrays(*validation)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = self.model_.params.copy()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])

    def _loss_and_gradient(self, model, X, targets, weights):
        """scikit-learn's full-batch loss and its gradient (P,) at model.params."""
        objective = self._objective
        loss, _ = model.compute_gradients(X, targets, weights)
        return (objective.sklearn_loss(loss, model.penalty()),
                objective.scale * model.grads.astype(np.float64))

    def _fit_lbfgs(self, model, X, targets, weights):
        """scipy's L-BFGS-B over the full-batch loss and gradient of fastnn's kernels."""
        import scipy.optimize

        model.set_l2(self._objective.l2(self.alpha, len(X) if weights is None
                                        else float(weights.sum())))

        def loss_and_gradient(params):
            model.params[...] = params
            return self._loss_and_gradient(model, X, targets, weights)

        result = scipy.optimize.minimize(
            loss_and_gradient, model.params.astype(np.float64), method="L-BFGS-B", jac=True,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        if result.status != 0:
            warnings.warn(f"lbfgs failed to converge after {result.nit} iteration(s) "
                          f"(status={result.status}): {result.message}. Increase the "
                          f"number of iterations (max_iter) or scale the data.",
                          ConvergenceWarning)
        self.n_iter_ = min(result.nit, self.max_iter)
        self.loss_ = float(result.fun)
        model.params[...] = result.x

    # ---- prediction ------------------------------------------------------------------

    def _outputs(self, X):
        """The output layer's activations (N, n_outputs_) for checked X, in X's dtype when
        that is float32 and else in float64 (as scikit-learn's MLPs return them)."""
        check_is_fitted(self)
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        X = validate_data(self, X, reset=False, dtype=np.dtype(self.dtype))
        return self.model_.predict_proba(X).astype(dtype, copy=False)

    @property
    def coefs_(self):
        """Weight matrices [(n_in, n_out), …], views of model_'s parameters."""
        return [layer.W for layer in self.model_.dense_layers]

    @property
    def intercepts_(self):
        """Bias vectors [(n_out,), …], views of model_'s parameters."""
        return [layer.b for layer in self.model_.dense_layers]

    def _is_stochastic(self):
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True


_PARAMETERS_DOC = """
    Parameters are scikit-learn's (see ``sklearn.neural_network.{name}``), plus:

    dropout : float, default=0.0
        Dropout rate after every hidden layer, for the stochastic solvers (fastnn's own).
    dtype : {{"float32", "float64"}}, default="float32"
        The network's floating-point type.
    backend : {{"numba", "numpy"}}, optional
        fastnn's kernels; default $FASTNN_BACKEND, else "numba".
    threads : int, optional
        Threads for the Numba kernels; default Numba's setting.

    Attributes are scikit-learn's, plus ``model_``, the trained `fastnn.Sequential`.
    L2 (``alpha``) is added per batch as scikit-learn does for full batches; a shorter last
    batch gets a full batch's penalty. Adam's ε is added after the bias-corrected root
    (PyTorch's form); scikit-learn adds it before rescaling, a difference of order ε.
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = ("Multi-layer perceptron classifier: sklearn.neural_network.MLPClassifier "
               "on fastnn.\n" + _PARAMETERS_DOC.format(name="MLPClassifier") + """
    Labels may be any values (strings, objects, integers); a 0/1 indicator matrix trains
    one sigmoid output per label (multi-label). ``class_weight`` ("balanced" or a dict
    {label: weight}) multiplies the sample weights.
    """)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 class_weight=None, dropout=0.0, dtype="float32", backend=None, threads=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.dropout = dropout
        self.dtype = dtype
        self.backend = backend
        self.threads = threads

    def fit(self, X, y, sample_weight=None):
        """Train on X (n_samples, n_features) and labels y (n_samples,) or a 0/1 indicator
        matrix (n_samples, n_labels); returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_BaseMLP._is_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y), keeping the optimizer's state; `classes` (all labels) is
        required on the first call. Returns self."""
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _encode(self, y, first, classes, incremental):
        """(targets for the fastnn loss, out_activation_); the labels are learnt by the
        first fit, or from `classes` by the first partial_fit."""
        check_classification_targets(y)
        if incremental and not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            multilabel = type_of_target(y).startswith("multilabel")
            self._label_binarizer = LabelBinarizer().fit(y if multilabel else classes)
            self.classes_ = self._label_binarizer.classes_
        elif incremental:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                                 f"partial_fit, was: {self.classes_!r}")
        elif first or not hasattr(self, "classes_"):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        elif set(unique_labels(y)) != set(self.classes_):
            raise ValueError(f"warm_start can only be used where `y` has the same classes as "
                             f"in the previous call to fit. Previously got {self.classes_}, "
                             f"`y` has {unique_labels(y)}")
        if self._label_binarizer.y_type_ != "multilabel-indicator":
            unknown = np.setdiff1d(unique_labels(y), self.classes_)
            if len(unknown):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` "
                                 f"has {self.classes_}. 'y' has {unique_labels(y)}.")
        if self._label_binarizer.y_type_ == "multiclass":
            return np.searchsorted(self.classes_, y).astype(np.int64), "softmax"
        return self._label_binarizer.transform(y).astype(self.dtype), "logistic"

    def _score_arrays(self, X, y, weights):
        return accuracy_score(y, self._predict_checked(X), sample_weight=weights)

    def _predict_checked(self, X):
        out = self.model_.predict_proba(X)
        if self.n_outputs_ == 1:
            out = out.ravel()
        return self._label_binarizer.inverse_transform(out)

    def predict(self, X):
        """Labels (n_samples,), or a 0/1 indicator matrix for a multi-label fit."""
        out = self._outputs(X)
        if self.n_outputs_ == 1:
            out = out.ravel()
        return self._label_binarizer.inverse_transform(out)

    def predict_proba(self, X):
        """Probabilities (n_samples, n_classes) in the order of classes_ (for multi-label,
        each label's probability)."""
        out = self._outputs(X)
        if self.n_outputs_ == 1 and self.out_activation_ == "logistic" and \
                self._label_binarizer.y_type_ != "multilabel-indicator":
            return np.hstack([1 - out, out])
        return out

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = ("Multi-layer perceptron regressor: sklearn.neural_network.MLPRegressor on "
               "fastnn.\n" + _PARAMETERS_DOC.format(name="MLPRegressor") + """
    loss : {"squared_error"}, default="squared_error"
        fastnn trains squared error only (scikit-learn also has "poisson").
    """)

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, dtype="float32", backend=None, threads=None):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.dtype = dtype
        self.backend = backend
        self.threads = threads

    def _check_params(self):
        known_name("loss", self.loss, ("squared_error",))
        return super()._check_params()

    def fit(self, X, y, sample_weight=None):
        """Train on X (n_samples, n_features) and targets y (n_samples,) or
        (n_samples, n_outputs); returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_BaseMLP._is_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), keeping the optimizer's state. Returns self."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _encode(self, y, first, classes, incremental):
        y = np.asarray(y, self.dtype)
        targets = y[:, None] if y.ndim == 1 else y
        if not first and targets.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {targets.shape[1]} outputs, but {type(self).__name__} "
                             f"was fitted with {self.n_outputs_}")
        return np.ascontiguousarray(targets), "identity"

    def _score_arrays(self, X, y, weights):
        return r2_score(y, self._predict_checked(X), sample_weight=weights)

    def _predict_checked(self, X):
        out = self.model_.predict_proba(X)
        return out.ravel() if out.shape[1] == 1 else out

    def predict(self, X):
        """Predictions (n_samples,), or (n_samples, n_outputs) for several outputs."""
        out = self._outputs(X)
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
