"""RunLifecycleHook and RunFolders: a finished training's checkpoints go after the run's last save, and
stay (unlocked, for a rerun) after an error."""

import json

from wgan_pipeline.hooks import RunLifecycleHook
from wgan_pipeline.training_run.run_folder import RunFolders


def finished_training(root):
    """A training that finished in this run; the hook holds its run folders, as after the
    catalog loaded them for the training node."""
    folders = RunFolders(root)
    with folders.claim({}) as folder:
        (folder / "step-000000008-1").mkdir()  # the final checkpoint
    hook = RunLifecycleHook()
    hook.after_dataset_loaded("training_checkpoints", folders, None)
    return folder, folders, hook


def test_after_the_run_the_finished_folder_is_removed(tmp_path):
    folder, _, hook = finished_training(tmp_path)
    assert folder.exists()  # kept while the outputs are saved
    hook.after_pipeline_run({}, None, None)
    assert not folder.exists()


def test_after_an_error_the_final_checkpoint_stays_for_a_rerun(tmp_path):
    folder, _, hook = finished_training(tmp_path)
    hook.on_pipeline_error(None, {}, None, None)
    assert (folder / "step-000000008-1").exists()
    rerun = RunFolders(tmp_path)
    with rerun.claim({}) as again:  # unlocked: the next run takes it over
        assert again == folder
    rerun.release(remove=True)


def dead_run(root, name, identity, step=8):
    checkpoint = root / name / f"step-{step:09d}-1"
    checkpoint.mkdir(parents=True)
    (checkpoint / "progress.json").write_text(
        json.dumps({"identity": identity, "critic_step": step})
    )
    return checkpoint


def test_a_dead_runs_checkpoint_of_other_settings_is_kept_for_its_own_command(tmp_path, caplog):
    """A killed `--env quick` run, then a run of other settings: it starts fresh beside the
    killed run's checkpoint (it was deleted), and the killed run's command resumes it."""
    images = {"images": 200, "images_sha256": "0"}
    quick, test = {"params": {"lr": 1}, **images}, {"params": {"lr": 2}, **images}
    killed = dead_run(tmp_path, "run-2", quick, step=40)
    folders = RunFolders(tmp_path)
    with caplog.at_level("WARNING"), folders.claim(test) as fresh:
        assert fresh != killed.parent and not list(fresh.glob("step-*"))
    folders.release(remove=True)
    assert killed.exists() and f"Not resuming checkpoint {killed}" in caplog.text
    with folders.claim(quick) as resumed:
        assert resumed == killed.parent
    folders.release(remove=False)
