"""A saved model keeps what it was trained on (class names, standardization, source) as
plain arrays and JSON: loaded without unpickling, checked like the weights."""
import io
import zipfile

import numpy as np
import pytest

import fastnn as fnn
from fastnn.datasets import DataSpec, Table
from fastnn.errors import LabelError, ModelFileError


def table(y, n=40, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, 3)) * [1, 10, 100] + [0, 5, -50]
    return Table(X=X, y=np.asarray(y), features=["a", "b", "c"], target="t",
                 source="d.csv", lines=np.arange(2, n + 2))


def trained(spec, X, y, tmp_path):
    classifier = spec.task == "classification"
    model = fnn.mlp([3, 4, spec.n_outputs], output="softmax" if classifier else "linear",
                    loss="cce" if classifier else "mse", backend="numpy")
    model.fit(X, y, epochs=1, verbose=0)
    model.data_spec = spec
    path = tmp_path / "model.npz"
    model.save(path)
    return model, path


def test_classifier_spec_round_trips(tmp_path):
    labels = np.array(["cat", "dog", "emu", "dog"] * 10)
    spec, X, y = DataSpec.fit(table(labels))
    assert spec.classes.tolist() == ["cat", "dog", "emu"] and y.tolist()[:4] == [0, 1, 2, 1]
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(X.std(axis=0), 1, rtol=1e-5)
    model, path = trained(spec, X, y, tmp_path)
    loaded = fnn.load(path, backend="numpy").data_spec
    assert loaded.classes.tolist() == ["cat", "dog", "emu"] and loaded.target == "t"
    assert loaded.features == ["a", "b", "c"] and loaded.source == "d.csv"
    np.testing.assert_array_equal(loaded.mean, spec.mean)
    assert loaded.outputs([2, 0]).tolist() == ["emu", "cat"]


def test_integer_labels_sort_as_numbers(tmp_path):
    spec, _, y = DataSpec.fit(table(np.array(["10", "9", "2", "10"] * 10)))
    assert spec.classes.tolist() == ["2", "9", "10"] and y.tolist()[:4] == [2, 1, 0, 2]


def test_regression_spec_round_trips_in_the_targets_units(tmp_path):
    values = np.linspace(1000, 2000, 40)
    spec, X, y = DataSpec.fit(table(values.astype(str)))
    assert spec.task == "regression" and abs(y.mean()) < 1e-5
    np.testing.assert_allclose(spec.outputs(y), values, rtol=1e-6)
    _, path = trained(spec, X, y, tmp_path)
    loaded = fnn.load(path, backend="numpy").data_spec
    assert loaded.target_mean == pytest.approx(values.mean())
    np.testing.assert_allclose(loaded.outputs(y), values, rtol=1e-6)


def test_unknown_class_names_the_row(tmp_path):
    spec, _, _ = DataSpec.fit(table(np.array(["a", "b"] * 20)))
    with pytest.raises(LabelError, match=r"d.csv: row 2 \(line 3\), column 't': label 'z'"):
        spec.targets(table(np.array(["a", "z"] * 20)))


def rewrite(path, replace):
    """Rewrite the .npz at `path` with arrays replaced ({name: array or None to drop})."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    for name, value in replace.items():
        if value is None:
            arrays.pop(name)
        else:
            arrays[name] = value
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize("replace, message", [
    pytest.param({"data.classes": np.array(["a", "b", "c"])}, "'data.classes' is",
                 id="classes-count"),
    pytest.param({"data.mean": np.zeros(2)}, "'data.mean' is", id="mean-shape"),
    pytest.param({"data.std": np.zeros(3)}, "must be > 0", id="std-zero"),
    pytest.param({"data.info": None}, "without data.info", id="no-info"),
    pytest.param({"data.info": np.array("{not json")}, "not JSON", id="info-json"),
    pytest.param({"data.std": None}, "come in pairs", id="unpaired"),
    pytest.param({"data.classes": np.array([1.0, 2.0])}, "'data.classes' is", id="classes-float"),
    pytest.param({"data.extra": np.zeros(1)}, "unexpected arrays", id="unknown-array"),
])
def test_tampered_data_arrays_are_refused(tmp_path, replace, message):
    spec, X, y = DataSpec.fit(table(np.array(["x", "y"] * 20)))
    _, path = trained(spec, X, y, tmp_path)
    rewrite(path, replace)
    with pytest.raises(ModelFileError, match=message):
        fnn.load(path, backend="numpy")


def test_pickled_class_names_are_refused_unread(tmp_path):
    spec, X, y = DataSpec.fit(table(np.array(["x", "y"] * 20)))
    _, path = trained(spec, X, y, tmp_path)
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["data.classes"] = np.array(["x", object()], dtype=object)[:2]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())
    assert zipfile.is_zipfile(path)
    with pytest.raises(ModelFileError, match="'data.classes' is object"):
        fnn.load(path, backend="numpy")
