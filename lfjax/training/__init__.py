"""Training: config, the jitted on-the-fly train step, checkpoints, and the trained-model interface."""
