"""Concurrent runs in one project: a later node reads what its own run saved, never another
run's file (the catalog's CachedDataset entries), and no load reads a file while another run
is writing it (SerialSavesHook's lock)."""

import fcntl
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import CachedDataset, DataCatalog, MemoryDataset

from wgan_pipeline.datasets import JudgeDataset, KerasModelDataset
from wgan_pipeline.hooks import SerialSavesHook
from wgan_pipeline.pipeline_registry import register_pipelines
from wgan_pipeline.settings import CONFIG_LOADER_ARGS

from ..helpers import PROJECT_ROOT


def project_catalog(root) -> DataCatalog:
    loader = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), env="test", **CONFIG_LOADER_ARGS)
    conf = loader["catalog"]
    for entry in conf.values():  # the project's paths, moved under root
        inner = entry
        while isinstance(inner, dict):
            for key in ("filepath", "path"):
                if key in inner:
                    inner[key] = str(root / inner[key])
            inner = inner.get("dataset")
    return DataCatalog.from_config(conf, save_version="2026-01-01T00.00.00.000Z")


def test_every_output_a_later_node_reads_is_read_as_this_run_saved_it(tmp_path):
    """Each data set that one node of the default pipeline saves and another reads is held in
    memory, or is a versioned model that loads the version this run saved: a file another
    run rewrote meanwhile is not what this run reads. (The judge is one per data set by design:
    the first saved is kept, and every run reads that one.)"""
    catalog = project_catalog(tmp_path)
    default = register_pipelines()["__default__"]
    read_back = default.all_outputs() & {i for node in default.nodes for i in node.inputs}
    assert {"generated_samples", "judge_history", "evaluation_metrics"} <= read_back
    own = MemoryDataset | CachedDataset | KerasModelDataset | JudgeDataset
    for name in read_back:
        dataset = catalog.get(name) if name in catalog else MemoryDataset()
        assert isinstance(dataset, own), name
        if isinstance(dataset, KerasModelDataset):
            assert dataset._version is not None, f"{name} is not versioned"

    samples = catalog.get("generated_samples")
    ours = np.ones((2, 28, 28), np.uint8)
    samples.save(ours)
    (file,) = tmp_path.rglob("generated_samples.npy")
    np.save(file, np.zeros((5, 28, 28), np.uint8))  # the other run's save
    assert np.array_equal(samples.load(), ours)


@pytest.mark.timeout(60)
def test_a_load_waits_while_another_run_saves(tmp_path):
    hook = SerialSavesHook()
    hook.after_context_created(SimpleNamespace(project_path=tmp_path))
    (tmp_path / "data").mkdir()
    other = (tmp_path / "data" / ".save.lock").open("a")
    fcntl.flock(other, fcntl.LOCK_EX)  # another run, halfway through writing a file
    loaded = threading.Event()

    def load():
        hook.before_dataset_loaded("evaluation_metrics", None)
        loaded.set()
        hook.after_dataset_loaded("evaluation_metrics", None, None)

    reader = threading.Thread(target=load)
    reader.start()
    assert not loaded.wait(0.5)  # still waiting for the other run's save
    other.close()  # its save is done
    assert loaded.wait(30)
    reader.join()

    hook.before_dataset_saved("generator", None, None)  # the hook's own save lock: exclusive
    probe = (tmp_path / "data" / ".save.lock").open("a")
    with pytest.raises(BlockingIOError):
        fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
    hook.after_dataset_saved("generator", None, None)
    fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)  # released
    probe.close()
