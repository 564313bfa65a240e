"""What a model was trained on, and how to apply it again: features in, labels out.

A `DataSpec` holds the task, the class names, the standardization statistics and where
the data came from. `fastnn.io` saves it beside the weights (as plain arrays and a JSON
string), so a saved model predicts in the original labels from raw rows.
"""
import json
from dataclasses import dataclass, field

import numpy as np

from fastnn.errors import DataFileError, LabelError

__all__ = ["DataSpec", "TASKS", "guess_task"]

TASKS = ("classification", "regression")
MAX_INFO_CHARS = 1_000_000  # the JSON of a model trained on 10,000 named columns fits


def guess_task(y):
    """"regression" for targets that are all numbers, some not whole; else
    "classification" (strings, integers)."""
    numbers = _as_numbers(y)
    return "regression" if numbers is not None and numbers.dtype.kind == "f" else \
        "classification"


def _as_numbers(y):
    """`y` as int64 when every entry is an integer, float64 when every one is a number,
    else None. Strings are parsed ("3" is an integer, "3.0" a number)."""
    y = np.asarray(y)
    if y.dtype.kind in "biu":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        return y.astype(np.float64)
    try:
        return np.array([int(v) for v in y], dtype=np.int64)
    except ValueError:
        pass
    try:
        return y.astype(np.float64)
    except ValueError:
        return None


@dataclass
class DataSpec:
    """How raw rows map to a model's inputs and its outputs to labels.

    Attributes
    ----------
    task : {"classification", "regression"}
    classes : str array (C,) or None
        The class of each output unit (classification).
    mean, std : float64 (F,) or None
        Feature standardization: inputs are ``(X - mean) / std``.
    target_mean, target_std : float or None
        Regression targets are learnt as ``(y - target_mean) / target_std``.
    source, target : str
        The training file and its target column.
    features : list of str or None
        The feature columns, in input order.
    n_samples : int
        Training samples.
    """

    task: str
    classes: object = None
    mean: object = None
    std: object = None
    target_mean: object = None
    target_std: object = None
    source: str = ""
    target: object = None
    features: object = None
    n_samples: int = 0
    standardized: bool = field(init=False, default=False)

    def __post_init__(self):
        self.standardized = self.mean is not None

    @classmethod
    def fit(cls, table, task=None, standardize=True):
        """The spec for training on `table` (a `fastnn.datasets.tabular.Table`).

        task: "classification", "regression" or None to guess it from the targets.
        Returns (spec, X float32 (n, F), y): class indices int64 (n,) or values float32
        (n,), standardized as the spec says.
        """
        task = task or guess_task(table.y)
        spec = cls(task=task, source=table.source, target=table.target,
                   features=list(table.features), n_samples=len(table.X))
        if task == "classification":
            names = _label_names(table.y)
            numeric = _as_numbers(table.y)
            if numeric is not None and numeric.dtype.kind == "i":
                spec.classes = np.array([str(v) for v in np.unique(numeric)])
            else:
                spec.classes = np.unique(names)
            if len(spec.classes) < 2:
                raise LabelError(f"{table.source}: the target column {table.target!r} holds "
                                 f"one class ({str(spec.classes[0])!r}); classification needs at "
                                 f"least two")
        else:
            y = spec._values(table)
            if standardize:
                std = float(y.std())
                spec.target_mean, spec.target_std = float(y.mean()), std if std > 0 else 1.0
        if standardize:
            mean = table.X.mean(axis=0)
            std = table.X.std(axis=0)
            spec.mean, spec.std = mean, np.where(std > 0, std, 1.0)
            spec.standardized = True
        return spec, spec.inputs(table.X), spec.targets(table)

    @property
    def n_outputs(self):
        return len(self.classes) if self.task == "classification" else 1

    def inputs(self, X):
        """Features (n, F) as the network takes them: float32, standardized if trained so."""
        X = np.asarray(X, dtype=np.float64)
        if self.mean is not None:
            X = (X - self.mean) / self.std
        return X.astype(np.float32)

    def targets(self, table):
        """The table's targets as the network learns them: class indices (n,) int64, or
        values (n,) float32 (standardized if trained so). An unknown class or a target
        that is not a number raises, naming the row."""
        if self.task == "regression":
            y = self._values(table)
            if self.target_mean is not None:
                y = (y - self.target_mean) / self.target_std
            return y.astype(np.float32)
        index = {name: i for i, name in enumerate(self.classes)}
        names = _label_names(table.y)
        known = np.array([name in index for name in names], dtype=bool)
        if not known.all():
            i = int(np.argmax(~known))
            raise LabelError(f"{table.where(i, table.target)}: label {names[i]!r} is not one "
                             f"of the classes the model knows ({', '.join(self.classes)})")
        return np.array([index[name] for name in names], dtype=np.int64)

    def outputs(self, predicted):
        """The network's predictions in the data's terms: class names (str array) for a
        classifier given class indices; values (float64) for regression."""
        if self.task == "classification":
            return self.classes[np.asarray(predicted, dtype=np.int64)]
        values = np.asarray(predicted, dtype=np.float64).reshape(-1)
        if self.target_mean is not None:
            values = values * self.target_std + self.target_mean
        return values

    def _values(self, table):
        """Regression targets as float64 (n,), or DataFileError at the first non-number."""
        y = np.asarray(table.y)
        if y.dtype.kind in "biuf":
            return y.astype(np.float64)
        values = np.empty(len(y))
        for i, text in enumerate(y):
            try:
                values[i] = float(text)
            except ValueError:
                raise DataFileError(f"{table.where(i, table.target)}: {str(text)!r} is not a "
                                    f"number; regression needs numeric targets (or pass "
                                    f"--task classification)") from None
        if not np.isfinite(values).all():
            i = int(np.argmax(~np.isfinite(values)))
            raise DataFileError(f"{table.where(i, table.target)}: {str(y[i])!r} is not a finite "
                                f"number")
        return values

    # ---- saving: plain arrays and one JSON string, nothing pickled ----------------------

    def to_arrays(self):
        """{name: array} for `fastnn.io.save`."""
        info = {"task": self.task, "source": self.source, "target": self.target,
                "features": self.features, "n_samples": self.n_samples}
        arrays = {"info": np.array(json.dumps(info))}
        if self.classes is not None:
            arrays["classes"] = np.asarray(self.classes, dtype=str)
        if self.mean is not None:
            arrays["mean"] = np.asarray(self.mean, dtype=np.float64)
            arrays["std"] = np.asarray(self.std, dtype=np.float64)
        if self.target_mean is not None:
            arrays["target_mean"] = np.float64(self.target_mean)
            arrays["target_std"] = np.float64(self.target_std)
        return arrays

    @staticmethod
    def array_layout(n_inputs, n_outputs):
        """{name: (shape, dtype kind)} of the arrays `to_arrays` may write, for checking a
        file's headers before reading them."""
        return {"info": ((), "U"), "classes": ((n_outputs,), "U"),
                "mean": ((n_inputs,), "f"), "std": ((n_inputs,), "f"),
                "target_mean": ((), "f"), "target_std": ((), "f")}

    @classmethod
    def from_arrays(cls, arrays, n_inputs, n_outputs):
        """The spec `to_arrays` wrote; ValueError naming the first inconsistency."""
        if "info" not in arrays:
            raise ValueError("data arrays without data.info")
        try:
            info = json.loads(str(arrays["info"]))
        except json.JSONDecodeError as err:
            raise ValueError(f"data.info is not JSON ({err})") from None
        keys = {"task", "source", "target", "features", "n_samples"}
        if not isinstance(info, dict) or set(info) != keys:
            raise ValueError(f"data.info must hold the keys {sorted(keys)}")
        if info["task"] not in TASKS:
            raise ValueError(f"data.info task is {info['task']!r}, expected one of {TASKS}")
        features = info["features"]
        if features is not None and (not isinstance(features, list) or len(features) !=
                                     n_inputs or not all(isinstance(f, str) for f in features)):
            raise ValueError(f"data.info features must be {n_inputs} column names")
        if not (isinstance(info["source"], str) and isinstance(info["n_samples"], int)
                and (info["target"] is None or isinstance(info["target"], str))):
            raise ValueError("data.info source, target or n_samples has the wrong type")
        classifier = info["task"] == "classification"
        if classifier != ("classes" in arrays):
            raise ValueError("data.classes must be present exactly for classification")
        if ("mean" in arrays) != ("std" in arrays) or \
                ("target_mean" in arrays) != ("target_std" in arrays):
            raise ValueError("data.mean and data.std (and target_mean, target_std) come "
                             "in pairs")
        if classifier and "target_mean" in arrays:
            raise ValueError("a classifier has no target_mean")
        if not classifier and n_outputs != 1:
            raise ValueError(f"a regression model has one output, this one {n_outputs}")
        std = [arrays[k] for k in ("std", "target_std") if k in arrays]
        if any(not (np.asarray(s) > 0).all() for s in std):
            raise ValueError("data.std and data.target_std must be > 0")
        return cls(task=info["task"], classes=arrays.get("classes"), mean=arrays.get("mean"),
                   std=arrays.get("std"),
                   target_mean=_scalar(arrays.get("target_mean")),
                   target_std=_scalar(arrays.get("target_std")), source=info["source"],
                   target=info["target"], features=features, n_samples=info["n_samples"])


def _scalar(value):
    return None if value is None else float(value)


def _label_names(y):
    """Each target as the class name it stands for: "3" for 3, 3.0 or "03"."""
    y = np.asarray(y)
    numeric = _as_numbers(y)
    if numeric is not None and numeric.dtype.kind == "i":
        return [str(v) for v in numeric]
    if y.dtype.kind == "f":
        return [repr(float(v)) for v in y]
    return [str(v) for v in y]
