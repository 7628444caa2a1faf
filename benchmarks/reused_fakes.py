"""One lever of time to quality, measured through the real pipeline: the generator update takes
its gradient from the critic update's own forward pass (the critic's fakes reused) instead of
drawing and scoring a fresh batch.

    python benchmarks/reused_fakes.py --env clipped --params training.epochs=20

runs ``kedro run --env ENV --pipelines gan --params ...`` in this process with one change: the
WGAN's step (gan/wgan.py) is replaced by ``ReusedFakesWGAN.wgan_step`` below. It then tags the
MLflow run ``lever=reused_fakes`` and sets its ``kedro_command`` tag to this script's command.
Everything else (data, networks, optimizers and schedule, clipping, judging every epoch, the
kept generator, the evaluation, the registry) is the project's. Compare its ``judge.fid``
history against minutes with an ordinary run's (scripts/judge_configurations.py --curve).

The saving: per critic step the generator runs forward once, not twice, and the critic scores
one batch of fakes, not two. The cost: the generator's gradient comes from the critic as it was
*before* this step's critic update (simultaneous rather than alternating updates), and the
same fakes serve both updates. Only for n_critic = 1 (a generator update after every critic
step), weight clipping and Keras' TensorFlow backend; the script refuses anything else.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def reused_fakes_class():
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415
    from keras import ops  # noqa: PLC0415

    from wgan_pipeline.gan.wgan import WGAN  # noqa: PLC0415

    class ReusedFakesWGAN(WGAN):
        """The WGAN with one tape per step: the critic's and the generator's losses from one
        forward pass of G(z) and D([real, G(z)])."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if self.n_critic != 1 or self.constraint != "clip":
                raise SystemExit(
                    "reused_fakes.py measures n_critic 1 with weight clipping only, got "
                    f"n_critic {self.n_critic}, constraint {self.constraint!r}: use --env clipped."
                )

        def wgan_step(self, data):
            real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
            batch_size = ops.shape(real)[0]
            critic_weights = self.critic.trainable_weights
            generator_weights = self.generator.trainable_weights
            with tf.GradientTape(persistent=True) as tape:
                fake = self.generator(self.sample_noise(batch_size), training=True)
                scores = self.critic(ops.concatenate([real, fake], axis=0), training=True)
                fake_score = ops.mean(scores[batch_size:])
                wasserstein = ops.mean(scores[:batch_size]) - fake_score
                critic_loss, generator_loss = -wasserstein, -fake_score
            critic_grads = tape.gradient(critic_loss, critic_weights)
            generator_grads = tape.gradient(generator_loss, generator_weights)
            del tape
            self.critic_optimizer.apply(critic_grads, critic_weights)
            self.clip_critic_weights()
            self.generator_optimizer.apply(generator_grads, generator_weights)
            self.critic_loss_tracker.update_state(critic_loss)
            self.generator_loss_tracker.update_state(generator_loss)
            self.wasserstein_tracker.update_state(wasserstein)
            return {
                **{m.name: m.result() for m in self.metrics},
                "step_wasserstein_estimate": wasserstein,
            }

    return ReusedFakesWGAN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="clipped", help="the Kedro env (default: clipped)")
    parser.add_argument("--params", default="", help="as `kedro run --params`: a=1,b=2")
    args = parser.parse_args()
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        raise SystemExit("reused_fakes.py runs on Keras' TensorFlow backend: unset KERAS_BACKEND.")
    os.chdir(ROOT)
    import mlflow  # noqa: PLC0415
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415
    from omegaconf import OmegaConf  # noqa: PLC0415

    from wgan_pipeline.training_run import build  # noqa: PLC0415

    build.WGAN = reused_fakes_class()  # the one change: build_wgan makes this class
    bootstrap_project(ROOT)
    pairs = [item.strip() for item in args.params.split(",") if item.strip()]
    if bad := [item for item in pairs if "=" not in item]:
        raise SystemExit(f"--params: {bad} has no '=': give key=value pairs, as kedro run does.")
    extra = OmegaConf.to_container(OmegaConf.from_dotlist(pairs))  # as `kedro run --params`
    with KedroSession.create(project_path=ROOT, env=args.env, runtime_params=extra) as session:
        session.run(pipeline_name="gan")
        run = mlflow.last_active_run()
    # what made the run, for scripts/judge_configurations.py's rows (it adds the --params)
    made_by = "python benchmarks/reused_fakes.py" + (f" --env {args.env}" * (args.env != "clipped"))
    client = mlflow.MlflowClient()
    client.set_tag(run.info.run_id, "lever", "reused_fakes")
    client.set_tag(run.info.run_id, "kedro_command", made_by)
    print(f"MLflow run {run.info.run_id} tagged lever=reused_fakes")


if __name__ == "__main__":
    main()
