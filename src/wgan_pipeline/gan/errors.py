"""What training raises when it cannot go on: imported by the hooks without loading Keras."""


class TrainingDivergedError(RuntimeError):
    """A loss or a weight became NaN or infinite: training cannot recover from it."""


class CheckpointError(RuntimeError):
    """A checkpoint could not be written (e.g. a full disk); the previous one is intact."""
