"""The GAN as a library: the networks, the WGAN step, images and noise, the metrics.

Imports Keras and NumPy only (no Kedro, MLflow or tf.data): a benchmark, a notebook or a GPU
script uses it as it is. Modules are imported one by one (``from wgan_pipeline.gan.models
import build_generator``), so what needs only NumPy (metrics, images, errors) loads no Keras.
"""
