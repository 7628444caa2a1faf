"""ConfigChecksHook's mixed-precision check: refused up front where bfloat16 cannot run."""

import pytest

from wgan_pipeline.hooks.config_checks import ConfigurationError, check_mixed_precision
from wgan_pipeline.training_run.devices import bfloat16_unsupported


def test_float32_needs_no_check():
    check_mixed_precision({"mixed_precision": False})
    check_mixed_precision(None)


def test_bfloat16_is_refused_where_it_cannot_run_and_allowed_where_it_can():
    if bfloat16_unsupported():
        with pytest.raises(ConfigurationError, match="training.mixed_precision is true, but"):
            check_mixed_precision({"mixed_precision": True})
    else:
        check_mixed_precision({"mixed_precision": True})
