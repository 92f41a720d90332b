"""synens.assets: the shipped pictures and the default model."""
