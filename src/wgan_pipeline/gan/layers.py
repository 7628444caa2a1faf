"""UpSampling2D(2) followed by a 'same' convolution, computed at the low resolution.

Nearest-neighbour upsampling by 2 then a k x k 'same' convolution equals, for each of the four
output phases (row parity a, column parity b), a 3 x 3 'same' convolution of the *input* whose
taps are fixed sums of the k x k taps; stacking the four phase kernels into 4x the output
channels and interleaving them with depth_to_space gives the upsampled result. For k = 5 that
is 9/25 of the multiply-adds, with the same parameters: the layer keeps the chapter's 5 x 5
kernel as its weight and derives the phase kernels from it inside the graph, so gradients flow
to that kernel and its weights are interchangeable with the plain UpSampling2D + Conv2D pair.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def _phase_matrices(kernel_size: int) -> np.ndarray:
    """M[a, o, t] = 1 when tap t of the k-tap kernel lands on input offset o - 1 for phase a.

    Output row 2i + a reads upsampled row 2i + a + d (d = t - k // 2), i.e. input row
    i + floor((a + d) / 2); for k <= 5 that offset is in {-1, 0, 1}.
    """
    half = kernel_size // 2
    m = np.zeros((2, 3, kernel_size), np.float32)
    for a in (0, 1):
        for t in range(kernel_size):
            m[a, (a + t - half) // 2 + 1, t] = 1.0
    return m


@keras.saving.register_keras_serializable(package="wgan_pipeline")
class UpSampleConv2D(keras.layers.Layer):
    """``UpSampling2D(2)`` then ``Conv2D(filters, kernel_size, padding="same")``, fused.

    Holds ``kernel`` (k, k, in, filters) and ``bias`` (filters,) exactly like the Conv2D it
    replaces (odd k <= 5), so ``set_weights``/``get_weights`` move weights between the two.
    """

    def __init__(self, filters: int, kernel_size: int = 5, activation=None, **kwargs):
        super().__init__(**kwargs)
        if kernel_size % 2 != 1 or not 1 <= kernel_size <= 5:
            raise ValueError(f"kernel_size must be odd and at most 5, got {kernel_size!r}")
        self.filters = filters
        self.kernel_size = kernel_size
        self.activation = keras.activations.get(activation)
        m = _phase_matrices(kernel_size)
        # P[(y, x, a, b), (s, t)] = M[a, y, s] M[b, x, t]: the 5 x 5 taps -> the phase kernels
        self._phases = np.einsum("ays,bxt->yxabst", m, m).reshape(36, kernel_size**2)

    def build(self, input_shape):
        channels = input_shape[-1]
        k = self.kernel_size
        self.kernel = self.add_weight(
            name="kernel", shape=(k, k, channels, self.filters), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def phase_kernel(self):
        """The (3, 3, in, 4 * filters) kernel: phase (a, b) in channels (2a + b) * filters + c.

        W[y, x, i, (a, b, o)] = sum_{s, t} M[a, y, s] M[b, x, t] K[s, t, i, o], as one matmul
        of the fixed (36, k * k) tap map with the kernel (a three-way einsum ran as several
        small matmuls)."""
        p = ops.convert_to_tensor(self._phases, dtype=self.compute_dtype)  # bf16 when mixed
        k, _, channels, filters = self.kernel.shape
        w = ops.matmul(p, ops.reshape(self.kernel, (k * k, channels * filters)))
        w = ops.transpose(ops.reshape(w, (3, 3, 2, 2, channels, filters)), (0, 1, 4, 2, 3, 5))
        return ops.reshape(w, (3, 3, channels, 4 * filters))

    def call(self, inputs):
        low = ops.conv(inputs, self.phase_kernel(), strides=1, padding="same")
        high = ops.depth_to_space(low, 2, data_format="channels_last")
        return self.activation(high + self.bias)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        double = lambda n: None if n is None else 2 * n  # noqa: E731
        return (batch, double(height), double(width), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "activation": keras.activations.serialize(self.activation),
        }
