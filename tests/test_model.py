"""Model files: exact round trip, and every bad file refused with a one-line ModelFileError."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from conftest import layered_weights
from synens.core.base.errors import ModelFileError
from synens.core.base.topology import layered
from synens.core.files.model import FORMAT, KEYS, Model, load_model, make_meta, save_model
from synens.core.network.render import render, rmse


@pytest.fixture
def model() -> Model:
    topo = layered((4, 3), skip=2)
    image = np.random.default_rng(3).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    meta = make_meta(
        topo,
        seed=5,
        optimiser={"batch": 64, "lr": 0.01, "l2": 0.0},
        epochs=7,
        seconds=1.5,
        rmse=0.25,
        picture="p.png",
    )
    return Model(topo, layered_weights(topo, 1), image, meta)


def _arrays(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _write(path, arrays: dict) -> None:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _refused(path, *words: str) -> str:
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    msg = str(info.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg
    return msg


def test_round_trip_is_exact(model, tmp_path):
    path = tmp_path / "m.npz"
    save_model(model, path)
    back = load_model(path)
    assert back.weights.dtype == np.float64
    assert back.weights.tobytes() == model.weights.tobytes()
    np.testing.assert_array_equal(back.image, model.image)
    assert back.image.dtype == np.uint8
    np.testing.assert_array_equal(back.topo.src, model.topo.src)
    np.testing.assert_array_equal(back.topo.dst, model.topo.dst)
    np.testing.assert_array_equal(back.topo.outputs, model.topo.outputs)
    assert back.topo.n_neurons == model.topo.n_neurons
    assert back.topo.spec == model.topo.spec
    assert back.meta == model.meta
    assert back.meta["topology"] == {"kind": "layered", "hidden": [4, 3], "skip": 2}
    assert back.path == str(path)
    assert back.topo.neuron_role(0) == "hidden layer 1"


def test_file_layout_is_the_documented_one(model, tmp_path):
    path = tmp_path / "m.npz"
    save_model(model, path)
    assert sorted(zipfile.ZipFile(path).namelist()) == sorted(f"{k}.npy" for k in KEYS)
    a = _arrays(path)
    assert str(a["format"]) == FORMAT == "synens-model/1"
    assert a["weights"].dtype == np.float64 and a["src"].dtype == np.int32
    assert a["dst"].dtype == np.int32 and a["output_neurons"].dtype == np.int32
    assert a["image"].shape == (6, 9, 3) and int(a["n_neurons"]) == model.topo.n_neurons
    meta = json.loads(str(a["meta"]))
    for key in ("topology", "seed", "optimiser", "epochs", "seconds", "rmse", "version"):
        assert key in meta
    assert meta["version"] and meta["seed"] == 5


def test_path_is_used_as_given_and_old_file_survives_a_failed_save(model, tmp_path):
    path = tmp_path / "model.bin"
    save_model(model, path)
    assert path.exists() and not (tmp_path / "model.bin.npz").exists()
    before = path.read_bytes()
    bad = Model(model.topo, model.weights * np.nan, model.image, model.meta)
    with pytest.raises(ValueError):
        save_model(bad, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


def test_rmse_and_render_helpers(model):
    w, h = model.size
    assert (w, h) == (9, 6)
    img = render(model.topo, model.weights, w, h)
    assert model.rmse() == pytest.approx(rmse(img, model.image))
    assert model.render(4, 3).shape == (3, 4, 3)
    assert model.n_synapses == model.topo.n_synapses


def test_missing_and_folder(tmp_path):
    _refused(tmp_path / "nope.npz", "not found")
    _refused(tmp_path, "folder")


def test_random_bytes_and_npy_and_foreign_zip(tmp_path):
    p = tmp_path / "rand.npz"
    p.write_bytes(np.random.default_rng(0).bytes(500))
    _refused(p, "not a synens model file")
    p = tmp_path / "a.npy"
    np.save(p, np.arange(3))
    _refused(p, ".npy")
    p = tmp_path / "foreign.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "hi")
    _refused(p, "not a synens model file", "format")


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9, 0.99])
def test_truncated_file(model, tmp_path, keep):
    path = tmp_path / "m.npz"
    save_model(model, path)
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: int(len(data) * keep)])
    _refused(cut, "damaged or truncated")


def test_bad_crc(model, tmp_path):
    arrays = _arrays(_saved(model, tmp_path))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for k, a in arrays.items():
            npy = io.BytesIO()
            np.save(npy, a)
            z.writestr(f"{k}.npy", npy.getvalue())
    data = bytearray(buf.getvalue())
    at = data.find(model.weights.tobytes()[:16])
    assert at > 0
    data[at + 3] ^= 0xFF
    p = tmp_path / "crc.npz"
    p.write_bytes(bytes(data))
    _refused(p, "damaged or truncated")


def _saved(model, tmp_path):
    path = tmp_path / "good.npz"
    save_model(model, path)
    return path


def test_missing_keys(model, tmp_path):
    a = _arrays(_saved(model, tmp_path))
    del a["image"], a["src"]
    p = tmp_path / "m.npz"
    _write(p, a)
    msg = _refused(p, "lacks")
    assert "image" in msg and "src" in msg and "weights" not in msg


def test_no_format_key(model, tmp_path):
    a = _arrays(_saved(model, tmp_path))
    del a["format"]
    p = tmp_path / "m.npz"
    _write(p, a)
    _refused(p, "not a synens model file", "format")


@pytest.mark.parametrize(
    "fmt, words",
    [
        ("synens-model/2", ("synens-model/2", "synens-model/1")),
        ("other-thing/1", ("not a synens model file",)),
    ],
)
def test_wrong_format_string(model, tmp_path, fmt, words):
    a = _arrays(_saved(model, tmp_path))
    a["format"] = np.array(fmt)
    p = tmp_path / "m.npz"
    _write(p, a)
    _refused(p, *words)


@pytest.mark.parametrize("key", ["meta", "weights", "format"])
def test_object_arrays_are_never_unpickled(model, tmp_path, key):
    a = _arrays(_saved(model, tmp_path))
    a[key] = np.array([{"x": 1}, None], dtype=object)
    p = tmp_path / "m.npz"
    _write(p, a)
    _refused(p, "Python objects", key)


@pytest.mark.parametrize(
    "key, value, word",
    [
        ("weights", lambda a: a.astype(np.float32), "'weights'"),
        ("src", lambda a: a.astype(np.int64), "'src'"),
        ("dst", lambda a: a.astype(np.float64), "'dst'"),
        ("output_neurons", lambda a: a.astype(np.int64), "'output_neurons'"),
        ("image", lambda a: a.astype(np.float64), "'image'"),
        ("image", lambda a: a[..., :2].copy(), "'image'"),
        ("image", lambda a: a[:, :0].copy(), "'image'"),
        ("weights", lambda a: a[None], "'weights'"),
        ("n_neurons", lambda a: np.array([3, 4]), "'n_neurons'"),
        ("n_neurons", lambda a: np.array(2.5), "'n_neurons'"),
        ("n_neurons", lambda a: np.array(10**9), "n_neurons"),
        ("meta", lambda a: np.array(b"{}"), "'meta'"),
    ],
)
def test_wrong_dtype_or_shape(model, tmp_path, key, value, word):
    a = _arrays(_saved(model, tmp_path))
    a[key] = value(a[key])
    p = tmp_path / "m.npz"
    _write(p, a)
    _refused(p, word)


def test_lengths_disagree(model, tmp_path):
    a = _arrays(_saved(model, tmp_path))
    a["weights"] = a["weights"][:-1]
    p = tmp_path / "m.npz"
    _write(p, a)
    _refused(p, "differ in length")


def test_non_canonical_order(model, tmp_path):
    a = _arrays(_saved(model, tmp_path))
    for k in ("src", "dst", "weights"):
        a[k] = a[k][::-1].copy()
    p = tmp_path / "m.npz"
    _write(p, a)
    _refused(p, "invalid network", "canonical")


def test_cyclic_network(tmp_path):
    # neuron 0 <- neuron 1 and neuron 1 <- neuron 0: canonical order but a cycle
    src = np.array([-1, 1, -1, 0, -1, -2, -1, -3], np.int32)
    dst = np.array([0, 0, 1, 1, 2, 2, 3, 3], np.int32)
    a = {
        "format": np.array(FORMAT),
        "weights": np.zeros(8),
        "src": src,
        "dst": dst,
        "n_neurons": np.array(4),
        "output_neurons": np.array([1, 2, 3], np.int32),
        "image": np.zeros((2, 2, 3), np.uint8),
        "meta": np.array("{}"),
    }
    p = tmp_path / "m.npz"
    _write(p, a)
    _refused(p, "invalid network", "cycle")


def test_bad_outputs_and_targets(model, tmp_path):
    a = _arrays(_saved(model, tmp_path))
    a["output_neurons"] = np.array([0, 0, 1], np.int32)
    p = tmp_path / "m.npz"
    _write(p, a)
    _refused(p, "invalid network", "distinct")
    a = _arrays(_saved(model, tmp_path))
    a["dst"] = a["dst"].copy()
    a["dst"][-1] = 999
    _write(p, a)
    _refused(p, "invalid network")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(model, tmp_path, bad):
    a = _arrays(_saved(model, tmp_path))
    a["weights"] = a["weights"].copy()
    a["weights"][3] = bad
    p = tmp_path / "m.npz"
    _write(p, a)
    _refused(p, "1 of", "not finite")


@pytest.mark.parametrize(
    "meta, word",
    [
        ("{nope", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"topology": 3}', "topology"),
        ('{"topology": {"hidden": [4, "x"]}}', "hidden"),
        ('{"topology": {"hidden": [9, 9]}}', "hidden"),
    ],
)
def test_bad_meta(model, tmp_path, meta, word):
    a = _arrays(_saved(model, tmp_path))
    a["meta"] = np.array(meta)
    p = tmp_path / "m.npz"
    _write(p, a)
    _refused(p, word)


def test_plain_npz_without_compression_loads(model, tmp_path):
    """The format is the arrays, not the compression: a plain np.savez file loads too."""
    a = _arrays(_saved(model, tmp_path))
    p = tmp_path / "plain.npz"
    _write(p, a)
    back = load_model(p)
    assert back.weights.tobytes() == model.weights.tobytes()
    assert back.meta == model.meta


def test_make_meta_converts_numpy_values(model):
    meta = make_meta(model.topo, seed=np.int64(3), rmse=np.float32(0.5), arr=np.arange(2))
    assert meta["seed"] == 3 and meta["rmse"] == 0.5 and meta["arr"] == [0, 1]
    assert isinstance(json.dumps(meta), str)
