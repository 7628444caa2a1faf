"""SerialSavesHook: a file this run saved and reads back, rewritten meanwhile by another run
started in the same project, is read as this run saved it."""

from types import SimpleNamespace

import numpy as np
from kedro.pipeline import node, pipeline

from wgan_pipeline.hooks import SerialSavesHook


def identity(x):
    return x


def test_a_file_another_run_rewrote_is_read_as_this_run_saved_it(tmp_path, caplog):
    samples = tmp_path / "07_model_output" / "generated_samples.npy"
    samples.parent.mkdir()
    grid = node(identity, "generated_samples", "sample_grid", name="make_sample_grid")
    run = pipeline([node(identity, "generator", "generated_samples", name="generate"), grid])
    hook = SerialSavesHook()
    hook.after_context_created(SimpleNamespace(project_path=tmp_path))
    hook.after_catalog_created({"generated_samples": {"filepath": str(samples)}})
    hook.before_pipeline_run({}, run, None)

    ours = np.ones(3, np.uint8)
    hook.before_dataset_saved("generated_samples", ours, None)
    np.save(samples, ours)
    hook.after_dataset_saved("generated_samples", ours, None)
    assert hook.before_node_run(grid) is None  # untouched: the catalog's load is this run's

    np.save(samples, np.zeros(5, np.uint8))  # the other run's save
    with caplog.at_level("WARNING"):
        assert hook.before_node_run(grid)["generated_samples"] is ours
    assert "generated_samples was rewritten by another run" in caplog.text
