"""What a Kedro node needs around ``fit``, kept apart from the GAN library (gan/): the tf.data
feed, the callbacks (live MLflow logging, samples, divergence, checkpoints), checkpoint files,
run folders, the clean stop on signals, and the training run that ties them together."""
