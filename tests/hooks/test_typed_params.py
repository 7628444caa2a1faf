"""TypedParamsAsDictsHook: other hooks see typed groups as dicts; the node keeps the model."""

from kedro.framework.hooks import hook_impl
from kedro.framework.hooks.manager import _create_hook_manager
from kedro_mlflow.framework.hooks.utils import _flatten_dict

from wgan_pipeline.hooks import TypedParamsAsDictsHook
from wgan_pipeline.params import DataParams


class Recorder:
    seen: dict

    @hook_impl
    def before_node_run(self, node, catalog, inputs, is_async):
        self.seen = dict(inputs)


def test_typed_groups_reach_later_hooks_as_dicts():
    manager = _create_hook_manager()
    recorder = Recorder()
    manager.register(recorder)
    manager.register(TypedParamsAsDictsHook())  # registered last, still runs first (tryfirst)
    model = DataParams(dataset="mnist", max_train_images=5)
    node_inputs = {"params:data": model, "raw_images": {"x": 1}}
    hook_inputs = node_inputs.copy()  # Kedro hands the hooks a copy
    manager.hook.before_node_run(
        node=None, catalog=None, inputs=hook_inputs, is_async=False, run_id=None
    )
    assert recorder.seen == {
        "params:data": {"dataset": "mnist", "max_train_images": 5},
        "raw_images": {"x": 1},
    }
    assert _flatten_dict({"data": recorder.seen["params:data"]}) == {
        "data.dataset": "mnist",
        "data.max_train_images": 5,
    }
    assert node_inputs["params:data"] is model
