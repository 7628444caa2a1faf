"""`kedro sweep`: the spec, the driver on Ray Tune and Optuna, and each trial as a `kedro run`."""
