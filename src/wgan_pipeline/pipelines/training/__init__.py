"""Weight-clipped WGAN training on the scaled MNIST images."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
