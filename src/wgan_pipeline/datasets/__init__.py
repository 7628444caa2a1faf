"""Project-local Kedro datasets, for the formats no kedro-datasets class reads."""

from .mnist_npz import MnistNpzDataset
from .numpy_dataset import NpyDataset

__all__ = ["MnistNpzDataset", "NpyDataset"]
