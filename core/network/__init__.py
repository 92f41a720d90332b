"""The network: validated wrappers that render, differentiate and train (kernels underneath)."""
