"""The store: exact round trips of part results, settings hashes, stale and protected files, clear errors."""
import json
import math

import numpy as np
import pytest
import torch

from helpers.partfile import IntegrityError, decode, differences, encode, part_hash, settings_hash
from helpers.store import Store


def _roundtrip(value):
    arrays = {}
    tree = json.loads(json.dumps(encode(value, arrays)))  # through JSON text, as the store writes it
    return decode(tree, arrays), arrays


def test_encode_decode_is_exact():
    value = {
        "small": torch.tensor([0.1, 0.2, 0.3]),                   # float32, inline
        "big": torch.randn(10, 20, dtype=torch.float64),          # float64, into the npz
        "ints": np.arange(100, dtype=np.int64).reshape(4, 25),
        "mask": torch.tensor([True, False]),
        "by_nu": {0.5: {"acc": [1.0, 2.0]}, 10.0: {"acc": [3.0]}},  # float keys come back as floats
        "by_k": {1: "a", 4: "b"},
        "tuple": (1, 2.5, "x"),
        "nan": float("nan"), "inf": float("inf"), "none": None, "scalar": np.float32(0.25),
    }
    back, arrays = _roundtrip(value)
    assert set(arrays) == {"a0", "a1"}  # only the two arrays above 64 elements leave the JSON
    for key in ("small", "big", "ints", "mask"):
        want = np.asarray(value[key])
        assert back[key].dtype == want.dtype and back[key].shape == want.shape
        np.testing.assert_array_equal(back[key], want)
    assert back["by_nu"] == {0.5: {"acc": [1.0, 2.0]}, 10.0: {"acc": [3.0]}} and list(back["by_k"]) == [1, 4]
    assert back["tuple"] == [1, 2.5, "x"] and math.isnan(back["nan"]) and back["inf"] == math.inf
    assert back["none"] is None and back["scalar"] == 0.25


def test_encode_refuses_models_and_names_where():
    with pytest.raises(TypeError, match=r"result\['models'\]\[0\]: .*not Linear"):
        encode({"models": [torch.nn.Linear(2, 2)]}, {})
    with pytest.raises(TypeError, match="dict key"):
        encode({(1, 2): 3}, {})


def test_settings_hash_is_stable_and_sensitive():
    from helpers.training import FitConfig

    a = settings_hash(settings=FitConfig(epochs=3), seed=0)
    assert a == settings_hash(seed=0, settings=FitConfig(epochs=3)) and a.startswith("sha256:")
    assert a != settings_hash(settings=FitConfig(epochs=4), seed=0)
    assert a != settings_hash(settings=FitConfig(epochs=3), seed=1)



def test_a_field_added_with_omit_default_keeps_the_hashes_of_its_default():
    """A settings field declared ``omit_default`` (e.g. ``FitConfig.precision``) is out of the hash at its default,
    so the parts stored before it existed stay valid, and in it with any other value."""
    import dataclasses

    from helpers.training import FitConfig

    @dataclasses.dataclass(frozen=True)
    class Before:
        epochs: int = 3

    @dataclasses.dataclass(frozen=True)
    class After:
        epochs: int = 3
        precision: str = dataclasses.field(default="fp32", metadata={"omit_default": True})

    assert settings_hash(s=Before()) == settings_hash(s=After())
    assert settings_hash(s=After()) != settings_hash(s=After(precision="bf16"))
    assert settings_hash(s=FitConfig()) != settings_hash(s=FitConfig(precision="bf16"))


def _meta(epochs=1):
    """The settings part of a record, as ``run_part`` writes it."""
    return {"settings": {"epochs": epochs}, "version": 1}


def _hash(part, epochs=1, data=None, chapter="01_x"):
    return part_hash(chapter, part, 1, {"epochs": epochs}, data)


def test_store_saves_loads_and_tells_stale_files(tmp_path):
    st = Store(tmp_path)
    path = st.save("01_x", "quick", "part-a", {"x": torch.arange(100.0)}, _meta())
    npz = path.with_suffix(".npz")
    assert path == tmp_path / "quick" / "01_x" / "parts" / "part-a.s0.json" and npz.exists()
    got = st.load("01_x", "quick", "part-a", _hash("part-a"))
    np.testing.assert_array_equal(got.result["x"], np.arange(100.0, dtype=np.float32))
    assert got.meta["part"] == "part-a" and got.meta["profile"] == "quick" and "result" not in got.meta
    assert got.meta["format"] == 2 and got.meta["content_hash"].startswith("sha256:")
    assert st.load("01_x", "quick", "part-a", _hash("part-a", 2)) is None  # other settings: never taken
    assert f"settings hash {_hash('part-a')}" in st.stale[path]
    st.save("01_x", "quick", "part-a", {"x": 1}, _meta(2))  # replaced; the npz goes
    assert not npz.exists() and st.load("01_x", "quick", "part-a", _hash("part-a", 2)).result == {"x": 1}


def test_protected_store_is_not_overwritten_without_force(tmp_path):
    st = Store(tmp_path, protected=True)
    st.save("01_x", "standard", "p", {"v": 1}, _meta())
    with pytest.raises(FileExistsError, match=r"p\.s0\.json is committed evidence; pass --force"):
        st.save("01_x", "standard", "p", {"v": 2}, _meta(2))
    st.save("01_x", "standard", "p", {"v": 2}, _meta(2), force=True)
    assert st.load("01_x", "standard", "p", _hash("p", 2)).result == {"v": 2}


def test_bad_files_and_names_are_named(tmp_path):
    st = Store(tmp_path)
    with pytest.raises(ValueError, match="part name 'Bad Name'"):
        st.path("01_x", "quick", "Bad Name")
    path = st.save("01_x", "quick", "p", {"x": np.zeros(100)}, _meta())
    npz = path.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:50])  # truncated
    with pytest.raises(IntegrityError, match=rf"p\.s0\.json: its arrays .*{npz.name} cannot be read.*truncated"):
        st.load("01_x", "quick", "p", _hash("p"))
    npz.unlink()
    with pytest.raises(ValueError, match=rf"refers to arrays in .*{npz.name}, which is missing"):
        st.load("01_x", "quick", "p", _hash("p"))
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"p\.s0\.json cannot be read"):
        st.load("01_x", "quick", "p", _hash("p"))
    moved = st.save("01_x", "quick", "q", {}, _meta())
    (tmp_path / "standard" / "01_x" / "parts").mkdir(parents=True)
    moved.rename(tmp_path / "standard" / "01_x" / "parts" / moved.name)  # a quick part in standard's folder
    with pytest.raises(ValueError, match="says profile 'quick'.*folder of 'standard'"):
        st.load("01_x", "standard", "q", _hash("q"))


def test_differences_are_exact_and_named():
    a = {"x": np.array([1.0, np.nan]), "y": [1, 2.5], "z": {0.5: "a"}}
    assert differences(a, {"x": np.array([1.0, np.nan]), "y": [1, 2.5], "z": {0.5: "a"}}) == []
    b = {"x": np.array([1.0 + 1e-12, np.nan]), "y": [1, 2.5], "z": {0.5: "b"}}
    assert differences(a, b) == ["result['x']: arrays differ (largest |difference| 1e-12)", "result['z'][0.5]: 'a' vs 'b'"]
    assert differences({"y": [1]}, {"y": [1, 2]}) == ["result['y']: length 1 vs 2"]
    assert differences(np.zeros(2, np.float32), np.zeros(2)) == ["result: float32(2,) vs float64(2,)"]
