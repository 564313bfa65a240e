"""fastnn: fully-connected neural networks on fused Numba CPU kernels.

Importing fastnn imports neither Numba nor matplotlib, and compiles nothing; kernels
compile on first use.
"""
from fastnn import datasets, errors, plot
from fastnn.callbacks import EarlyStopping
from fastnn.config import __version__, show_config
from fastnn.from_torch import from_torch
from fastnn.layers import Dense, Dropout
from fastnn.model import Sequential, load, mlp
from fastnn.optim import SGD, Adam, AdamW, RMSprop
from fastnn.schedulers import CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, StepLR
from fastnn.training import History

__all__ = ["Sequential", "mlp", "Dense", "Dropout", "SGD", "Adam", "AdamW", "RMSprop",
           "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau",
           "EarlyStopping", "History", "load", "datasets", "plot", "errors", "show_config",
           "from_torch", "__version__"]
