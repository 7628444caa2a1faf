"""wgan-pipeline

Importing the package quiets what a user of ``kedro run`` cannot act on, before TensorFlow or
MLflow is imported: MLflow's INFO lines and download bars, and known third-party warnings. Kedro
calls ``kedro_init`` before it loads its plugins (the ``kedro.init`` entry point in
pyproject.toml), since kedro-mlflow warns as it is imported; for ``kedro run`` it also holds back
TensorFlow's C++ log lines (native_log.py). ``WGAN_VERBOSE=1`` keeps them all, with Kedro's
per-dataset and per-node lines (conf/logging.yml holds those back otherwise).
"""

import logging
import os
import re
import sys
import warnings

__version__ = "0.1"

# Warnings from packages this project uses, each about the package's own code.
KNOWN_WARNINGS = (
    # MLflow asks every PythonModel for type hints (after an ANSI colour code): kedro-mlflow's
    # and registry/digits_model.py's, whose signature is explicit
    r"Add type hints to the `predict` method",
    # Kedro 1.7's own config loader calls OmegaConf's deprecated register_new_resolver
    r"register_new_resolver\(\) is deprecated",
)


def verbose() -> bool:
    """Whether ``WGAN_VERBOSE`` asks for every third-party log line and warning."""
    return os.environ.get("WGAN_VERBOSE", "").lower() not in ("", "0", "false", "no")


def quiet_third_parties() -> None:
    """Hold back third-party logs and known warnings, unless ``WGAN_VERBOSE`` is set."""
    if verbose():
        for name in ("kedro", "kedro_mlflow", "mlflow"):
            logging.getLogger(name).setLevel(logging.INFO)
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # 3: errors too (cuInit on a CPU machine)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for message in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", f".*{message}")
    # MLflow shows its own warnings with a filter of its own put first ("once"), which an
    # "ignore" cannot override: warnings go through logging, where this filter drops them.
    logging.captureWarnings(True)
    captured = logging.getLogger("py.warnings")
    if not any(isinstance(f, _KnownWarnings) for f in captured.filters):
        captured.addFilter(_KnownWarnings())


def kedro_init() -> None:
    """What Kedro runs first (the ``kedro.init`` entry point): the quieting above, and for
    ``kedro run`` the C++ log filter."""
    quiet_third_parties()
    if not verbose() and sys.argv[1:2] == ["run"]:
        from wgan_pipeline.native_log import filter_native_log  # noqa: PLC0415

        filter_native_log()


class _KnownWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(re.search(message, record.getMessage()) for message in KNOWN_WARNINGS)


quiet_third_parties()
