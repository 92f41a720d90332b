"""The description of a network and its data layout: Numba flags, topology, pixel grids, errors."""
