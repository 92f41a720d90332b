"""Analysis: regions, change maps, ensembles, moves, the atlas and the basis test."""
