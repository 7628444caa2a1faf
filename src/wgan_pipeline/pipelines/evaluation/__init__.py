"""Samples from the trained generator, a grid of them, and the generator as an MLflow model."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
