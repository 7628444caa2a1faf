"""The networks: the chapter's generator and critic layer for layer (docs/algorithm.md), the
DCGAN-style pair of WGAN-GP's MNIST experiment (``architecture="dcgan"``, with or without batch
normalization), and the MNIST classifier whose penultimate layer is the feature space the
metrics judge samples in."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from .layers import UpSampleConv2D

IMAGE_SHAPE = (28, 28, 1)
ARCHITECTURES = ("chapter", "dcgan")  # ``training.architecture``
NORMALIZATIONS = ("none", "batch")  # ``training.normalization``
FEATURES = "features"  # the classifier's penultimate layer: where FID, precision/recall, ... live


def build_generator(
    latent_dim: int = 100,
    *,
    architecture: str = "chapter",
    fused_upsampling: bool = False,
    width: int = 64,
    normalization: str = "none",
    dtype: str | None = None,
    name: str = "generator",
) -> keras.Model:
    """Noise (latent_dim,) -> image (28, 28, 1) in [-1, 1], in ``architecture`` (the chapter's
    by default; "dcgan": :func:`dcgan_generator`).

    The chapter's:

    Dense(1024) tanh -> Dense(128*7*7) tanh -> Reshape(7, 7, 128) -> UpSampling2D(2)
    -> Conv2D(64, 5, same) tanh -> UpSampling2D(2) -> Conv2D(1, 5, same) tanh.
    6,738,689 parameters for latent_dim=100. No batch normalisation, as in the chapter.

    ``fused_upsampling`` computes each UpSampling2D + Conv2D pair as one ``UpSampleConv2D``: the
    same function and the same weights (``get_weights`` lists are interchangeable) with 9/25 of
    the multiply-adds. The plain model is the one to save and share: it needs no custom layer.
    ``width`` sets the dcgan networks' channels and ``normalization`` ("batch") gives them batch
    normalization; the chapter's are fixed and have none.
    """
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    _check_architecture(architecture, normalization)
    if architecture == "dcgan":
        return dcgan_generator(
            latent_dim, width=width, normalization=normalization, dtype=dtype, name=name
        )

    def upsample_conv(filters: int, index: int, dtype: str | None) -> list[keras.layers.Layer]:
        if fused_upsampling:
            return [UpSampleConv2D(filters, 5, activation="tanh", dtype=dtype,
                                   name=f"upsample_conv_{index}")]  # fmt: skip
        return [
            layers.UpSampling2D(2, dtype=dtype, name=f"upsample_{index}"),
            layers.Conv2D(
                filters, 5, padding="same", activation="tanh", dtype=dtype, name=f"conv_{index}"
            ),  # fmt: skip
        ]

    return keras.Sequential(
        [
            keras.Input((latent_dim,), name="noise"),
            layers.Dense(1024, activation="tanh", dtype=dtype, name="dense_1"),
            layers.Dense(128 * 7 * 7, activation="tanh", dtype=dtype, name="dense_2"),
            layers.Reshape((7, 7, 128), dtype=dtype, name="reshape"),
            *upsample_conv(64, 1, dtype),
            *upsample_conv(1, 2, "float32" if dtype else None),
        ],
        name=name,
    )


def dcgan_generator(
    latent_dim: int = 128,
    *,
    width: int = 64,
    normalization: str = "none",
    dtype: str | None = None,
    name: str = "generator",
) -> keras.Model:
    """WGAN-GP's MNIST generator (Gulrajani et al. 2017, their mnist.py, DIM = ``width`` = 64),
    tanh out.

    Dense(4*4*256) ReLU -> Reshape(4, 4, 256) -> Conv2DTranspose(128, 5, stride 2) ReLU (8x8)
    -> crop to 7x7 -> Conv2DTranspose(64, 5, stride 2) ReLU (14x14) -> Conv2DTranspose(1, 5,
    stride 2) tanh (28x28), the channels for width 64 (they scale with it). 1,439,489
    parameters for latent_dim=100.
    ``normalization="batch"`` puts a BatchNormalization between the dense layer and its ReLU
    and between each of the first two transposed convolutions and theirs, as WGAN-GP's
    mnist.py does in its clipped ``wgan`` mode (a separate ReLU layer then follows each): 17,152
    more parameters at width 64, half of them the moving statistics.
    A stride-2 transposed convolution already does only the k*k/4 live taps per output pixel
    (the sub-pixel form that makes the chapter's UpSampling2D + Conv2D cheaper would do 9), so
    there is no fused variant: this model is trained and saved as it is.
    """
    _check_normalization(normalization)
    normalized = normalization == "batch"
    # Normalized, a layer's ReLU follows its BatchNormalization as a layer of its own.
    inner = None if normalized else "relu"

    def norm_relu(suffix: str) -> list[keras.layers.Layer]:
        if not normalized:
            return []
        return [batch_normalization(f"norm_{suffix}", dtype),
                layers.ReLU(dtype=dtype, name=f"relu_{suffix}")]  # fmt: skip

    def up(filters: int, index: int, activation: str | None, dtype: str | None):
        return layers.Conv2DTranspose(
            filters, 5, strides=2, padding="same", activation=activation, dtype=dtype,
            name=f"deconv_{index}",
        )  # fmt: skip

    return keras.Sequential(
        [
            keras.Input((latent_dim,), name="noise"),
            layers.Dense(4 * 4 * 4 * width, activation=inner, dtype=dtype, name="dense"),
            *norm_relu("dense"),
            layers.Reshape((4, 4, 4 * width), dtype=dtype, name="reshape"),
            up(2 * width, 1, inner, dtype),
            *norm_relu("1"),
            layers.Cropping2D(((0, 1), (0, 1)), dtype=dtype, name="crop"),  # 8x8 -> 7x7
            up(width, 2, inner, dtype),
            *norm_relu("2"),
            up(1, 3, "tanh", "float32" if dtype else None),
        ],
        name=name,
    )


def batch_normalization(name: str, dtype: str | None) -> keras.layers.Layer:
    """A plain BatchNormalization (a .keras file holding it loads with safe_mode and no custom
    code), with Keras' defaults: momentum 0.99, epsilon 1e-3. In training it normalizes with the
    batch's statistics and updates its moving ones, which inference uses."""
    return layers.BatchNormalization(dtype=dtype, name=name)


def has_batch_normalization(model: keras.Model) -> bool:
    """Whether any layer of ``model`` (nested models' too) is a BatchNormalization: its outputs
    then depend on the whole batch in training, and it keeps moving statistics."""
    return any(
        isinstance(layer, layers.BatchNormalization)
        or (isinstance(layer, keras.Model) and has_batch_normalization(layer))
        for layer in model.layers
    )


def plain_generator(generator: keras.Model) -> keras.Model:
    """A new generator of ``generator``'s architecture holding its weights, with no custom
    layer: the chapter's plain UpSampling2D + Conv2D in place of ``UpSampleConv2D``, a float32
    copy of a mixed-precision one. A batch-normalized generator's copy has the same
    normalization and the same moving statistics (``get_weights`` lists them)."""
    transposed = [layer for layer in generator.layers if isinstance(layer, layers.Conv2DTranspose)]
    architecture = "dcgan" if transposed else "chapter"
    width = transposed[1].filters if transposed else 64
    normalization = "batch" if has_batch_normalization(generator) else "none"
    plain = build_generator(generator.input_shape[-1], architecture=architecture, width=width,
                            normalization=normalization, name=generator.name)  # fmt: skip
    plain.set_weights(generator.get_weights())
    return plain


def _check_architecture(architecture: str, normalization: str = "none") -> None:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {list(ARCHITECTURES)}, got {architecture!r}")
    _check_normalization(normalization)
    if architecture == "chapter" and normalization != "none":
        raise ValueError(
            f"normalization {normalization!r} is for the dcgan networks: the chapter's networks "
            "have no batch normalization. Use architecture='dcgan' or normalization='none'."
        )


def _check_normalization(normalization: str) -> None:
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {list(NORMALIZATIONS)}, got {normalization!r}"
        )


def build_critic(
    *,
    architecture: str = "chapter",
    width: int = 64,
    normalization: str = "none",
    dtype: str | None = None,
    name: str = "critic",
) -> keras.Model:
    """Image (28, 28, 1) -> one unbounded score per image (no sigmoid: a Wasserstein critic),
    in ``architecture`` (the chapter's by default; "dcgan": :func:`dcgan_critic`).

    The chapter's: three Conv2D(3x3, stride 2, same) + LeakyReLU(0.2) with 64, 32, 16 filters, a Conv2D(1, 3x3)
    and global average pooling. 23,873 parameters; no batch normalisation. ``width`` and
    ``normalization`` as for the generator; ``dtype`` too: the score always comes out float32,
    so the losses are computed in float32.
    """
    _check_architecture(architecture, normalization)
    if architecture == "dcgan":
        return dcgan_critic(width=width, normalization=normalization, dtype=dtype, name=name)
    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE, name="image"),
            layers.Conv2D(64, 3, strides=2, padding="same", dtype=dtype, name="conv_1"),
            layers.LeakyReLU(0.2, dtype=dtype, name="lrelu_1"),
            layers.Conv2D(32, 3, strides=2, padding="same", dtype=dtype, name="conv_2"),
            layers.LeakyReLU(0.2, dtype=dtype, name="lrelu_2"),
            layers.Conv2D(16, 3, strides=2, padding="same", dtype=dtype, name="conv_3"),
            layers.LeakyReLU(0.2, dtype=dtype, name="lrelu_3"),
            layers.Conv2D(1, 3, padding="same", dtype=dtype, name="conv_4"),
            layers.GlobalAveragePooling2D(dtype="float32", name="score"),
        ],
        name=name,
    )


def dcgan_critic(
    *,
    width: int = 64,
    normalization: str = "none",
    dtype: str | None = None,
    name: str = "critic",
) -> keras.Model:
    """WGAN-GP's MNIST critic: Conv2D(5x5, stride 2, same) + LeakyReLU(0.2) with ``width``,
    2 and 4 times ``width`` filters (64, 128, 256; 28 -> 14 -> 7 -> 4), then Dense(1) on the
    flattened 4x4 map. 1,030,145 parameters at width 64.

    ``normalization="batch"`` puts a BatchNormalization between the second and the third
    convolutions and their LeakyReLUs, as WGAN-GP's mnist.py does in its clipped ``wgan`` mode
    (1,536 more parameters at width 64, half of them the moving statistics).
    A score then depends on the whole batch it is computed in, so the WGAN scores real and
    generated images in separate calls, and the gradient penalty (per image) refuses it."""
    _check_normalization(normalization)
    normalized = normalization == "batch"

    def down(filters: int, index: int, normalize: bool = False):
        return [
            layers.Conv2D(filters, 5, strides=2, padding="same", dtype=dtype, name=f"conv_{index}"),
            *([batch_normalization(f"norm_{index}", dtype)] if normalize else []),
            layers.LeakyReLU(0.2, dtype=dtype, name=f"lrelu_{index}"),
        ]

    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE, name="image"),
            *down(width, 1),
            *down(2 * width, 2, normalized),
            *down(4 * width, 3, normalized),
            layers.Flatten(dtype=dtype, name="flatten"),
            layers.Dense(1, dtype="float32", name="score"),
        ],
        name=name,
    )


def check_generator(generator: keras.Model) -> int:
    """The generator's latent size, after checking it maps noise (N, d) to images (N, 28, 28, 1)."""
    inputs, outputs = generator.input_shape, generator.output_shape
    if not (len(inputs) == 2 and tuple(outputs[1:]) == IMAGE_SHAPE):
        raise ValueError(
            f"The generator '{generator.name}' maps {inputs} to {outputs}, not noise (None, d) to "
            "MNIST images (None, 28, 28, 1): it is not a generator of this project. Train one "
            "(`kedro run`) or load another version (`kedro run --load-versions generator:<timestamp>`)."
        )
    return inputs[-1]


def build_classifier(feature_dim: int = 128, name: str = "mnist_classifier") -> keras.Model:
    """[-1, 1] image (28, 28, 1) -> probabilities of the ten classes (digits, for MNIST).

    Conv(32, 3) -> max-pool -> Conv(64, 3) -> max-pool -> Dense(feature_dim) ReLU ("features")
    -> dropout -> Dense(10) softmax: the keras-io MNIST convnet with a small feature layer.
    """
    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE, name="image"),
            layers.Conv2D(32, 3, activation="relu", name="conv_1"),
            layers.MaxPooling2D(2, name="pool_1"),
            layers.Conv2D(64, 3, activation="relu", name="conv_2"),
            layers.MaxPooling2D(2, name="pool_2"),
            layers.Flatten(name="flatten"),
            layers.Dropout(0.25, name="dropout_1"),
            layers.Dense(feature_dim, activation="relu", name=FEATURES),
            layers.Dropout(0.5, name="dropout_2"),
            layers.Dense(10, activation="softmax", name="probabilities"),
        ],
        name=name,
    )


def feature_extractor(classifier: keras.Model) -> keras.Model:
    """image -> (features, class probabilities) of a classifier built by :func:`build_classifier`,
    after checking it is one (a ``features`` layer and 10 outputs)."""
    layer_names = {layer.name for layer in classifier.layers}
    if FEATURES not in layer_names or tuple(classifier.output_shape) != (None, 10):
        raise ValueError(
            f"The model '{classifier.name}' loaded as the classifier has no '{FEATURES}' layer "
            f"or does not output 10 class probabilities (its output is {classifier.output_shape}):"
            " train the project's classifier with `kedro run --pipelines classifier`."
        )
    (image,) = classifier.inputs  # one input, passed as a tensor, not a list of one
    return keras.Model(image, [classifier.get_layer(FEATURES).output, classifier.outputs[0]])


def predict_in_batches(model: keras.Model, inputs: np.ndarray, batch_size: int):
    """``model`` on ``inputs`` in batches, called directly, as NumPy (a tuple for several
    outputs). Unlike ``predict``, which traces a new function for every model it is called on
    (TensorFlow then warns of retracing), this traces nothing."""
    parts = [
        keras.tree.map_structure(
            keras.ops.convert_to_numpy, model(inputs[start : start + batch_size], training=False)
        )
        for start in range(0, len(inputs), batch_size)
    ]
    if isinstance(parts[0], list | tuple):
        return tuple(np.concatenate(column) for column in zip(*parts, strict=True))
    return np.concatenate(parts)
