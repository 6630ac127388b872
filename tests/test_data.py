import hashlib
import os
import re
from pathlib import Path

import pytest
import torch

from helpers import data


def _manifest_md5():
    """md5 per staged file, read from shared/data/MANIFEST.md next to HELPERS_DATA."""
    manifest = Path(os.environ["HELPERS_DATA"]) / "MANIFEST.md"
    if not manifest.exists():
        pytest.skip(f"no MANIFEST.md in HELPERS_DATA={os.environ['HELPERS_DATA']}")
    rows = re.findall(r"^\| `data/([^`]+)` \| \d+ \| `([0-9a-f]{32})`", manifest.read_text(), flags=re.M)
    assert len(rows) == 15, "MANIFEST.md lists 15 files"
    return dict(rows)


def test_staged_files_match_manifest_checksums(need_data):
    need_data("mnist")
    if not os.environ.get("HELPERS_DATA"):
        pytest.skip("checksums are checked on the staged files (HELPERS_DATA)")
    root = Path(os.environ["HELPERS_DATA"])
    for rel, md5 in _manifest_md5().items():
        assert hashlib.md5((root / rel).read_bytes()).hexdigest() == md5, rel


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_mnist_like_shapes(name, need_data):
    need_data(name)
    x, y = data.load(name, train=True)
    xt, yt = data.load(name, train=False)
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert x.dtype == torch.uint8 and y.dtype == torch.int64
    assert y.min() == 0 and y.max() == 9 and torch.bincount(y).min() > 5000
    assert data.find(name).complete


def test_known_first_labels(need_data):
    need_data("mnist")
    need_data("cifar10")
    assert data.load("mnist")[1][:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]  # the well-known first MNIST labels
    assert data.load("cifar10", train=False)[1][:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]


def test_cifar(need_data):
    need_data("cifar10")
    x, y = data.load("cifar10")
    xt, _ = data.load("cifar10", train=False)
    assert x.shape[1:] == (3, 32, 32) and x.dtype == torch.uint8
    src = data.find("cifar10")
    if not src.complete:  # the staged offline subset
        assert (len(x), len(xt)) == (8068, 1017)
    else:
        assert (len(x), len(xt)) == data.CIFAR_FULL_SIZES
    assert set(y.unique().tolist()) == set(range(10))


def test_bad_names_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'svhn'.*mnist"):
        data.load("svhn")
    with pytest.raises(FileNotFoundError, match=f"{tmp_path}/MNIST"):
        data.load("mnist", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        data.find("cifar10", root=tmp_path)


def test_offline_cache_error_mentions_helpers_data(tmp_path, monkeypatch):
    monkeypatch.delenv("HELPERS_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HELPERS_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="HELPERS_DATA"):
        data.load("fashion_mnist")


def test_select_split_pad():
    x = torch.arange(10).view(10, 1, 1).expand(10, 2, 2)
    y = torch.tensor([0, 1, 2, 3, 9, 9, 5, 6, 8, 7])
    xs, ys = data.select_classes(x, y, keep=[9, 5])
    assert ys.tolist() == [0, 0, 1] and xs[:, 0, 0].tolist() == [4, 5, 6]
    a, b = data.split_indices(10, (6, 3), seed=1)
    assert len(set(a.tolist()) | set(b.tolist())) == 9
    assert torch.equal(a, data.split_indices(10, (6, 3), seed=1)[0])
    with pytest.raises(ValueError, match="only 10 available"):
        data.split_indices(10, (6, 6), seed=0)
    p = data.pad_to(torch.ones(3, 28, 28), 36)
    assert p.shape == (3, 36, 36) and p.sum() == 3 * 28 * 28 and p[:, :4].sum() == 0
    with pytest.raises(ValueError, match="symmetrically"):
        data.pad_to(torch.ones(28, 28), 35)
    u = data.to_unit(torch.tensor([0, 255], dtype=torch.uint8))
    assert u.tolist() == [0.0, 1.0]
    z, m, s = data.standardize(torch.tensor([1.0, 2.0, 3.0]))
    assert abs(z.mean()) < 1e-6 and abs(z.std() - 1) < 1e-6


def _copy_mnist(tmp_path):
    import shutil
    src = data.find("mnist").path
    dst = tmp_path / "MNIST"
    shutil.copytree(src, dst)
    data._load_cached.cache_clear()
    return dst / "raw"


@pytest.mark.parametrize("damage", ["truncated", "bit flip"])
def test_a_damaged_gz_is_an_error_naming_the_file(damage, tmp_path, need_data):
    need_data("mnist")
    raw = _copy_mnist(tmp_path)
    f = raw / "t10k-labels-idx1-ubyte.gz"
    b = bytearray(f.read_bytes())
    f.write_bytes(bytes(b[: len(b) // 2]) if damage == "truncated" else bytes(b[:100]) + bytes([b[100] ^ 1]) + bytes(b[101:]))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz is not the official MNIST/raw/t10k-labels-"
                                         r"idx1-ubyte\.gz: MD5 [0-9a-f]{32}, expected ec29112dd5afa0611ce80d1b7f02629c"):
        data.load("mnist", train=False, root=tmp_path)
    data._load_cached.cache_clear()


def test_an_edited_unpacked_file_is_an_error_not_a_silent_load(tmp_path, need_data):
    """The loader prefers an unpacked file to the .gz beside it; an edited one must not load (nor fall back)."""
    import gzip
    need_data("mnist")
    raw = _copy_mnist(tmp_path)
    labels = bytearray(gzip.decompress((raw / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    (raw / "t10k-labels-idx1-ubyte").write_bytes(bytes(labels))
    x, y = data.load("mnist", train=False, root=tmp_path)  # the official contents, unpacked: fine
    assert len(y) == 10000
    labels[8] = (labels[8] + 1) % 10  # the first label, edited
    (raw / "t10k-labels-idx1-ubyte").write_bytes(bytes(labels))
    data._load_cached.cache_clear()
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte is not the official .*expected "
                                         r"27ae3e4e09519cfbb04c329615203637"):
        data.load("mnist", train=False, root=tmp_path)
    data._load_cached.cache_clear()


def test_a_truncated_cifar_batch_is_an_error_naming_the_file(tmp_path, need_data):
    import shutil
    need_data("cifar10")
    src = data.find("cifar10").path
    dst = tmp_path / "cifar-10-subset" / "cifar-10-batches-py"
    shutil.copytree(src, dst)
    (dst / "test_batch").write_bytes((dst / "test_batch").read_bytes()[:5000])
    data._load_cached.cache_clear()
    with pytest.raises(ValueError, match=r"test_batch is not the official cifar-10-subset/cifar-10-batches-py/"
                                         r"test_batch: MD5"):
        data.load("cifar10", train=False, root=tmp_path)
    data._load_cached.cache_clear()
