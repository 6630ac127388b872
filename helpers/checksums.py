"""The datasets' files and their checksums, checked before a file is read (``helpers.data``).

MNIST and Fashion-MNIST: torchvision's MD5s of the official ``.gz`` files (``torchvision.datasets.MNIST.resources``)
and the MD5s of their unpacked contents (computed from those official files). CIFAR-10: torchvision's MD5s of the
official python batches (``torchvision.datasets.CIFAR10.train_list`` / ``test_list``) and, for the offline subset
staged for CI (``cifar-10-subset/``, see ``shared/data/MANIFEST.md``), the MD5s of its files. A file that differs,
is truncated or cannot be read is an error naming it, what was expected and how to mend it; the loader never
falls back to other data.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__all__ = ["MD5", "expected_md5", "verify"]

#: Path relative to the data root -> MD5 of the file.
MD5 = {
    # MNIST (.gz: torchvision's resources; unpacked: md5 of the official file's contents)
    "MNIST/raw/train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "MNIST/raw/train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "MNIST/raw/t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "MNIST/raw/t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    "MNIST/raw/train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "MNIST/raw/train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "MNIST/raw/t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "MNIST/raw/t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    # Fashion-MNIST
    "FashionMNIST/raw/train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "FashionMNIST/raw/train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "FashionMNIST/raw/t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    "FashionMNIST/raw/train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "FashionMNIST/raw/train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "FashionMNIST/raw/t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "FashionMNIST/raw/t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    # CIFAR-10, the official python batches
    "cifar-10-batches-py/data_batch_1": "c99cafc152244af753f735de768cd75f",
    "cifar-10-batches-py/data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "cifar-10-batches-py/data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "cifar-10-batches-py/data_batch_4": "634d18415352ddfa80567beed471001a",
    "cifar-10-batches-py/data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "cifar-10-batches-py/test_batch": "40351d587109b95175f43aff81a1287e",
    # the offline subset (the first 4,000 / 1,017 images of the official files; shared/data/MANIFEST.md)
    "cifar-10-subset/cifar-10-batches-py/data_batch_1": "1a2f1af1cf5fbd6cf5c623ee441130e5",
    "cifar-10-subset/cifar-10-batches-py/data_batch_2": "8708bfff4b931d3468431a31eb762a8d",
    "cifar-10-subset/cifar-10-batches-py/data_batch_3": "578acd01ba62bf0d17464747860ffcf5",
    "cifar-10-subset/cifar-10-batches-py/data_batch_4": "6d17f58d937d084d32eefd096a279b44",
    "cifar-10-subset/cifar-10-batches-py/data_batch_5": "ab5c7032302db7fc76f3e3888d33dfe5",
    "cifar-10-subset/cifar-10-batches-py/test_batch": "58952b1faa97bf4585588fb184f241d1",
}


def expected_md5(path: Path) -> tuple[str, str]:
    """``(key, md5)`` of a dataset file, found by the end of its path (``MNIST/raw/...``).

    Raises:
        ValueError: a file this module does not know, naming it.
    """
    parts = Path(path).parts
    for n in (4, 3, 2):
        key = "/".join(parts[-n:])
        if key in MD5:
            return key, MD5[key]
    raise ValueError(f"{path} is not a dataset file with a known checksum")


@functools.lru_cache(maxsize=64)
def _md5(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path) -> None:
    """Check a dataset file against its MD5 before it is read (hashed once per size and modification time).

    Raises:
        ValueError: a mismatch (edited, truncated or another file), naming the file, both checksums and the fix.
        FileNotFoundError: the file is not there.
    """
    path = Path(path)
    key, want = expected_md5(path)
    st = path.stat()
    got = _md5(str(path), st.st_size, st.st_mtime_ns)
    if got != want:
        raise ValueError(
            f"{path} is not the official {key}: MD5 {got}, expected {want} ({st.st_size:,} bytes; edited, truncated "
            "or another file). Delete it and put the official file there (torchvision's download writes it into "
            "the cache when HELPERS_DATA is unset), or point HELPERS_DATA at a folder with the official files.")
