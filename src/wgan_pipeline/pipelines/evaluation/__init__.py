"""Samples from the trained generator judged by the classifier, and the pictures of the run."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
