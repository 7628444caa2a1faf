"""`--env clipped` is the chapter's algorithm: the critic's weights clipped after every critic
step, and no gradient penalty anywhere."""

from __future__ import annotations

import numpy as np
from kedro.config import OmegaConfigLoader

from wgan_pipeline.params import TrainingParams
from wgan_pipeline.settings import CONFIG_LOADER_ARGS
from wgan_pipeline.training_run.build import build_wgan

from ..helpers import PROJECT_ROOT


def test_the_clipped_env_clips_every_critic_weight_and_uses_no_penalty():
    loader = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), env="clipped", **CONFIG_LOADER_ARGS)
    params = TrainingParams(**loader["parameters"]["training"] | {"batch_size": 8})
    assert params.constraint == "clip"
    wgan = build_wgan(params, steps_per_epoch=2)
    assert not wgan.uses_penalty
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")

    logs = wgan.fit(images, batch_size=8, epochs=1, verbose=0).history

    assert "gradient_penalty" not in logs
    weights = {w.path: np.abs(w.numpy()).max() for w in wgan.critic.weights}
    assert any(path.endswith(("kernel", "bias")) for path in weights)
    assert all(value <= params.clip_value for value in weights.values()), weights
