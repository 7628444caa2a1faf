"""The raw data set -> training images scaled to [-1, 1]."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
