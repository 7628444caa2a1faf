"""Project-local Kedro datasets, for the formats no kedro-datasets class reads."""

from .idx_gz import IdxGzDataset
from .judge import JudgeCardDataset, JudgeDataset
from .keras_model import KerasModelDataset
from .labelled_images import LabelledImagesDataset
from .mlflow_generator import MlflowGeneratorDataset
from .mnist_npz import MnistNpzDataset
from .numpy_dataset import NpyDataset
from .run_folders import RunFoldersDataset

__all__ = [
    "RunFoldersDataset",
    "IdxGzDataset",
    "JudgeCardDataset",
    "JudgeDataset",
    "KerasModelDataset",
    "LabelledImagesDataset",
    "MlflowGeneratorDataset",
    "MnistNpzDataset",
    "NpyDataset",
]
