"""What the WGAN's step does that Keras' backends spell differently: gradients, a conditional
update, and (on JAX) the step's state.

The step is written once, statefully, as the paper states it (wgan.py). On TensorFlow it runs as
written inside ``tf.function``, with ``tf.GradientTape`` and ``tf.cond``. Keras' JAX trainer
instead hands the model's state to ``train_step(state, data)`` and wants the new state back from
a pure function. ``run_stateless`` maps that state onto the model's variables with
``keras.StatelessScope`` (reads see the passed-in values, assignments are recorded), runs the
same step, and collects what it assigned; ``value_and_grad`` and ``cond`` then work on those
scoped values through ``jax.value_and_grad`` and ``jax.lax.cond``.

TensorFlow is imported only on the TensorFlow backend, JAX only on JAX: the JAX path runs where
TensorFlow is not installed (the GPU benchmark machine).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras

BACKEND = keras.backend.backend()
if BACKEND == "jax":
    import jax
elif BACKEND == "tensorflow":
    import tensorflow as tf
else:
    raise ImportError(
        f"The WGAN's step runs on Keras' tensorflow and jax backends, not {BACKEND!r}: "
        "set KERAS_BACKEND=tensorflow (the default) or KERAS_BACKEND=jax."
    )

logger = logging.getLogger(__name__)
_GPU_DETERMINISM = "--xla_gpu_deterministic_ops=true"

# The scopes run_stateless and its helpers opened, innermost last.
_scopes: list[keras.StatelessScope] = []


def is_jax() -> bool:
    return BACKEND == "jax"


def devices() -> list[str]:
    """The devices the backend computes on: its GPUs when it sees any, else the CPU."""
    if is_jax():
        return [f"{d.platform}:{d.id} ({d.device_kind})" for d in jax.devices()]
    found = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return [d.name for d in found]


def enable_determinism() -> None:
    """Same inputs, same bits: TensorFlow's op determinism. JAX's CPU kernels already are; on a
    GPU, XLA reads its flag at start-up, so it can only be asked for before the run."""
    if not is_jax():
        tf.config.experimental.enable_op_determinism()
    elif jax.default_backend() == "gpu" and _GPU_DETERMINISM not in os.environ.get("XLA_FLAGS", ""):
        logger.warning(
            "training.deterministic: JAX on a GPU is deterministic only when started with "
            "XLA_FLAGS=%s; this run is not.",
            _GPU_DETERMINISM,
        )


def value_and_grad(fn: Callable[[], tuple[Any, Any]], variables: Sequence[keras.Variable]):
    """``loss, aux = fn()`` and d loss / d ``variables``: returns (loss, aux, gradients)."""
    if not is_jax():
        with tf.GradientTape() as tape:
            loss, aux = fn()
        return loss, aux, tape.gradient(loss, variables)

    scope = _scope()
    ids = [id(v) for v in variables]

    def pure(values):
        with _child_scope(scope, dict(zip(ids, values))) as inner:
            loss, aux = fn()
        # State the loss moved on (the noise seed) leaves as an output, not as a leaked tracer.
        moved = {k: v for k, v in inner.state_mapping.items()
                 if k not in ids and scope.state_mapping.get(k) is not v}  # fmt: skip
        return loss, (aux, moved)

    (loss, (aux, moved)), grads = jax.value_and_grad(pure, has_aux=True)(
        [scope.state_mapping[k] for k in ids]
    )
    scope.state_mapping.update(moved)
    return loss, aux, grads


def input_gradient(fn: Callable[[Any], tuple[Any, Any]], x):
    """``target, aux = fn(x)`` and d target / d ``x``: returns (aux, gradient). Differentiable
    itself, so a loss may hold it (the gradient penalty)."""
    if not is_jax():
        with tf.GradientTape() as tape:
            tape.watch(x)
            target, aux = fn(x)
        return aux, tape.gradient(target, x)

    grad, aux = jax.grad(fn, has_aux=True)(x)
    return aux, grad


def cond(pred, fn: Callable[[], None]) -> None:
    """Runs ``fn`` (which only assigns variables) when the scalar ``pred`` is true."""
    if not is_jax():

        def run():
            fn()
            return tf.no_op()

        tf.cond(pred, run, tf.no_op)
        return

    scope = _scope()
    keys = list(scope.state_mapping)

    def branch(values):
        with _child_scope(scope, dict(zip(keys, values))) as inner:
            fn()
        return [inner.state_mapping[k] for k in keys]

    values = [scope.state_mapping[k] for k in keys]
    scope.state_mapping.update(zip(keys, jax.lax.cond(pred, branch, lambda v: v, values)))


def state_variables(model: keras.Model) -> tuple[list[keras.Variable], ...]:
    """The variables behind Keras' JAX training state, in its order: trainable, non-trainable,
    optimizer, metrics."""
    return (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )


def run_stateless(model: keras.Model, state: tuple, step: Callable[[], dict]):
    """Keras' JAX ``train_step(state, data)`` contract around a stateful ``step``: ``state`` is
    (trainable, non-trainable, optimizer, metrics) values in the order of the model's lists;
    returns (``step``'s logs, the new state)."""
    groups = state_variables(model)
    mapping = [(v, value) for variables, values in zip(groups, state)
               for v, value in zip(variables, values)]  # fmt: skip
    with _entered(keras.StatelessScope(state_mapping=mapping)) as scope:
        logs = step()
    new_state = tuple([scope.get_current_value(v) for v in variables] for variables in groups)
    return logs, new_state


def scanned_train_function(step: Callable, steps_per_execution: int) -> Callable:
    """On JAX, ``steps_per_execution`` batches per compiled call, the step scanned over them
    (``jax.lax.scan``): no Python between the steps. Keras' own JAX trainer still calls a
    compiled single step once per batch from Python. Returns what Keras' JAX trainer calls as
    ``train_function(state, iterator)``: (the last step's logs, the new state)."""

    def run(state, batches):
        def body(state, batch):
            logs, state = step(state, batch)
            return state, logs

        state, logs = jax.lax.scan(body, state, batches)
        return jax.tree.map(lambda values: values[-1], logs), state

    run = jax.jit(run, donate_argnums=0)

    def train_function(state, iterator):
        first = next(iterator)  # at the epoch's end, StopIteration goes to Keras as usual
        batches = [first, *itertools.islice(iterator, steps_per_execution - 1)]
        return run(state, jax.tree.map(lambda *parts: jax.numpy.stack(parts), *batches))

    return train_function


def _scope() -> keras.StatelessScope:
    if not _scopes:
        raise RuntimeError(
            "On the JAX backend the WGAN's step runs inside run_stateless (Keras' fit does this)."
        )
    return _scopes[-1]


@contextlib.contextmanager
def _entered(scope: keras.StatelessScope) -> Iterator[keras.StatelessScope]:
    with scope:
        _scopes.append(scope)
        try:
            yield scope
        finally:
            _scopes.pop()


def _child_scope(parent: keras.StatelessScope, overrides: dict):
    """A scope that sees ``parent``'s values with ``overrides`` (variable id -> value) on top.
    Every variable must be mapped: Keras' JAX trainer empties the variables themselves."""
    child = keras.StatelessScope()
    child.state_mapping = {**parent.state_mapping, **overrides}
    return _entered(child)
