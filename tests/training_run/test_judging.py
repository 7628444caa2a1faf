"""Judged while it trains: every epoch's FID logged, the best epoch's generator kept (also across
a kill), the last one handed on too, and the generator's moving average."""

import mlflow
import numpy as np
import pytest

from wgan_pipeline.gan.images import unscale_images
from wgan_pipeline.gan.judge import Judge
from wgan_pipeline.gan.models import build_classifier
from wgan_pipeline.training_run.trainer import train

from ..helpers import real_batch, tiny_training, use_fresh_mlflow_store


@pytest.fixture(scope="module")
def judge():
    test_images = unscale_images(np.concatenate([real_batch(16, seed=s) for s in (7, 8)]))
    classifier = build_classifier(feature_dim=8)  # any classifier judges; this one untrained
    return Judge(classifier, test_images, n=24, latent_dim=100, noise="uniform", seed=3,
                 batch_size=24, k_precision_recall=3, k_density_coverage=3, score_splits=4)  # fmt: skip


class ScriptedJudge:
    """Hands out the FIDs it is given, in order, and remembers the weights it judged (the test
    of which generator is kept, not of the metrics); raises where the script says ``stop``."""

    def __init__(self, fids):
        self.fids, self.seen = list(fids), []

    def __call__(self, generator):
        fid = self.fids.pop(0)
        if fid == "stop":
            raise RuntimeError("the machine went down")  # a crash mid-training
        self.seen.append([w.copy() for w in generator.get_weights()])
        return {"fid": fid}


@pytest.fixture
def store(tmp_path):
    use_fresh_mlflow_store(tmp_path)


def test_every_epoch_is_judged_and_logged_and_the_best_is_kept(
    images, judge, tmp_path, store, folders
):
    with mlflow.start_run() as run:
        result = train(images, tiny_training(epochs=3), folders, judge=judge, judge_every=1)
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "judge.fid")
    assert [m.step for m in history] == [1, 2, 3]  # one judge.fid per epoch, the epoch as step
    judged = result.judged
    assert list(judged["epoch"]) == [1, 2, 3] and set(judged["source"]) == {"raw"}
    np.testing.assert_allclose([m.value for m in history], judged["fid"], rtol=1e-6)
    best = judged.loc[judged["fid"].idxmin()]
    assert judged["kept"].sum() == 1 and judged.loc[judged["kept"], "epoch"].item() == best["epoch"]
    # The kept generator scores what its epoch scored; the last one what epoch 3 did.
    assert judge(result.generator)["fid"] == pytest.approx(best["fid"], rel=1e-4)
    assert judge(result.generator_last)["fid"] == pytest.approx(judged["fid"].iloc[-1], rel=1e-4)
    run_metrics = mlflow.MlflowClient().get_run(run.info.run_id).data.metrics
    assert run_metrics["best_epoch"] == best["epoch"]
    assert run_metrics["best_fid"] == pytest.approx(best["fid"])


def test_judging_every_other_epoch_judges_the_last_one_too(images, tmp_path, folders):
    scripted = ScriptedJudge([5.0, 4.0])
    result = train(images, tiny_training(epochs=3), folders, judge=scripted, judge_every=2)
    assert list(result.judged["epoch"]) == [2, 3]


def test_a_crashed_and_resumed_run_keeps_the_best_from_before_the_crash(images, tmp_path, folders):
    params = tiny_training(epochs=4)
    first = ScriptedJudge([1.0, 5.0, "stop"])  # epoch 1 is the best, then a crash in epoch 3
    with pytest.raises(RuntimeError, match="went down"):
        train(images, params, folders, judge=first, judge_every=1)
    second = ScriptedJudge([9.0, 8.0])  # epochs 3 and 4, after the resume: both worse
    result = train(images, params, folders, judge=second, judge_every=1)
    assert list(result.judged["epoch"]) == [1, 2, 3, 4]
    assert list(result.judged["fid"]) == [1.0, 5.0, 9.0, 8.0]
    assert result.judged.loc[result.judged["kept"], "epoch"].item() == 1
    for kept, epoch_one in zip(result.generator.get_weights(), first.seen[0], strict=True):
        np.testing.assert_array_equal(kept, epoch_one)
    for last, epoch_four in zip(result.generator_last.get_weights(), second.seen[-1], strict=True):
        np.testing.assert_array_equal(last, epoch_four)


def test_the_ema_generator_is_judged_beside_the_raw_one_and_kept_when_better(
    images, tmp_path, folders
):
    scripted = ScriptedJudge([5.0, 3.0, 4.0, 6.0, 7.0, 8.0])  # raw, ema per epoch
    result = train(
        images, tiny_training(epochs=3, ema_decay=0.9), folders, judge=scripted, judge_every=1
    )
    assert list(result.judged["source"]) == ["raw", "ema"] * 3
    kept = result.judged.loc[result.judged["kept"]]
    assert (kept["epoch"].item(), kept["source"].item()) == (1, "ema")
    for a, b in zip(result.generator.get_weights(), scripted.seen[1], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("fids", "within", "kept"),
    [
        ([10.0, 10.2, 9.0, 9.25, 12.0], 0.05, 4),  # 9.25 is within 5% of 9.0 and later
        ([10.0, 10.2, 9.0, 9.25, 12.0], 0.0, 3),  # no tolerance: the lowest
        ([10.0, 10.4, 10.45], 0.05, 3),  # each within 5% of 10.0: the last
        ([10.0, 9.0, 9.6], 0.05, 2),  # 9.6 is 6.7% above 9.0
    ],
)
def test_the_latest_judging_within_keep_within_of_the_lowest_is_kept(
    images, tmp_path, folders, fids, within, kept
):
    scripted = ScriptedJudge(fids)
    result = train(images, tiny_training(epochs=len(fids)), folders, judge=scripted,
                   judge_every=1, keep_within=within)  # fmt: skip
    assert result.judged.loc[result.judged["kept"], "epoch"].item() == kept
    for a, b in zip(result.generator.get_weights(), scripted.seen[kept - 1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_without_judging_the_last_generator_is_kept(images, tmp_path, folders):
    result = train(images, tiny_training(), folders)  # evaluation.every_epochs: null
    assert result.judged.empty and list(result.judged.columns) == ["epoch", "source", "fid", "kept"]
    for kept, last in zip(
        result.generator.get_weights(), result.generator_last.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(kept, last)
