"""The judge: a classifier of the data set whose penultimate layer is the feature space of the
metrics."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
