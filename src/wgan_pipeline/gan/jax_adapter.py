"""The WGAN's step on Keras' JAX backend, written to Keras' documented JAX contract.

Keras' JAX trainer calls ``train_step(state, data)`` with ``state`` = (trainable, non-trainable,
optimizer, metrics) variable *values*, and wants ``(logs, new_state)`` back from a pure
function ("Customizing what happens in fit() with JAX"). ``train_step`` below does the WGAN
step that way: the networks run through ``stateless_call``, the optimizers through
``stateless_apply``, the trackers through ``stateless_update_state``, the generator update
through ``jax.lax.cond``, and the noise from an explicit seed. The loss terms are the model's
own ``critic_terms``, so both backends compute the same thing (tested to 1e-6). What the
networks' calls change of their non-trainable state (batch normalization's moving statistics)
goes from call to call in the order TensorFlow's step makes them, and into the new state.

Where this leans on Keras beyond that contract, and why (tests/test_jax_backend.py
``test_keras_jax_trainer_contract`` fails loudly if an upgrade changes either):

1. **Two optimizers, one slot.** Keras' JAX trainer takes the optimizer state from
   ``model.optimizer.variables`` and writes it back there after ``fit``. A GAN has two
   optimizers, so ``OptimizerPair`` stands in that slot and lists both optimizers' variables.
2. **Several steps per compiled call.** Keras' JAX trainer runs ``steps_per_execution`` steps as
   a Python loop of compiled single steps. ``install_scanned_train_function`` sets
   ``model.train_function`` (called by ``fit`` as ``train_function(state, iterator)``) to one
   compiled ``jax.lax.scan`` over that many batches: half a GPU epoch (benchmarks/README.md).

Imports JAX only when Keras runs on it: on TensorFlow this module is inert.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import keras

if keras.backend.backend() == "jax":
    import jax
    import jax.numpy as jnp


class OptimizerPair:
    """Both networks' optimizers where Keras expects the model's one (point 1 above)."""

    built = True

    def __init__(self, critic: keras.optimizers.Optimizer, generator: keras.optimizers.Optimizer):
        self.critic, self.generator = critic, generator

    @property
    def variables(self) -> list[keras.Variable]:
        return [*self.critic.variables, *self.generator.variables]


class _Group:
    """One group of the JAX training state: values in the order of ``variables``, read and
    written by variable (a network's or an optimizer's own variables within the group)."""

    def __init__(self, variables: Sequence[keras.Variable], values: Sequence):
        self._index = {id(v): i for i, v in enumerate(variables)}
        self.values = list(values)

    def get(self, variables: Sequence[keras.Variable]) -> list:
        return [self.values[self._index[id(v)]] for v in variables]

    def set(self, variables: Sequence[keras.Variable], values: Sequence) -> None:
        for variable, value in zip(variables, values, strict=True):
            self.values[self._index[id(variable)]] = value


def state_variables(model: keras.Model) -> tuple[list[keras.Variable], ...]:
    """The variables behind Keras' JAX training state, in its order."""
    return (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )


def train_step(model, state: tuple, data) -> tuple[dict, tuple]:
    """One critic update, then a generator update if it is due: ``model.wgan_step`` as a pure
    function of the state. Returns (logs, new state)."""
    trainable, non_trainable, optimizers, metrics = (
        _Group(variables, values) for variables, values in zip(state_variables(model), state)
    )
    critic, generator = model.critic, model.generator
    critic_opt, generator_opt = model.critic_optimizer, model.generator_optimizer
    real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    batch_size = real.shape[0]
    seed = non_trainable.get([model.noise_seed.state])[0]

    def draw(sample):  # a draw from the explicit seed, which then moves on
        nonlocal seed
        value = sample(batch_size, seed=seed)
        seed = _next_seed(seed)
        return value

    def state_of(network):  # its non-trainable values: batch normalization's moving statistics
        return non_trainable.get(network.non_trainable_variables)

    # 1. A critic update on a real batch and a generated one.
    fake, generator_state = _train_call(generator, trainable.get(generator.trainable_variables),
                                        state_of(generator), draw(model.sample_noise))  # fmt: skip
    eps = draw(model.interpolation_weights) if model.uses_penalty else None

    critic_weights = trainable.get(critic.trainable_variables)
    (loss, (wasserstein, penalty, critic_state)), grads = jax.value_and_grad(
        _critic_loss(model, real, fake, eps), has_aux=True
    )(critic_weights, state_of(critic))
    critic_weights, critic_opt_values = critic_opt.stateless_apply(
        optimizers.get(critic_opt.variables), grads, critic_weights
    )
    if model.constraint == "clip":
        # every trainable critic weight, batch normalization's gamma and beta too
        critic_weights = [jnp.clip(w, -model.clip_value, model.clip_value) for w in critic_weights]
    trainable.set(critic.trainable_variables, critic_weights)
    optimizers.set(critic_opt.variables, critic_opt_values)
    pending = non_trainable.get([model.critic_steps_pending])[0] + 1

    # 2. Once the critic has had its updates: one generator update through it as it stands.
    updates = optimizers.get([generator_opt.iterations])[0]
    due = pending >= model.critic_steps_due(updates)

    def generator_update(operands):
        weights, opt_values, tracker_values, seed, network_states = operands
        noise = model.sample_noise(batch_size, seed=seed)
        (loss, network_states), grads = jax.value_and_grad(
            _generator_loss(model, critic_weights, noise), has_aux=True
        )(weights, network_states)
        weights, opt_values = generator_opt.stateless_apply(opt_values, grads, weights)
        tracker_values = model.generator_loss_tracker.stateless_update_state(tracker_values, loss)
        updated = (weights, opt_values, tracker_values, _next_seed(seed), network_states)
        return updated, jnp.zeros((), "int32")  # no critic update pending

    def no_update(operands):
        return operands, pending

    generator_tracker = model.generator_loss_tracker.variables
    operands = (
        trainable.get(generator.trainable_variables),
        optimizers.get(generator_opt.variables),
        metrics.get(generator_tracker),
        seed,
        (generator_state, critic_state),
    )
    (weights, opt_values, tracker_values, seed, network_states), pending = jax.lax.cond(
        due, generator_update, no_update, operands
    )
    trainable.set(generator.trainable_variables, weights)
    optimizers.set(generator_opt.variables, opt_values)
    metrics.set(generator_tracker, tracker_values)
    for network, network_state in zip((generator, critic), network_states, strict=True):
        non_trainable.set(network.non_trainable_variables, network_state)
    non_trainable.set([model.critic_steps_pending, model.noise_seed.state], [pending, seed])

    for tracker, value in [
        (model.critic_loss_tracker, loss),
        (model.wasserstein_tracker, wasserstein),
        *([(model.penalty_tracker, penalty)] if model.uses_penalty else []),
    ]:
        metrics.set(tracker.variables, tracker.stateless_update_state(
            metrics.get(tracker.variables), value))  # fmt: skip
    logs = {m.name: m.stateless_result(metrics.get(m.variables)) for m in model.metrics}
    logs["step_wasserstein_estimate"] = wasserstein
    new_state = tuple(group.values for group in (trainable, non_trainable, optimizers, metrics))
    return logs, new_state


def _train_call(network: keras.Model, weights: list, network_state: list, inputs):
    """``network`` on ``inputs`` in training, statelessly: (outputs, its non-trainable values
    after the call, where batch normalization has updated its moving statistics)."""
    return network.stateless_call(weights, network_state, inputs, training=True)


def _critic_loss(model, real, fake, eps) -> Callable:
    """(critic weights, critic state) -> (critic loss, (wasserstein, penalty, critic state))."""

    def critic_loss(weights, critic_state):
        def score(images):
            nonlocal critic_state
            scores, updated = _train_call(model.critic, weights, critic_state, images)
            # Each call's updates reach the next (real, then fake: TensorFlow's order). Under
            # the penalty's inner gradient they could not leave it; but a penalized critic has
            # no batch normalization (WGAN refuses it), so it has none to keep.
            if not model.uses_penalty:
                critic_state = updated
            return scores

        wasserstein, penalty = model.critic_terms(score, input_gradient, real, fake, eps)
        return -wasserstein + model.gp_weight * penalty, (wasserstein, penalty, critic_state)

    return critic_loss


def _generator_loss(model, critic_weights, noise) -> Callable:
    """(generator weights, (generator state, critic state)) -> (generator loss, (generator
    state, critic state)): both networks in training, as TensorFlow's step calls them."""

    def generator_loss(weights, network_states):
        generator_state, critic_state = network_states
        images, generator_state = _train_call(model.generator, weights, generator_state, noise)
        scores, critic_state = _train_call(model.critic, critic_weights, critic_state, images)
        return -jnp.mean(scores), (generator_state, critic_state)

    return generator_loss


def _next_seed(seed):
    """The seed after a draw, as Keras' SeedGenerator moves on (ordered): [a, b] -> [a, b + 1]."""
    return seed + jnp.array([0, 1], seed.dtype)


def input_gradient(fn: Callable, x):
    """``target, aux = fn(x)``: (aux, d target / d x), itself differentiable (the penalty)."""
    grad, aux = jax.grad(fn, has_aux=True)(x)
    return aux, grad


def install_scanned_train_function(model: keras.Model, force: bool = False) -> bool:
    """On JAX with ``steps_per_execution`` > 1 (compiled, not eager): set ``model.train_function``
    to :func:`scanned_train_function` (point 2 above) and return True; else False, leaving Keras
    to make its own."""
    if not (
        keras.backend.backend() == "jax"
        and model.steps_per_execution > 1
        and model.jit_compile
        and not model.run_eagerly
    ):
        return False
    if model.train_function is None or force:
        model.train_function = scanned_train_function(model.train_step, model.steps_per_execution)
    return True


def scanned_train_function(step: Callable, steps_per_execution: int) -> Callable:
    """``train_function(state, iterator)`` running ``step`` over ``steps_per_execution`` batches
    in one compiled ``jax.lax.scan``: (the last step's logs, the new state)."""

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
        return run(state, jax.tree.map(lambda *parts: jnp.stack(parts), *batches))

    return train_function
