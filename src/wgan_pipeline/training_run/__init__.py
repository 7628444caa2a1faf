"""What a Kedro node needs around ``fit``, kept apart from the GAN library (gan/): the
TrainingSession (what happens after a step and an epoch, for both trainers), its MLflow sink,
the tf.data feed, checkpoint files, run folders and the training run that ties them together."""
