"""The pictures of a run: grids, curves, the progress strip and the judge's curve."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
