"""The textbook chapter's WGAN training loop in Keras 3, as the chapter writes it: the speed
baseline the project's step is measured against (train_speed.py, phase "chapter").

Per batch:
    fake = g.predict(noise)
    d.train_on_batch(concat(real, fake), [-1] * B + [1] * B)
    every critic layer: set_weights([np.clip(w, -c, c) for w in get_weights()])
    d.trainable = False; combined.train_on_batch(noise, [-1] * B); d.trainable = True
The generator is trained with -1, the real label (the chapter's text has +1: the sign error
docs/algorithm.md explains). Deliberately unoptimised: a combined model, ``trainable`` flag
juggling and weight clipping through NumPy round trips are what the chapter does.
"""

from __future__ import annotations

import time

import numpy as np

LATENT, BATCH, LR, CLIP = 100, 100, 5e-5, 0.1


def chapter_models():
    """The chapter's generator, critic and combined model, compiled with its loss."""
    import keras  # noqa: PLC0415 (each benchmark phase imports Keras in its own process)
    from keras import layers, ops  # noqa: PLC0415

    def wasserstein(y_true, y_pred):
        return ops.mean(y_true * y_pred)

    generator = keras.Sequential([
        keras.Input((LATENT,)),
        layers.Dense(1024, activation="tanh"),
        layers.Dense(128 * 7 * 7, activation="tanh"),
        layers.Reshape((7, 7, 128)),
        layers.UpSampling2D(2),
        layers.Conv2D(64, 5, padding="same", activation="tanh"),
        layers.UpSampling2D(2),
        layers.Conv2D(1, 5, padding="same", activation="tanh"),
    ])  # fmt: skip
    critic = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(32, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(16, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(1, 3, padding="same"),
        layers.GlobalAveragePooling2D(),
    ])  # fmt: skip
    critic.compile(loss=wasserstein, optimizer=keras.optimizers.RMSprop(learning_rate=LR))
    critic.trainable = False  # frozen inside the combined model, as the chapter does
    combined = keras.Sequential([keras.Input((LATENT,)), generator, critic])
    combined.compile(loss=wasserstein, optimizer=keras.optimizers.RMSprop(learning_rate=LR))
    critic.trainable = True
    return generator, critic, combined


def steps_per_second(x_train: np.ndarray, steps: int = 30, warmup: int = 5, seed: int = 0) -> float:
    """The chapter loop's steps per second on ``x_train`` (uint8 (N, 28, 28) MNIST images),
    timed over ``steps`` after ``warmup`` untimed ones."""
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    x = ((x_train.astype(np.float32) - 127.5) / 127.5)[..., None]
    generator, critic, combined = chapter_models()
    rng = np.random.default_rng(seed)
    critic_labels = np.array([-1.0] * BATCH + [1.0] * BATCH, np.float32).reshape(-1, 1)
    generator_labels = -np.ones((BATCH, 1), np.float32)
    start = time.perf_counter()
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        real = x[rng.integers(0, len(x), BATCH)]
        noise = rng.uniform(-1, 1, (BATCH, LATENT)).astype(np.float32)
        fake = generator.predict(noise, verbose=0)
        critic.train_on_batch(np.concatenate([real, fake]), critic_labels)
        for layer in critic.layers:
            layer.set_weights([np.clip(w, -CLIP, CLIP) for w in layer.get_weights()])
        critic.trainable = False
        combined.train_on_batch(noise, generator_labels)
        critic.trainable = True
    return steps / (time.perf_counter() - start)
