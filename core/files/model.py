"""The model file: a network, its weights and its picture in one ``.npz`` (format synens-model/1).

A model file is a NumPy ``.npz`` archive, read with ``allow_pickle=False``, holding:

=================  ================  ==========================================================
key                dtype, shape      meaning
=================  ================  ==========================================================
format             str, ()           ``"synens-model/1"``
weights            float64[S]        one weight per synapse, biases included, canonical order
src, dst           int32[S]          source (neuron id, -1 bias, -2 x, -3 y) and target neuron
n_neurons          integer, ()       number of neurons N
output_neurons     int32[3]          the R, G, B output neurons
image              uint8[H, W, 3]    the training picture at training resolution
meta               str, ()           a JSON object: ``topology`` (the spec), ``seed``,
                                     ``optimiser``, ``epochs``, ``seconds``, ``rmse``,
                                     ``version`` (of synens-tui) and anything else
=================  ================  ==========================================================

Synapses must be in canonical order (by target, then bias, x, y, neurons ascending).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike
from synens.core.base.errors import MemoryBudgetError, ModelFileError, one_line
from synens.core.base.topology import Topology, TopologyError, from_spec
from synens.core.files.atomic import write_atomic
from synens.core.files.npzinfo import check_members, check_regular, npz_members

FORMAT = "synens-model/1"
KEYS = ("format", "weights", "src", "dst", "n_neurons", "output_neurons", "image", "meta")
#: Largest network and picture a model file may hold (guards against absurd allocations).
MAX_NEURONS = 1_000_000
MAX_SIDE = 16384
#: Largest |weight| a model file may hold: far beyond any trained network (about ±20), and
#: small enough that float32 kernels stay finite.
MAX_WEIGHT = 1e6
#: Bytes per picture pixel to load a model and paint it at its training size (the picture,
#: float32 paintings and targets, float64 error sums): the estimate behind the memory budget.
BYTES_PER_PIXEL = 48


def version() -> str:
    """The installed synens-tui version, or "0+unknown"."""
    try:
        return metadata.version("synens-tui")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass
class Model:
    """A trained network: topology, weights float64[S], picture uint8[H, W, 3] and meta data."""

    topo: Topology
    weights: np.ndarray
    image: np.ndarray
    meta: dict
    path: str | None = None

    @property
    def n_synapses(self) -> int:
        return self.topo.n_synapses

    @property
    def size(self) -> tuple[int, int]:
        """Training resolution (W, H)."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    def render(
        self, width: int | None = None, height: int | None = None, dtype: DTypeLike = np.float32
    ) -> np.ndarray:
        """The painting at W×H (default: the training size), float[H, W, 3] in [-1, 1]."""
        from synens.core.network.render import render

        w, h = self.size
        return render(self.topo, self.weights, width or w, height or h, dtype)

    def rmse(self, weights: np.ndarray | None = None) -> float:
        """RMSE of the painting (with ``weights``, default the model's) against its picture."""
        from synens.core.network.render import render, rmse

        w, h = self.size
        wts = self.weights if weights is None else weights
        return rmse(render(self.topo, wts, w, h), self.image)


def make_meta(
    topo: Topology,
    *,
    seed: int | None = None,
    optimiser: dict | None = None,
    epochs: int | None = None,
    seconds: float | None = None,
    rmse: float | None = None,
    **extra,
) -> dict:
    """The meta dict a freshly trained model carries (JSON-ready plain values)."""
    meta = {
        "topology": dict(topo.spec),
        "seed": seed,
        "optimiser": dict(optimiser or {}),
        "epochs": epochs,
        "seconds": seconds,
        "rmse": rmse,
        "version": version(),
    }
    meta.update(extra)
    return json.loads(json.dumps(meta, default=_plain))


def _plain(obj):
    """json.dumps fallback for NumPy scalars and arrays."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"meta value of type {type(obj).__name__} is not JSON-serialisable")


def save_model(model: Model, path: str | os.PathLike, *, replace: bool = True,
               unique: bool = False) -> Path:
    """Write ``model`` atomically to ``path`` (written as given: no ``.npz`` is appended).

    Returns the path written; ``replace``/``unique`` as in ``atomic.write_atomic`` (by
    default an existing regular file is replaced; never a non-regular one).

    The meta's ``topology`` is set to ``model.topo.spec`` (so the file is self-consistent) and
    its ``version`` to the synens-tui that writes the file.
    """
    topo = model.topo
    weights = np.asarray(model.weights, np.float64)
    image = np.asarray(model.image)
    if weights.shape != (topo.n_synapses,):
        raise ValueError(f"expected {topo.n_synapses} weights, got shape {weights.shape}")
    if not np.all(np.isfinite(weights)):
        raise ValueError("weights must be finite")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8[H, W, 3], got {image.dtype}{list(image.shape)}")
    meta = {**model.meta, "topology": dict(topo.spec), "version": version()}
    arrays = {
        "format": np.array(FORMAT),
        "weights": weights,
        "src": topo.src.astype(np.int32),
        "dst": topo.dst.astype(np.int32),
        "n_neurons": np.array(topo.n_neurons, np.int64),
        "output_neurons": topo.outputs.astype(np.int32),
        "image": np.ascontiguousarray(image),
        "meta": np.array(json.dumps(meta, default=_plain, sort_keys=True)),
    }
    return write_atomic(path, lambda fh: np.savez_compressed(fh, **arrays), replace=replace,
                        unique=unique)


def load_model(path: str | os.PathLike) -> Model:
    """Read and validate a model file; every problem raises ModelFileError with one line."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ModelFileError(f"model file not found: {name}")
    if path.is_dir():
        raise ModelFileError(f"{name} is a folder, not a model file")
    try:
        check_regular(path, "model file")
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as err:
        raise ModelFileError(f"cannot read model file {name}: {err.strerror or err}") from None
    if not head.startswith(b"PK"):
        what = "an .npy array" if head.startswith(b"\x93NUM") else "not a zip/.npz archive"
        raise ModelFileError(f"{name} is not a synens model file ({what})")
    check_members(npz_members(path, name), name, MAX_SIDE, BYTES_PER_PIXEL)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {"format": _read(npz, "format", name)}
            _check_format(arrays["format"], name)
            missing = [k for k in KEYS if k not in npz.files]
            if missing:
                raise ModelFileError(f"model file {name} lacks: {', '.join(missing)}")
            for key in KEYS[1:]:
                arrays[key] = _read(npz, key, name)
        return _build(arrays, name)
    except (ModelFileError, MemoryBudgetError):
        raise
    except Exception as err:  # any other damage is one line too
        raise ModelFileError(
            f"model file {name} is damaged or truncated ({one_line(err)})"
        ) from None


def _read(npz, key: str, name: str) -> np.ndarray:
    """One array of the archive; object arrays (pickles) are refused."""
    try:
        value = npz[key]
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise ModelFileError(
                f"model file {name}: '{key}' holds Python objects (pickled "
                "data), which are never loaded"
            ) from None
        raise
    if not isinstance(value, np.ndarray):
        raise ModelFileError(f"model file {name} is damaged: '{key}' is not an .npy array")
    return value


def _check_format(fmt: np.ndarray, name: str) -> None:
    if fmt.shape != () or fmt.dtype.kind != "U":
        raise ModelFileError(f"{name} is not a synens model file ('format' is not a string)")
    value = str(fmt[()])
    if value == FORMAT:
        return
    if value.startswith("synens-model/"):
        raise ModelFileError(
            f"model file {name} has format {value}; this version of synens-tui reads {FORMAT} only"
        )
    raise ModelFileError(f"{name} is not a synens model file (format {value[:40]!r})")


def _expect(arrays: dict, key: str, dtype, ndim: int, name: str) -> np.ndarray:
    a = arrays[key]
    if a.dtype != np.dtype(dtype) or a.ndim != ndim:
        raise ModelFileError(
            f"model file {name}: '{key}' must be {np.dtype(dtype)} with "
            f"{ndim} dimension(s), got {a.dtype} with shape {list(a.shape)}"
        )
    return a


def _build(arrays: dict, name: str) -> Model:
    """Validate the arrays of a model file and assemble the Model."""
    weights = _expect(arrays, "weights", np.float64, 1, name)
    src = _expect(arrays, "src", np.int32, 1, name)
    dst = _expect(arrays, "dst", np.int32, 1, name)
    outputs = _expect(arrays, "output_neurons", np.int32, 1, name)
    image = _expect(arrays, "image", np.uint8, 3, name)
    n = arrays["n_neurons"]
    if n.shape != () or n.dtype.kind not in "iu":
        raise ModelFileError(f"model file {name}: 'n_neurons' must be one integer")
    n = int(n)
    if not 1 <= n <= MAX_NEURONS:
        raise ModelFileError(f"model file {name}: n_neurons {n} is outside 1..{MAX_NEURONS}")
    if not (src.shape == dst.shape == weights.shape):
        raise ModelFileError(
            f"model file {name}: weights, src and dst differ in length "
            f"({weights.size}, {src.size}, {dst.size})"
        )
    h, w, c = image.shape
    if c != 3 or not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise ModelFileError(
            f"model file {name}: 'image' must be uint8[H, W, 3] with sides in "
            f"1..{MAX_SIDE}, got shape {list(image.shape)}"
        )
    bad = int(np.count_nonzero(~np.isfinite(weights)))
    if bad:
        raise ModelFileError(f"model file {name}: {bad} of {weights.size} weights are not finite")
    big = int(np.count_nonzero(np.abs(weights) > MAX_WEIGHT))
    if big:
        raise ModelFileError(f"model file {name}: {big} of {weights.size} weights lie beyond "
                             f"±{MAX_WEIGHT:g} (largest {np.abs(weights).max():.3g})")
    meta_arr = arrays["meta"]
    if meta_arr.shape != () or meta_arr.dtype.kind != "U":
        raise ModelFileError(f"model file {name}: 'meta' must be a JSON string")
    try:
        meta = json.loads(str(meta_arr[()]))
    except ValueError as err:
        raise ModelFileError(f"model file {name}: 'meta' is not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"model file {name}: 'meta' must be a JSON object")
    spec = _spec(meta.get("topology", {}), n, name)
    try:
        topo = from_spec(spec, src, dst, n, outputs)
    except TopologyError as err:
        raise ModelFileError(f"model file {name} holds an invalid network: {err}") from None
    return Model(topo, weights.copy(), np.ascontiguousarray(image), meta, path=name)


def _spec(spec, n: int, name: str) -> dict:
    """The topology spec from meta, checked as far as other code relies on it."""
    if not isinstance(spec, dict):
        raise ModelFileError(f"model file {name}: meta 'topology' must be a JSON object")
    hidden = spec.get("hidden")
    if hidden is not None:
        ok = (
            isinstance(hidden, list)
            and hidden
            and all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden)
        )
        if not ok or sum(hidden) + 3 != n:
            raise ModelFileError(
                f"model file {name}: meta 'topology.hidden' does not match a network of {n} neurons"
            )
    return spec
