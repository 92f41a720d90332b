"""synens.core: the Numba core that trains, renders, perturbs and analyses the network."""
