"""Jitted kernels on arrays and scalars only: forward, backward, the region-split pass."""
