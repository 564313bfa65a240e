"""Tables of your own: CSV files with a header row, and .npz files holding ``X`` and ``y``.

Both read into a `Table`: numeric features, the target column as it was written, the
column names, and where each row came from, so that every error names the file, the row
and the column.
"""
import csv
import difflib
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fastnn.errors import DataFileError

__all__ = ["Table", "read_csv", "read_npz", "csv_columns", "MISSING"]

#: Cells read as a missing value (compared in lower case, after stripping blanks).
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_MISSING_HINT = "fill or drop rows with missing values before training"


@dataclass
class Table:
    """Rows read from a data file.

    Attributes
    ----------
    X : float64 (n, F)
        The feature columns, finite numbers.
    y : (n,) array or None
        The target column as written: strings for a CSV file, numbers for .npz; None
        when no target was asked for.
    features : list of str
        The feature columns' names (``x0, x1, ...`` for .npz).
    target : str or None
        The target column's name (``y`` for .npz).
    source : str
        The file.
    lines : int64 (n,) or None
        The file line of each row (CSV), for messages; None for .npz.
    """

    X: np.ndarray
    y: object
    features: list
    target: object
    source: str
    lines: object = None

    def rows(self, index):
        """The rows at `index` (an integer array), as a Table."""
        return Table(X=self.X[index], y=None if self.y is None else self.y[index],
                     features=self.features, target=self.target, source=self.source,
                     lines=None if self.lines is None else self.lines[index])

    def where(self, i, column=None):
        """Row `i` (and `column`) as messages name it: "data.csv: row 3 (line 4), column 'a'"."""
        at = (f"row {i + 1} (line {self.lines[i]})" if self.lines is not None
              else f"row {i} of y")
        return f"{self.source}: {at}" + (f", column {column!r}" if column else "")


def read_csv(path, target=None, features=None):
    """Read a CSV file with a header row: numeric features and, optionally, a target.

    Parameters
    ----------
    path : str or os.PathLike
    target : str, optional
        The target column, kept as strings (``Table.y``). None: no target.
    features : list of str, optional
        The feature columns to read, in this order (a saved model's). Default: every
        column but the target.

    Returns
    -------
    Table

    Raises
    ------
    FileNotFoundError
        No such file.
    fastnn.errors.DataFileError
        An empty file, a header with a blank or repeated name, a missing target or feature
        column, a row with more or fewer fields than the header, a missing value (empty,
        NA, NaN, ?, ...), a feature that is not a finite number, or no data rows. The
        message names the file, row (and file line) and column.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            while header is not None and not any(cell.strip() for cell in header):
                header = next(reader, None)  # blank lines before the header
            if header is None:
                raise DataFileError(f"{path}: empty file (expected a header row of column "
                                    f"names, then one row per sample)")
            names = _column_names(path, header)
            if target is not None and target not in names:
                raise DataFileError(f"{path}: no target column {target!r}"
                                    f"{_suggest(target, names)} (the columns are "
                                    f"{', '.join(names)})")
            if features is None:
                features = [name for name in names if name != target]
            for name in features:
                if name not in names:
                    raise DataFileError(f"{path}: no column {name!r}{_suggest(name, names)}; "
                                        f"the model needs the columns {', '.join(features)}")
            if not features:
                raise DataFileError(f"{path}: no feature columns besides the target "
                                    f"{target!r}")
            table = _read_rows(path, reader, names, features, target)
        except csv.Error as err:
            raise DataFileError(f"{path}: line {reader.line_num}: not valid CSV "
                                f"({err})") from None
    return table


def csv_columns(path):
    """The column names in the header of the CSV file at `path` ([] if it is empty)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.reader(f):
            if any(cell.strip() for cell in row):
                return [cell.strip() for cell in row]
    return []


def _column_names(path, header):
    names = [cell.strip() for cell in header]
    for j, name in enumerate(names):
        if not name:
            raise DataFileError(f"{path}: column {j + 1} of the header has no name")
        if name in names[:j]:
            raise DataFileError(f"{path}: column name {name!r} appears twice in the header "
                                f"(columns {names.index(name) + 1} and {j + 1})")
    return names


def _read_rows(path, reader, names, features, target):
    columns = [names.index(name) for name in features]
    at_target = None if target is None else names.index(target)
    rows, targets, lines = [], [], []
    for row in reader:
        if not row or not any(cell.strip() for cell in row):
            continue  # blank lines (often one at the end) are not samples
        i, line = len(rows), reader.line_num
        where = f"{path}: row {i + 1} (line {line})"
        if len(row) != len(names):
            raise DataFileError(f"{where} has {len(row)} fields, but the header has "
                                f"{len(names)}; every row needs one value per column")
        values = []
        for j in columns:
            cell = row[j].strip()
            _check_present(cell, f"{where}, column {names[j]!r}")
            try:
                value = float(cell)
            except ValueError:
                raise DataFileError(f"{where}, column {names[j]!r}: {cell!r} is not a number; "
                                    f"features must be numeric (encode categories as "
                                    f"numbers, or drop the column)") from None
            if not math.isfinite(value):
                raise DataFileError(f"{where}, column {names[j]!r}: {cell!r} is not a finite "
                                    f"number; features must be finite")
            values.append(value)
        if at_target is not None:
            cell = row[at_target].strip()
            _check_present(cell, f"{where}, column {target!r} (the target)")
            targets.append(cell)
        rows.append(values)
        lines.append(line)
    if not rows:
        raise DataFileError(f"{path}: no data rows after the header")
    return Table(X=np.array(rows, dtype=np.float64),
                 y=None if target is None else np.array(targets, dtype=str),
                 features=list(features), target=target, source=str(path),
                 lines=np.array(lines, dtype=np.int64))


def _check_present(cell, where):
    if cell.lower() in MISSING:
        shown = "is empty" if not cell else f"holds {cell!r}, a missing value"
        raise DataFileError(f"{where} {shown}: {_MISSING_HINT}")


def _suggest(name, names):
    close = difflib.get_close_matches(name, names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_npz(path, need_y=True):
    """Read a .npz file holding ``X`` (n, F) numbers and ``y`` (n,) labels or values.

    Written with ``np.savez(path, X=X, y=y)``; read without unpickling anything.

    Parameters
    ----------
    path : str or os.PathLike
    need_y : bool, default True
        Refuse a file without ``y``. Otherwise ``Table.y`` is None when it is absent.

    Returns
    -------
    Table
        Features named ``x0, x1, ...``, target ``y``.

    Raises
    ------
    FileNotFoundError
        No such file.
    fastnn.errors.DataFileError
        Not a .npz file, no ``X`` (or ``y``), object arrays, ``X`` not 2-D numbers or
        holding NaN or inf (naming the row and column), ``y`` not 1-D or of another
        length, or no samples.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise DataFileError(f"{path}: a single .npy array, expected a .npz file "
                                    f"with arrays X and y (np.savez(path, X=X, y=y))")
            names = list(data.files)
            for name in ("X", "y") if need_y else ("X",):
                if name not in names:
                    raise DataFileError(f"{path}: no array {name!r} (it holds "
                                        f"{', '.join(names) or 'nothing'}); save it with "
                                        f"np.savez(path, X=X, y=y)")
            X = data["X"]
            y = data["y"] if "y" in names else None
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise DataFileError(f"{path}: not a readable .npz file ({err})") from None
    except ValueError as err:  # pickled (object) arrays, refused unread
        raise DataFileError(f"{path}: {err}; save plain numeric or string arrays") from None
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise DataFileError(f"{path}: X must be a 2-D array of numbers (samples, "
                            f"features), got {X.dtype.name} of shape {X.shape}")
    if len(X) == 0:
        raise DataFileError(f"{path}: X has no samples")
    finite = np.isfinite(X)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise DataFileError(f"{path}: X holds {X[row, col]} at row {row}, column {col}: "
                            f"{_MISSING_HINT}")
    if y is not None:
        if y.ndim != 1 or len(y) != len(X):
            raise DataFileError(f"{path}: y must be 1-D with one target per row of X "
                                f"({len(X)},), got shape {y.shape}")
        if y.dtype.kind not in "biufUS":
            raise DataFileError(f"{path}: y must hold numbers or strings, got {y.dtype}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            i = int(np.argmax(~np.isfinite(y)))
            raise DataFileError(f"{path}: y holds {y[i]} at row {i}: {_MISSING_HINT}")
    return Table(X=X.astype(np.float64), y=y,
                 features=[f"x{j}" for j in range(X.shape[1])],
                 target="y" if y is not None else None, source=str(path))
