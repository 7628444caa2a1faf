"""The kept and the last generator logged to MLflow as servable models; the kept one registered
and crowned champion when it beats the champion under the same judge."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
