"""The LCA network: photos of a person -> a Gaussian avatar in one forward pass (docs/model.md)."""
