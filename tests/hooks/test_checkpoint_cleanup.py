"""CheckpointCleanupHook: a finished training's checkpoints go after the run's last save, and
stay (unlocked, for a rerun) after an error."""

from wgan_pipeline.hooks import CheckpointCleanupHook
from wgan_pipeline.training_run import run_folder


def finished_training(root):
    with run_folder.claim(root) as folder:
        (folder / "step-000000008-1").mkdir()  # the final checkpoint
    return folder


def test_after_the_run_the_finished_folder_is_removed(tmp_path):
    folder = finished_training(tmp_path)
    assert folder.exists()  # kept while the outputs are saved
    CheckpointCleanupHook().after_pipeline_run({}, None, None)
    assert not folder.exists()


def test_after_an_error_the_final_checkpoint_stays_for_a_rerun(tmp_path):
    folder = finished_training(tmp_path)
    CheckpointCleanupHook().on_pipeline_error(None, {}, None, None)
    assert (folder / "step-000000008-1").exists()
    with run_folder.claim(tmp_path) as again:  # unlocked: the next run takes it over
        assert again == folder
    run_folder.release_finished(remove=True)
