"""Training the LCA network: synthetic data, losses, the loop, checkpoints, torchrun."""
