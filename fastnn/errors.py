"""The exceptions fastnn raises, one class per kind of mistake.

Each is also a built-in exception (``ValueError``, ``TypeError`` or, for a diverging run,
``FloatingPointError``), so code that catches those keeps working; ``except FastnnError``
catches them all. Messages say what was expected and what was given.
"""
import difflib

__all__ = ["FastnnError", "ShapeError", "DTypeError", "NonFiniteError", "LabelError",
           "UnknownNameError", "HyperParameterError", "ModelFileError", "CorruptFileError",
           "DataFileError", "TrainingDivergedError"]


class FastnnError(Exception):
    """Base of every fastnn error."""


class ShapeError(FastnnError, ValueError):
    """An array has the wrong number of dimensions, features or samples, or is empty."""


class DTypeError(FastnnError, TypeError):
    """An array or argument holds the wrong kind of values (strings, objects, complex)."""


class NonFiniteError(FastnnError, ValueError):
    """Data holds NaN or inf where only finite numbers make sense."""


class LabelError(FastnnError, ValueError):
    """Targets do not suit the loss: a label out of range, not 0/1, not one-hot."""


class HyperParameterError(FastnnError, ValueError):
    """An argument of a constructor, of fit or of load_state_dict is invalid: outside its
    range, of the wrong kind, or a state dict with missing or unknown keys."""


class UnknownNameError(FastnnError, ValueError):
    """A name (activation, init, loss, backend, optimizer, ...) that fastnn does not know.

    The message lists the choices and, when one is close, suggests it.

    Parameters
    ----------
    kind : str
        What was named, e.g. "activation".
    name : object
        What was given.
    choices : iterable of str
        The names that would have worked.
    context : str, optional
        Where the name came from, e.g. " in $FASTNN_BACKEND".

    Attributes
    ----------
    suggestion : str or None
        The closest choice, if any is close.
    """

    def __init__(self, kind, name, choices, context=""):
        self.kind, self.name, self.choices = kind, name, sorted(choices)
        self.context = context
        close = (difflib.get_close_matches(name, self.choices, n=1)
                 if isinstance(name, str) else [])
        self.suggestion = close[0] if close else None
        hint = f"; did you mean {self.suggestion!r}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}{context}{hint} (choose one of "
                         f"{', '.join(map(repr, self.choices))})")

    def __reduce__(self):  # so the error survives pickling, e.g. across processes
        return type(self), (self.kind, self.name, self.choices, self.context)


class ModelFileError(FastnnError, ValueError):
    """A saved-model file that is not exactly what ``save`` writes: refused, never run."""


class CorruptFileError(FastnnError, ValueError):
    """A data file that is truncated or damaged: bad magic number, size or gzip data."""


class DataFileError(FastnnError, ValueError):
    """A data file (CSV, .npz) that cannot be trained on as it is: empty, ragged, a value
    missing or not a number, a column missing. The message names the file, row and column."""


class TrainingDivergedError(FastnnError, FloatingPointError):
    """The loss or the parameters became NaN or inf during training.

    The message names the epoch and batch and suggests a cause; the model keeps the
    weights of the last finite step.
    """
