"""Data sets, one job a module.

- `fastnn.datasets.idx`: IDX files (MNIST's format) and folders of them.
- `fastnn.datasets.mnist`: find, download and verify MNIST.
- `fastnn.datasets.toy`: small seeded 2-D problems (XOR, circles, moons, spirals).
- `fastnn.datasets.preprocessing`: train/test split, one-hot labels, standardization.
- `fastnn.datasets.tabular`: your own data, CSV files and .npz files.
- `fastnn.datasets.spec`: what a model was trained on, saved with it.
"""
from fastnn.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, load_idx_folder, read_idx, write_idx
from fastnn.datasets.mnist import FILES, MIRRORS, SHA256, MNISTNotFoundError, load_mnist
from fastnn.datasets.preprocessing import one_hot, standardize, train_test_split
from fastnn.datasets.spec import DataSpec
from fastnn.datasets.tabular import Table, read_csv, read_npz
from fastnn.datasets.toy import circles, moons, spirals, xor

__all__ = [
    "MNISTNotFoundError",
    "load_mnist",
    "read_idx",
    "write_idx",
    "load_idx_folder",
    "read_csv",
    "read_npz",
    "Table",
    "DataSpec",
    "xor",
    "circles",
    "moons",
    "spirals",
    "train_test_split",
    "one_hot",
    "standardize",
]
