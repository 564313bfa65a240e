"""fastnn: fully-connected neural networks on fused Numba CPU kernels.

Importing fastnn imports neither Numba nor compiles anything; kernels compile on first use.
"""
from fastnn import datasets
from fastnn.io import load
from fastnn.layers import Dense
from fastnn.model import Sequential
from fastnn.optim import SGD, Adam
from fastnn.training import History

__version__ = "0.1.0"

__all__ = ["Sequential", "Dense", "SGD", "Adam", "History", "load", "datasets"]
