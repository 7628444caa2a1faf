"""A finished training's checkpoints go only once every output of the run is saved."""

from __future__ import annotations

import logging
import sys

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)
RUN_FOLDER = "wgan_pipeline.training_run.run_folder"


class CheckpointCleanupHook:
    """After the pipeline's last save: the finished trainings' run folders are removed (the next
    run starts fresh). After an error, they are only unlocked: the final checkpoint stays, so a
    rerun hands the trained networks on instead of training again (``run_folder``)."""

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        for folder in self._release(remove=True):
            logger.info("Outputs saved: checkpoints in %s removed.", folder)

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._release(remove=False)

    @staticmethod
    def _release(remove: bool) -> list:
        run_folder = sys.modules.get(RUN_FOLDER)  # not imported: no training ran here
        return run_folder.release_finished(remove) if run_folder else []
