"""Every parameter group's schema: types, bounds and descriptions; conf/base holds the values.

A node argument annotated with one of these (``params: TrainingParams``) makes Kedro validate
the group before any node runs, and hand the node the model. ConfigChecksHook checks the raw
values against them first (``check_values``), before Kedro imports the pipelines and with them
TensorFlow, so a bad value stops ``kedro run`` within seconds. Every field is required: the
value lives in conf/base/parameters_<pipeline>.yml alone, never here too (tests/test_params.py
checks the two agree key for key).
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

MAX_SEED = 2**32 - 1  # NumPy's and Keras' seeds are 32-bit
MAX_INT = 2**63 - 1  # what NumPy's and Keras' int64 hold: a key's own bound speaks below it

# The data sets the pipeline trains on (``data.dataset``), with their ten classes' names.
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
}  # fmt: skip


def model_name(role: str, dataset: str) -> str:
    """The name a network trained on ``dataset`` carries in its .keras file
    (``fashion_mnist_generator``), so the evaluation can refuse another data set's."""
    return f"{dataset}_{role}"


def trained_on(model_name_: str) -> str | None:
    """The data set a model's name says it was trained on, or None (older or foreign names)."""
    return next((d for d in CLASS_NAMES if model_name_.startswith(f"{d}_")), None)


def check_data_set(model: Any, role: str, dataset: str) -> None:
    """Refuse a network whose name says it was trained on another data set."""
    other = trained_on(model.name)
    if other is not None and other != dataset:
        raise ValueError(
            f"The {role} '{model.name}' was trained on {other}, but this run's data.dataset is "
            f"{dataset}: a {role} of one data set never judges or draws for another. Run with "
            f"the data set it was trained on (--params data.dataset={other}), or train a {role} "
            f"on {dataset}."
        )


def did_you_mean(unknown: list[str], known) -> str:
    """`` (did you mean 'clip_value'?)`` for the known names closest to mistyped ones, or ``""``."""
    close = [m for name in unknown for m in difflib.get_close_matches(name, list(known), n=1)]
    return f" (did you mean {', '.join(repr(m) for m in close)}?)" if close else ""


class Params(BaseModel):
    """A ``params:<group>`` schema: strict types, no unknown keys, messages that list the keys."""

    # inf and nan are no values for any knob here (clip_value=.inf would switch clipping off)
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, values: Any) -> Any:
        if isinstance(values, dict):
            unknown = sorted(set(values) - set(cls.model_fields))
            if unknown:
                raise ValueError(
                    f"unknown key(s) {unknown}{did_you_mean(unknown, cls.model_fields)}; the "
                    f"allowed keys are {list(cls.model_fields)}"
                )
            huge = sorted(k for k, v in values.items() if isinstance(v, int) and v > MAX_INT)
            if huge:
                raise ValueError(
                    f"{huge[0]} is a {len(str(values[huge[0]]))}-digit number: no key takes a "
                    f"value above {MAX_INT} (2**63 - 1)"
                )
        return values


class DataParams(Params):
    """``params:data``; checked by Kedro before any node runs."""

    dataset: Literal["mnist", "fashion_mnist"] = Field(
        description="The data set: its raw files, its judge (classifier) and its models' folder. "
        "Set it in conf/<env>/globals.yml (`dataset:`; the `fashion` env does) or with "
        "--params data.dataset=..., so the catalog's paths follow."
    )
    max_train_images: int | None = Field(
        ge=1, description="Use only the first N training images (null: all)."
    )


class ClassifierParams(Params):
    """``params:classifier``; checked by Kedro before any node runs."""

    seed: int = Field(ge=0, le=MAX_SEED, description="Seeds the weights and the data order.")
    epochs: int = Field(ge=1, description="Passes over the 60,000 training images.")
    batch_size: int = Field(ge=1, description="Images per update.")
    learning_rate: float = Field(gt=0, le=1, description="Adam's step size.")
    feature_dim: int = Field(ge=2, description="Width of the penultimate (feature) layer.")
    max_train_images: int | None = Field(
        ge=1, description="Train on only the first N training images (null: all)."
    )
    min_test_accuracy: dict[str, float] = Field(
        description="Per data set, the test accuracy below which a judge is refused, not saved "
        "or used: a judge that low was trained on data that is not what it should be (labels "
        "shuffled, images and labels mismatched). Not part of the judge's card."
    )

    @model_validator(mode="after")
    def _floors_are_shares(self) -> ClassifierParams:
        bad = {k: v for k, v in self.min_test_accuracy.items() if not 0 <= v <= 1}
        if bad:
            raise ValueError(f"min_test_accuracy must lie in [0, 1]: {bad}")
        return self


class TrainingParams(Params):
    """``params:training``; checked by Kedro before any node runs."""

    seed: int = Field(ge=0, le=MAX_SEED, description="Seeds weights, noise and data order.")
    architecture: Literal["chapter", "dcgan"] = Field(
        description="The networks: the chapter's (a 6.7M-weight Dense/UpSampling generator, a "
        "23,873-weight critic) or WGAN-GP's MNIST pair (transposed 5x5 convolutions; 5x5 "
        "stride-2 convolutions of 64, 128, 256 channels)."
    )
    width: int = Field(
        ge=1,
        le=1024,
        description="The dcgan networks' channels (WGAN-GP's DIM): the critic's convolutions "
        "have width, 2 x width and 4 x width filters, the generator's the reverse. The "
        "chapter's networks have fixed widths: 64 there.",
    )
    normalization: Literal["none", "batch"] = Field(
        description="batch: batch normalization in the dcgan networks, as WGAN-GP's clipped "
        "MNIST baseline has it (the critic after its second and third convolutions, the "
        "generator after its dense layer and first two transposed convolutions); the critic "
        "then scores real and generated batches in separate calls. Clipping only, and not for "
        "the chapter's networks, which have none."
    )
    latent_dim: int = Field(ge=1, description="Size of the generator's noise input.")
    batch_size: int = Field(ge=1, description="Images per critic update.")
    epochs: int = Field(ge=1, description="Passes over the training images.")
    n_critic: int = Field(ge=1, description="Critic updates per generator update.")
    critic_schedule: Literal["constant", "paper"] = Field(
        description="constant: n_critic always; paper: 100 for the first 25 generator updates "
        "and every 500th, as the WGAN paper's code.",
    )
    constraint: Literal["clip", "gradient_penalty"] = Field(
        description="Keeps the critic Lipschitz: weight clipping or a gradient penalty."
    )
    clip_value: float = Field(gt=0, description="Critic weights are clipped to [-c, c].")
    gp_weight: float = Field(gt=0, description="Lambda of the gradient penalty.")
    optimizer: Literal["rmsprop", "adam"] = Field(description="For both networks.")
    learning_rate: float = Field(gt=0, le=1, description="Both optimizers' step size.")
    lr_schedule: Literal["constant", "linear"] = Field(
        description="constant: learning_rate throughout; linear: both step sizes fall in a "
        "straight line from learning_rate to 0 at the run's last update (WGAN-GP's schedule; "
        "with critic_schedule paper the generator's stops short of 0)."
    )
    beta_1: float = Field(ge=0, lt=1, description="Adam's first-moment decay.")
    beta_2: float = Field(ge=0, lt=1, description="Adam's second-moment decay.")
    noise: Literal["uniform", "normal"] = Field(description="U(-1, 1) or N(0, 1).")
    steps_per_execution: int = Field(
        ge=1, description="Train steps per compiled call (fewer Python round trips)."
    )
    jit_compile: bool | Literal["auto"] = Field(
        description="Compile the train step with XLA; auto: Keras decides (on with JAX and on "
        "GPUs, off with TensorFlow on a CPU).",
    )
    mixed_precision: bool = Field(
        description="bfloat16 compute with float32 weights, critic score and losses (faster "
        "where the hardware has bfloat16 units).",
    )
    fused_upsampling: bool = Field(
        description="Train the chapter's generator with UpSampleConv2D (same function, 9/25 of "
        "the conv work); the dcgan one has no upsampling layer to fuse."
    )
    grid_rows: int = Field(ge=1, le=32, description="Rows (= columns) of the live sample grid.")
    checkpoint_every_steps: int | None = Field(
        ge=1, description="Also checkpoint every N critic steps (null: every epoch only)."
    )
    deterministic: bool = Field(
        description="Deterministic ops (TensorFlow's; XLA's on a GPU with JAX): a resumed run "
        "ends bit-identical.",
    )
    ema_decay: float | None = Field(
        ge=0,
        lt=1,
        description="Also keep an exponential moving average of the generator's weights, "
        "average <- d * average + (1 - d) * weights after every generator update, judged beside "
        "the raw generator and kept when better (null: off).",
    )

    @model_validator(mode="after")
    def _width_needs_dcgan(self) -> TrainingParams:
        if self.architecture == "chapter" and self.width != 64:
            raise ValueError(
                f"training.width ({self.width}) sets the dcgan networks' channels; the chapter's "
                "networks have fixed widths: leave width at 64 or set training.architecture: dcgan."
            )
        return self

    @model_validator(mode="after")
    def _batch_normalization_needs_dcgan(self) -> TrainingParams:
        if self.architecture == "chapter" and self.normalization == "batch":
            raise ValueError(
                "training.normalization: batch puts batch normalization in the dcgan networks; "
                "the chapter's networks have none (its critic and generator are fixed layer for "
                "layer): set training.architecture: dcgan or training.normalization: none."
            )
        return self

    @model_validator(mode="after")
    def _penalty_refuses_batch_normalization(self) -> TrainingParams:
        if self.constraint == "gradient_penalty" and self.normalization == "batch":
            raise ValueError(
                "training.constraint: gradient_penalty cannot go with training.normalization: "
                "batch: the penalty is on each image's own gradient, and batch normalization "
                "makes each score depend on the whole batch, which is why WGAN-GP removed it "
                "from the critic. Use training.constraint: clip, or training.normalization: none."
            )
        return self


class QualityTargets(Params):
    """``params:evaluation.targets``: what a good generator's samples reach, judged against the
    real test images (whose own FID is the floor)."""

    fid_times_floor: float = Field(
        gt=0, description="FID at most this multiple of the real test images' FID (the floor)."
    )
    class_share_low: float = Field(
        ge=0, le=1, description="Every class at least this share of the samples."
    )
    class_share_high: float = Field(
        ge=0, le=1, description="... and at most this share (every class drawn evenly)."
    )
    precision: float = Field(ge=0, le=1, description="Precision at least this (fidelity).")
    recall: float = Field(ge=0, le=1, description="Recall at least this (diversity).")


class EvaluationParams(Params):
    """``params:evaluation``; checked by Kedro before any node runs."""

    seed: int = Field(
        ge=0, le=MAX_SEED, description="Seed of the fixed noise the samples come from."
    )
    n_samples: int = Field(
        ge=1,
        le=100_000,
        description="How many digits to generate and judge (at most 100,000: the k-NN metrics "
        "take time in its square, the images and features memory in it).",
    )
    grid_rows: int = Field(ge=1, le=100, description="Rows (= columns) of the sample grid.")
    grid_scale: int = Field(ge=1, le=8, description="Pixel magnification of the grid image.")
    batch_size: int = Field(ge=1, le=10_000, description="Images per generator or classifier call.")
    n_reference: int = Field(
        ge=10, le=60000, description="Real training images and noise images judged as references."
    )
    k_precision_recall: int = Field(ge=1, description="k of improved precision and recall.")
    k_density_coverage: int = Field(ge=1, description="k of density and coverage.")
    score_splits: int = Field(ge=1, description="Splits the MNIST score is averaged over.")
    curve_window: int = Field(
        ge=1, description="Critic steps in the median filter of the Wasserstein curve."
    )
    interpolation_rows: int = Field(ge=1, le=100, description="Latent walks in the strip.")
    interpolation_steps: int = Field(ge=2, le=100, description="Images along each latent walk.")
    progress_digits: int = Field(ge=1, le=100, description="Fixed-noise digits per epoch's row.")
    every_epochs: int | None = Field(
        ge=1,
        description="Judge the generator every N epochs of training (and after the last); the "
        "latest within keep_within of the lowest FID is kept (null: no judging, the last is "
        "kept).",
    )
    judge_samples: int = Field(
        ge=10, le=10000, description="Images from fixed noise each judging during training scores."
    )
    keep_within: float = Field(
        ge=0,
        le=1,
        description="A judging within this fraction of the lowest FID so far ties with it, and "
        "the latest tie is kept: neighbouring epochs' FIDs differ by less than a judging's noise "
        "(0: the lowest is kept).",
    )
    targets: QualityTargets = Field(
        description="The four quality targets the kept generator is checked against."
    )

    @model_validator(mode="after")
    def _bounds_between_keys(self) -> EvaluationParams:
        """Bounds that join keys: each judged set must fill the MNIST score's splits and hold
        more images than the k of the k-NN metrics."""
        k = self.k_precision_recall
        k_judge = max(k, self.k_density_coverage)
        if self.judge_samples <= k_judge:
            raise ValueError(
                f"evaluation.judge_samples ({self.judge_samples}) must be larger than the k of "
                f"the k-NN metrics ({k_judge}): raise judge_samples or lower the k."
            )
        for key, n in (("n_samples", self.n_samples), ("n_reference", self.n_reference)):
            if n < self.score_splits:
                raise ValueError(
                    f"evaluation.{key} ({n}) is smaller than evaluation.score_splits "
                    f"({self.score_splits}): raise {key} or lower score_splits."
                )
            if n <= k:
                raise ValueError(
                    f"evaluation.{key} ({n}) must be larger than evaluation.k_precision_recall "
                    f"({k}): raise {key} or lower k_precision_recall."
                )
        return self


# Runtime-only keys: ``--params output_root=...``, read by the catalog (``${runtime_params:...}``)
# and by no node. output_root is the folder of the run's models, checkpoints, samples and
# reports (default ``data``): sweep trials each write to their own, so that runs started together
# never overwrite each other's files. Raw data and the classifier stay in data/.
RUNTIME_KEYS = ("output_root",)

# The parameter groups, by name: a group in conf or --params that is not here is a typo.
SCHEMAS: dict[str, type[Params]] = {
    "data": DataParams,
    "classifier": ClassifierParams,
    "training": TrainingParams,
    "evaluation": EvaluationParams,
}


def check_values(parameters: dict[str, Any]) -> None:
    """Each group against its schema, as Kedro checks them once it has imported every pipeline
    (and with the pipelines Keras and TensorFlow): so a bad value is refused in the run's first
    seconds. Raises ValueError naming every fault and its key."""
    faults = value_faults(parameters)
    if faults:
        raise ValueError(f"Parameter validation failed: {faults}.")


def value_faults(parameters: dict[str, Any]) -> str | None:
    """Every value of ``parameters``' raw groups that its schema refuses, in a line, or None."""
    faults = []
    for group, schema in SCHEMAS.items():
        values = parameters.get(group)
        if values is None or isinstance(values, BaseModel):
            continue
        try:
            schema.model_validate(values)
        except ValidationError as exc:
            faults.append(schema_errors(exc, group))
    return "; ".join(faults) or None


def schema_errors(exc: ValidationError, group: str) -> str:
    """A schema's faults in a line, each named by its key: ``training.epochs: Input should ...``."""
    return "; ".join(f"{'.'.join([group, *map(str, e['loc'])])}: {e['msg']}" for e in exc.errors())


def check_groups(parameters: dict[str, Any]) -> None:
    """Refuse what no single group's schema can see: a group no pipeline knows (a typo such as
    ``trainng.epochs=1``) and bounds between groups. Raises ValueError naming the keys."""
    parameters = {
        k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in parameters.items()
    }
    unknown = sorted(set(parameters) - set(SCHEMAS) - set(RUNTIME_KEYS))
    if unknown:
        raise ValueError(
            f"Unknown parameter group(s) {unknown}{did_you_mean(unknown, SCHEMAS)}: the groups "
            f"are {sorted(SCHEMAS)}. Check the "
            "spelling in --params and in conf/*/parameters*.yml."
        )
    root = parameters.get("output_root")
    if root is not None and (
        not isinstance(root, str) or not root.strip() or ".." in root.split("/")
    ):
        raise ValueError(
            f"output_root ({root!r}) must be a folder path without '..' (default: data), "
            "e.g. --params output_root=data/runs/mine."
        )
    cap = (parameters.get("data") or {}).get("max_train_images")
    batch = (parameters.get("training") or {}).get("batch_size")
    if isinstance(cap, int) and isinstance(batch, int) and cap < batch:
        raise ValueError(
            f"data.max_train_images ({cap}) is smaller than one batch, training.batch_size "
            f"({batch}): raise max_train_images or lower batch_size."
        )
