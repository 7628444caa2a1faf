"""Project-local Kedro datasets, for the formats no kedro-datasets class reads."""

from .directory import DirectoryDataset
from .generator_model import GeneratorModelTrackingDataset
from .keras_model import KerasModelDataset
from .mnist_npz import MnistNpzDataset
from .numpy_dataset import NpyDataset

__all__ = [
    "DirectoryDataset",
    "GeneratorModelTrackingDataset",
    "KerasModelDataset",
    "MnistNpzDataset",
    "NpyDataset",
]
