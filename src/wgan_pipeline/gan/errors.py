"""What training raises when it cannot go on: imported by the hooks without loading Keras."""


class TrainingDivergedError(RuntimeError):
    """A loss or a weight became NaN or infinite: training cannot recover from it."""


class Interrupted(RuntimeError):
    """SIGINT or SIGTERM: someone stopped the run on purpose."""


class TrainingInterrupted(Interrupted):
    """SIGINT or SIGTERM during training; a checkpoint was written."""


class CheckpointError(RuntimeError):
    """A checkpoint could not be written (e.g. a full disk); the previous one is intact."""
