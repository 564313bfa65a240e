"""Toy data sets, train_test_split, one_hot and standardize: shapes, seeds, geometry, errors."""

import numpy as np
import pytest

from fastnn import datasets
from fastnn.datasets import (
    circles,
    moons,
    one_hot,
    spirals,
    standardize,
    train_test_split,
    xor,
)

TOY = {
    "xor": lambda n, seed: xor(n, noise=0.1, seed=seed),
    "circles": lambda n, seed: circles(n, seed=seed),
    "moons": lambda n, seed: moons(n, seed=seed),
    "spirals": lambda n, seed: spirals(n, seed=seed),
}


@pytest.fixture(params=list(TOY))
def make(request):
    return TOY[request.param]


# --- the toy data sets -----------------------------------------------------------------


def test_all_lists_the_public_functions():
    for name in ("load_mnist", "xor", "circles", "moons", "spirals",
                 "train_test_split", "one_hot", "standardize"):
        assert name in datasets.__all__
        assert callable(getattr(datasets, name))


@pytest.mark.parametrize("n", [3, 7, 100])
def test_toy_shapes_and_dtypes(make, n):
    X, y = make(n, 0)
    assert X.shape == (n, 2) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.isfinite(X).all()


def test_toy_same_seed_same_data_other_seed_other_data(make):
    X, y = make(60, 3)
    X2, y2 = make(60, 3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(60, 4)
    assert not np.array_equal(X, X3)


@pytest.mark.parametrize("n", [1, 2, 100, 101])
@pytest.mark.parametrize("make2", [circles, moons], ids=["circles", "moons"])
def test_two_class_balance_extra_point_to_label_0(make2, n):
    X, y = make2(n)
    assert X.shape == (n, 2)
    assert np.bincount(y, minlength=2).tolist() == [n - n // 2, n // 2]


@pytest.mark.parametrize("make2", [circles, moons, spirals], ids=["circles", "moons", "spirals"])
def test_rows_are_shuffled(make2):
    _, y = make2(200)
    assert not np.array_equal(y, np.sort(y))


def test_xor_default_is_the_four_classic_points():
    X, y = xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    assert X.dtype == np.float32 and y.dtype == np.int64


@pytest.mark.parametrize("n", [1, 3, 4, 10])
def test_xor_labels_are_xor_of_the_coordinates(n):
    X, y = xor(n)
    np.testing.assert_array_equal(y, np.rint(X[:, 0]).astype(int) ^ np.rint(X[:, 1]).astype(int))
    X, y = xor(n, noise=0.05, seed=1)  # small noise: rounding still finds the corner
    np.testing.assert_array_equal(y, np.rint(X[:, 0]).astype(int) ^ np.rint(X[:, 1]).astype(int))


def test_xor_cycles_through_all_four_corners():
    X, y = xor(10)
    corners = {tuple(row) for row in X.tolist()}
    assert corners == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert np.bincount(y).tolist() == [5, 5]  # corners 0,1,2,3,0,1,2,3,0,1


def test_xor_noise_has_the_requested_spread():
    X, y = xor(4000, noise=0.3, seed=0)
    offset = X - np.rint(xor(4000)[0])  # same corner order, no noise
    assert offset.std() == pytest.approx(0.3, rel=0.05)
    assert abs(offset.mean()) < 0.02


@pytest.mark.parametrize("factor", [0.5, 0.2])
def test_circles_radii_without_noise(factor):
    X, y = circles(101, noise=0.0, factor=factor)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1, rtol=1e-6)
    np.testing.assert_allclose(r[y == 1], factor, rtol=1e-6)


def test_circles_noise_blurs_the_radii():
    X, y = circles(2000, noise=0.1, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r[y == 0].mean() == pytest.approx(1, abs=0.02)
    assert r[y == 1].mean() == pytest.approx(0.5, abs=0.02)
    assert 0.05 < r[y == 0].std() < 0.15


def test_moons_geometry_without_noise():
    X, y = moons(200, noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1, rtol=1e-6)  # unit half circle
    assert (upper[:, 1] >= -1e-6).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1, rtol=1e-6)
    assert (lower[:, 1] <= 0.5 + 1e-6).all()
    assert upper[:, 1].mean() > lower[:, 1].mean() + 0.5  # label 0 is the upper moon
    np.testing.assert_allclose(X.min(axis=0), [-1, -0.5], atol=1e-3)
    np.testing.assert_allclose(X.max(axis=0), [2, 1], atol=1e-3)


def test_moons_class_means_differ():
    X, y = moons(500, seed=1)
    gap = np.linalg.norm(X[y == 0].mean(axis=0) - X[y == 1].mean(axis=0))
    assert gap > 0.5


@pytest.mark.parametrize("n, k", [(300, 3), (301, 3), (10, 4), (100, 2), (5, 5)])
def test_spirals_split_as_evenly_as_possible(n, k):
    _, y = spirals(n, n_classes=k)
    counts = np.bincount(y, minlength=k)
    assert counts.sum() == n and len(counts) == k
    assert counts.max() - counts.min() <= 1


def test_spirals_geometry_without_noise():
    X, y = spirals(300, n_classes=3, noise=0.0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() <= 1 + 1e-6
    for k in range(3):
        # radius runs evenly from 0 to 1 along each arm
        np.testing.assert_allclose(np.sort(r[y == k]), np.linspace(0, 1, 100), atol=1e-6)
        # the angle t = atan2(x, y) climbs linearly from 4k to 4(k+1)
        r_k, t = np.linspace(0, 1, 100), np.linspace(4 * k, 4 * (k + 1), 100)
        expected = r_k[:, None] * np.column_stack([np.sin(t), np.cos(t)])
        arm = X[y == k][np.argsort(r[y == k])]
        np.testing.assert_allclose(arm, expected, atol=1e-5)


def test_spirals_noise_moves_the_angle_not_the_radius():
    X, y = spirals(300, noise=0.5, seed=2)
    X0, y0 = spirals(300, noise=0.0, seed=2)
    r = np.sort(np.hypot(*X[y == 1].T))
    r0 = np.sort(np.hypot(*X0[y0 == 1].T))
    np.testing.assert_allclose(r, r0, atol=1e-6)


def test_spirals_class_means_differ():
    X, y = spirals(600, n_classes=3, seed=0)
    means = [X[y == k].mean(axis=0) for k in range(3)]
    for a in range(3):
        for b in range(a + 1, 3):
            assert np.linalg.norm(means[a] - means[b]) > 0.1


# --- argument errors --------------------------------------------------------------------


@pytest.mark.parametrize("make2", [xor, circles, moons, spirals], ids=lambda f: f.__name__)
@pytest.mark.parametrize("n", [0, -3, 2.5, True, "10"])
def test_bad_n_samples(make2, n):
    with pytest.raises(ValueError, match=rf"n_samples must be an integer >= 1, got {n!r}"):
        make2(n)


@pytest.mark.parametrize("make2", [xor, circles, moons, spirals], ids=lambda f: f.__name__)
@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf")])
def test_bad_noise(make2, noise):
    with pytest.raises(ValueError, match=rf"noise must be a finite number >= 0, got {noise!r}"):
        make2(20, noise=noise)


@pytest.mark.parametrize("factor", [1, 1.5, -0.1])
def test_circles_bad_factor(factor):
    with pytest.raises(ValueError, match=rf"factor must be a number in \[0, 1\), got {factor!r}"):
        circles(20, factor=factor)


@pytest.mark.parametrize("k", [1, 0, 2.0])
def test_spirals_bad_n_classes(k):
    with pytest.raises(ValueError, match=rf"n_classes must be an integer >= 2, got {k!r}"):
        spirals(20, n_classes=k)


def test_spirals_fewer_samples_than_classes():
    with pytest.raises(ValueError, match="n_samples=2 is fewer than n_classes=3"):
        spirals(2, n_classes=3)


def test_numpy_scalars_are_accepted_and_shown_plainly():
    X, _ = circles(np.int64(10), noise=np.float32(0.0))
    assert X.shape == (10, 2)
    with pytest.raises(ValueError, match=r"got 0$"):
        moons(np.int64(0))


# --- train_test_split -------------------------------------------------------------------


def paired(n=100, classes=(50, 30, 20)):
    """X whose row i is [i, 10 i], and y naming the class of sample i."""
    X = np.column_stack([np.arange(n), 10 * np.arange(n)]).astype(np.float32)
    y = np.repeat(np.arange(len(classes)), classes).astype(np.int64)
    return X, y


@pytest.mark.parametrize("stratify", [None, False], ids=["stratified", "plain"])
@pytest.mark.parametrize("test_size, n_test", [(0.2, 20), (0.25, 25), (0.333, 34), (0.01, 1)])
def test_split_sizes_disjoint_cover_and_paired(stratify, test_size, n_test):
    X, y = paired()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size, stratify=stratify)
    assert len(X_test) == len(y_test) == n_test
    assert len(X_train) == len(y_train) == 100 - n_test
    ids = np.concatenate([X_train[:, 0], X_test[:, 0]]).astype(int)
    assert sorted(ids) == list(range(100))  # each sample in exactly one split
    for Xs, ys in ((X_train, y_train), (X_test, y_test)):
        i = Xs[:, 0].astype(int)
        np.testing.assert_array_equal(Xs[:, 1], 10 * i)  # rows intact
        np.testing.assert_array_equal(ys, y[i])  # and still paired with their labels
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64


@pytest.mark.parametrize(
    "test_size, n, n_test", [(0.7, 10, 7), (0.3, 10, 3), (0.1, 30, 3), (0.15, 7, 2)]
)
def test_split_test_count_is_ceil_without_float_error(test_size, n, n_test):
    X, y = paired(n, (n,))
    for stratify in (None, False):
        assert len(train_test_split(X, y, test_size, stratify=stratify)[1]) == n_test


def test_split_is_seeded_and_shuffled():
    X, y = paired()
    a = train_test_split(X, y, seed=5)
    b = train_test_split(X, y, seed=5)
    c = train_test_split(X, y, seed=6)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])
    assert not np.array_equal(a[0][:, 0], np.sort(a[0][:, 0]))


def test_stratified_by_default_for_integer_labels():
    X, y = paired()
    for seed in range(5):
        _, _, y_train, y_test = train_test_split(X, y, 0.2, seed=seed)
        assert np.bincount(y_test).tolist() == [10, 6, 4]
        assert np.bincount(y_train).tolist() == [40, 24, 16]


def test_stratified_rounding_keeps_total_exact():
    X, y = paired(10, (4, 3, 3))  # 3 test samples: quotas 1.2, 0.9, 0.9 round to 1, 1, 1
    for seed in range(5):
        y_test = train_test_split(X, y, 0.3, seed=seed)[3]
        assert np.bincount(y_test, minlength=3).tolist() == [1, 1, 1]
    X, y = paired(10, (5, 5))  # 1 test sample: quotas 0.5, 0.5 tie
    picked = {int(train_test_split(X, y, 0.1, seed=seed)[3][0]) for seed in range(20)}
    assert picked == {0, 1}  # the tie goes either way, by seed


def test_stratify_false_is_a_plain_split():
    # stratified, every seed would put exactly 10 of the 100 class-1 samples in the test set
    X, y = paired(1000, (900, 100))
    y_tests = [train_test_split(X, y, 0.1, seed=s, stratify=False)[3] for s in range(20)]
    assert len({int((y_test == 1).sum()) for y_test in y_tests}) > 1


def test_stratify_by_a_given_array():
    X, _ = paired()
    y = np.linspace(0, 1, 100)  # regression targets: not stratified by default
    groups = np.array(["a"] * 80 + ["b"] * 20)
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.25, stratify=groups)
    assert (groups[X_test[:, 0].astype(int)] == "b").sum() == 5
    np.testing.assert_array_equal(y_test, y[X_test[:, 0].astype(int)])


def test_stratify_true_uses_y():
    X, _ = paired()
    y = np.repeat([0.0, 1.0], [70, 30])  # float labels: not stratified unless asked
    y_test = train_test_split(X, y, 0.1, stratify=True)[3]
    assert (y_test == 1).sum() == 3


def test_split_y_of_any_shape():
    X = np.arange(40, dtype=np.float32).reshape(10, 2, 2)
    Y = one_hot(np.arange(10) % 3)
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, 0.3)
    assert X_train.shape == (7, 2, 2) and X_test.shape == (3, 2, 2)
    assert Y_train.shape == (7, 3) and Y_test.shape == (3, 3)
    i = (X_test[:, 0, 0] / 4).astype(int)
    np.testing.assert_array_equal(Y_test, Y[i])


def test_split_accepts_lists():
    X_train, X_test, y_train, y_test = train_test_split([[1], [2], [3], [4]], [0, 1, 0, 1], 0.5)
    assert X_train.shape == (2, 1) and sorted(y_test.tolist()) == [0, 1]


@pytest.mark.parametrize("test_size", [0, 1, -0.2, 1.5, float("nan")])
def test_split_bad_test_size(test_size):
    X, y = paired()
    message = rf"test_size must be a number in \(0, 1\), got {test_size!r}"
    with pytest.raises(ValueError, match=message):
        train_test_split(X, y, test_size)


def test_split_leaving_a_set_empty():
    X, y = paired(5, (5,))
    with pytest.raises(ValueError, match="test_size=0.9 with 5 samples leaves the training set"):
        train_test_split(X, y, 0.9)
    with pytest.raises(ValueError, match="test_size=1e-12 with 5 samples leaves the test set"):
        train_test_split(X, y, 1e-12)
    with pytest.raises(ValueError, match="with 1 samples leaves the training set empty"):
        train_test_split(X[:1], y[:1], 0.5)


def test_split_mismatched_lengths_and_bad_stratify():
    X, y = paired()
    with pytest.raises(ValueError, match="X and y differ in length: 100 samples in X, 99 in y"):
        train_test_split(X, y[:99])
    with pytest.raises(ValueError, match=r"stratify must be 1-D .* \(100,\), got shape \(99,\)"):
        train_test_split(X, y, stratify=y[:99])
    with pytest.raises(ValueError, match=r"stratify=True needs 1-D labels y, got shape \(100, 3"):
        train_test_split(X, one_hot(y), stratify=True)
    with pytest.raises(ValueError, match="X and y need a samples axis"):
        train_test_split(np.float32(1), y)


# --- one_hot ----------------------------------------------------------------------------


def test_one_hot_round_trip():
    labels = np.array([2, 0, 1, 2, 4])
    Y = one_hot(labels)
    assert Y.shape == (5, 5) and Y.dtype == np.float32
    np.testing.assert_array_equal(Y.sum(axis=1), 1)
    np.testing.assert_array_equal(Y.argmax(axis=1), labels)
    assert one_hot(labels, n_classes=7).shape == (5, 7)


def test_one_hot_accepts_whole_floats_and_empty_with_n_classes():
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    assert one_hot(np.array([], dtype=np.int64), n_classes=3).shape == (0, 3)


@pytest.mark.parametrize(
    "labels, n_classes, message",
    [
        ([0, 1, 7, 9], 3, "label 7 at index 2 is not below n_classes=3"),
        ([0, -1, 2], None, "label -1 at index 1 is negative"),
        ([0, -1, 5], 3, "label -1 at index 1 is negative"),
        ([0.0, 2.5], None, "label 2.5 at index 1 is not a whole number"),
        ([0.0, np.nan], 3, "label nan at index 1 is not a whole number"),
        ([[0], [1]], None, r"labels must be 1-D \(n,\), got shape \(2, 1\)"),
        (["a", "b"], None, "labels must be integers, got dtype <U1"),
        ([], None, "cannot infer n_classes from empty labels"),
        ([0, 1], 0, "n_classes must be an integer >= 1, got 0"),
        ([0, 1], 2.0, "n_classes must be an integer >= 1, got 2.0"),
    ],
)
def test_one_hot_errors(labels, n_classes, message):
    with pytest.raises(ValueError, match=message):
        one_hot(labels, n_classes)


# --- standardize ------------------------------------------------------------------------


def test_standardize_mean_0_std_1():
    rng = np.random.default_rng(0)
    X = rng.normal([5, -3, 100], [2, 0.1, 30], size=(500, 3))
    Z, mean, std = standardize(X)
    assert Z.dtype == mean.dtype == std.dtype == np.float32
    assert Z.shape == (500, 3) and mean.shape == std.shape == (3,)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-5)
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(std, X.std(axis=0), rtol=1e-5)


def test_standardize_reuses_given_statistics():
    rng = np.random.default_rng(1)
    X_train = rng.normal(3, 2, size=(200, 4)).astype(np.float32)
    X_test = rng.normal(3, 2, size=(50, 4)).astype(np.float32)
    Z_train, mean, std = standardize(X_train)
    Z_test, mean2, std2 = standardize(X_test, mean, std)
    np.testing.assert_array_equal(mean2, mean)
    np.testing.assert_array_equal(std2, std)
    np.testing.assert_allclose(Z_test, (X_test - mean) / std, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(standardize(X_train, mean, std)[0], Z_train)
    Z, _, _ = standardize(X_test, mean=[0, 0, 0, 0], std=[1, 2, 4, 8])  # lists work too
    np.testing.assert_allclose(Z, X_test / [1, 2, 4, 8], rtol=1e-6)


def test_standardize_given_mean_only_uses_own_spread():
    X = np.array([[0.0], [2.0], [4.0]])  # mean 2, std sqrt(8/3)
    Z, mean, std = standardize(X, mean=[1.0])
    assert mean.tolist() == [1.0]
    np.testing.assert_allclose(std, [np.sqrt(8 / 3)], rtol=1e-6)
    np.testing.assert_allclose(Z[:, 0], (X[:, 0] - 1) / np.sqrt(8 / 3), rtol=1e-6)


def test_standardize_zero_variance_is_centred_not_scaled():
    X = np.column_stack([np.arange(6.0), np.full(6, 0.1), np.full(6, -7.0)]).astype(np.float32)
    Z, mean, std = standardize(X)
    assert np.isfinite(Z).all()
    np.testing.assert_array_equal(Z[:, 1:], 0)
    np.testing.assert_array_equal(std[1:], 1)
    np.testing.assert_allclose(mean[1:], [0.1, -7], rtol=1e-7)
    # a zero in a given std is treated as 1 as well
    Z, _, std = standardize(X, mean=[0, 0, 0], std=[1, 0, 1])
    np.testing.assert_array_equal(std, [1, 1, 1])
    np.testing.assert_allclose(Z[:, 1], 0.1)


def test_standardize_integer_input_and_empty_with_statistics():
    Z, _, _ = standardize(np.array([[0, 10], [2, 30]], dtype=np.uint8))
    np.testing.assert_array_equal(Z, [[-1, -1], [1, 1]])
    Z, _, _ = standardize(np.zeros((0, 2)), mean=[0, 0], std=[1, 1])
    assert Z.shape == (0, 2) and Z.dtype == np.float32


@pytest.mark.parametrize(
    "X, mean, std, message",
    [
        (np.ones(3), None, None, r"X must be 2-D \(n, F\), got shape \(3,\)"),
        (np.ones((0, 2)), None, None, "X has no samples to compute mean and std from"),
        (np.ones((3, 2)), [0, 0, 0], None, r"mean must have shape \(2,\) to match X, got \(3,\)"),
        (np.ones((3, 2)), None, [[1, 1]], r"std must have shape \(2,\) to match X, got \(1, 2\)"),
        (np.ones((3, 2)), None, [1, -0.5], "std must be >= 0, got -0.5 for feature 1"),
        (np.ones((3, 2)), [0, np.nan], None, "mean must be finite, got nan for feature 1"),
        (np.ones((3, 2)), None, [np.inf, 1], "std must be finite, got inf for feature 0"),
    ],
)
def test_standardize_errors(X, mean, std, message):
    with pytest.raises(ValueError, match=message):
        standardize(X, mean, std)
