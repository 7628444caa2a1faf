"""Samples from the trained generator, judged by the classifier: the evaluation's numbers."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
