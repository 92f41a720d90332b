"""synens.core: the Numba core that trains, renders, perturbs and analyses the network.

The public API is importable from here, for a notebook::

    from synens.core import load_model, render, region_ensemble

Names are resolved lazily (PEP 562), so importing ``synens.core`` compiles and loads nothing.
The rooms, ground floor first (an import-linter ``layers`` contract keeps the order):
``base`` (flags, topology, grids, errors) < ``kernels`` (jitted, arrays only) < ``network``
(render, gradients, training) < ``files`` (model file, pictures, atomic writes) < ``analysis``
(regions, ensembles, moves, atlas, basis) < ``reports`` (text, JSON, figures).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # base
    "Topology": "base.topology", "TopologyError": "base.topology", "layered": "base.topology",
    "from_spec": "base.topology", "SynensError": "base.errors", "ModelFileError": "base.errors",
    "PictureError": "base.errors",
    # network
    "render": "network.render", "activations": "network.render", "rmse": "network.render",
    "to_uint8": "network.render", "IncrementalRenderer": "network.render",
    "loss_and_grad": "network.grad", "jacobian": "network.grad", "jac_sumsq": "network.grad",
    "jac_gram": "network.grad", "train": "network.train", "TrainConfig": "network.train",
    "TrainResult": "network.train", "init_weights": "network.train",
    # files
    "Model": "files.model", "load_model": "files.model", "save_model": "files.model",
    "make_meta": "files.model", "load_picture": "files.picture",
    # analysis
    "parse_region": "analysis.changemap", "linear_change_map": "analysis.changemap",
    "exact_change_map": "analysis.changemap", "RegionRule": "analysis.ensemble",
    "RegionEnsemble": "analysis.ensemble", "region_ensemble": "analysis.region",
    "ensemble_atlas": "analysis.atlas", "basis_test": "analysis.basis",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'synens.core' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"synens.core.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
