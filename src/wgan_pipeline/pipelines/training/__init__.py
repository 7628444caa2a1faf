"""Weight-clipped WGAN training on the scaled MNIST images.

``create_pipeline`` is imported on first use, so the model code here (models, layers, wgan,
backend) imports without Kedro or TensorFlow: benchmarks/jax_epoch.py runs it on Keras' JAX
backend on a GPU machine that has only JAX.
"""

__all__ = ["create_pipeline"]


def __getattr__(name: str):
    if name == "create_pipeline":
        from .pipeline import create_pipeline  # noqa: PLC0415 (on first use, see above)

        return create_pipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
