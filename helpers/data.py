"""Real datasets in torchvision's on-disk layout, loaded straight into tensors.

``load(name)`` reads MNIST / Fashion-MNIST (the official IDX files, ``.gz`` or unpacked) and
CIFAR-10 (the official python-pickle batches, or the staged subset of them); every file is checked against its
MD5 before it is read (``helpers.checksums``), and a mismatch is an error naming the file. The root is, in
order: the ``root`` argument, the environment variable ``HELPERS_DATA``, else a user cache into
which torchvision downloads the files. Offline with no files, ``load`` raises and says where the
files must go: there is never a silent switch to other or synthetic data.

What a part read is part of its identity (``helpers.store``): ``load`` notes each dataset it returns, by
``identity(name)`` (the variant, its image counts and the MD5s of its files), in the ``reading()`` record of the
part being computed; ``identity`` also says, without downloading anything, which variant this machine would give
(the full CIFAR-10 or the staged subset), so that a part stored from the subset is not taken for a run on the full
set. ``HELPERS_DATA=""`` (set but empty) is an error, not a silent download.

Expected layout under the root (torchvision's)::

    MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
    FashionMNIST/raw/...            (same names)
    cifar-10-batches-py/{data_batch_1..5,test_batch}        (or cifar-10-subset/cifar-10-batches-py)

Small helpers shared by the chapters' dataset builders live here too: class selection,
splits, padding, standardisation, all pure functions of tensors.
"""
from __future__ import annotations

import contextlib
import functools
import gzip
import os
import pickle
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .checksums import MD5, verify

__all__ = ["DATASETS", "DataSource", "identity", "reading", "data_root", "find", "load", "select_classes",
           "split_indices", "subset", "pad_to", "to_unit", "standardize"]

DATASETS = ("mnist", "fashion_mnist", "cifar10")
_IDX_FOLDER = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
_CIFAR_FOLDERS = ("cifar-10-batches-py", "cifar-10-subset/cifar-10-batches-py")
CIFAR_FULL_SIZES = (50_000, 10_000)


@dataclass(frozen=True)
class DataSource:
    """Where a dataset was found. ``complete`` is False for a subset (the staged CIFAR-10 one)."""

    path: Path
    complete: bool


def _check_name(name: str) -> str:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {list(DATASETS)}")
    return name


def data_root(root: str | os.PathLike | None = None) -> Path | None:
    """The root given, else ``$HELPERS_DATA``, else None (meaning: the download cache).

    Raises:
        ValueError: ``HELPERS_DATA`` set to an empty string (unset it to use the download cache).
    """
    if root is None:
        root = os.environ.get("HELPERS_DATA")
        if root is not None and not root.strip():
            raise ValueError("HELPERS_DATA is set but empty; point it at a data folder, or unset it to let "
                             f"torchvision download into {cache_dir()}")
    return None if root is None else Path(root).expanduser().resolve()


#: The images of each variant (train, test) and the checksummed files whose MD5s name it (``helpers.checksums``).
_VARIANTS = {
    ("mnist", True): ("official", (60_000, 10_000), "MNIST/raw/", ".gz"),
    ("fashion_mnist", True): ("official", (60_000, 10_000), "FashionMNIST/raw/", ".gz"),
    ("cifar10", True): ("official", CIFAR_FULL_SIZES, "cifar-10-batches-py/", ""),
    ("cifar10", False): ("subset", (8_068, 1_017), "cifar-10-subset/", ""),
}


def _identity(name: str, complete: bool) -> str:
    """``"mnist official 60000/10000 md5 f68b3c2d d53e105e ..."``: the variant, train / test images, MD5 prefixes."""
    variant, (n_train, n_test), prefix, suffix = _VARIANTS[(name, complete)]
    md5s = [m[:8] for k, m in sorted(MD5.items()) if k.startswith(prefix) and k.endswith(suffix)
            and (suffix or not k.endswith(".gz"))]
    return f"{name} {variant} {n_train}/{n_test} md5 {' '.join(md5s)}"


def identity(name: str, root: str | os.PathLike | None = None) -> str | None:
    """The identity of the dataset ``load(name)`` would read on this machine now (never downloading), or None when
    its files are not here. Every file ``load`` reads is checked against its MD5, so the variant names the bytes."""
    _check_name(name)
    base = data_root(root)
    src = _where(name, base if base is not None else cache_dir())
    return None if src is None else _identity(name, src.complete)


_READ: ContextVar[dict | None] = ContextVar("helpers_data_read", default=None)


@contextlib.contextmanager
def reading() -> Iterator[dict]:
    """Inside the block, every dataset ``load`` returns is noted: yields a dict ``{name: identity}`` that fills as
    the block reads (``helpers.parts.run_part`` keeps it as the part's ``data``)."""
    seen: dict = {}
    token = _READ.set(seen)
    try:
        yield seen
    finally:
        _READ.reset(token)


def note_read(data: dict) -> None:
    """Add ``{name: identity}`` entries to the current ``reading()`` record (a reused piece's data)."""
    seen = _READ.get()
    if seen is not None:
        seen.update(data)


def cache_dir() -> Path:
    """Where downloads go when no root is given: ``$XDG_CACHE_HOME/learned-symmetry`` or ``~/.cache/...``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "learned-symmetry" / "data"


def _idx_files(folder: Path, train: bool) -> tuple[Path, Path] | None:
    prefix = "train" if train else "t10k"
    found = []
    for kind in ("images-idx3", "labels-idx1"):
        stem = folder / "raw" / f"{prefix}-{kind}-ubyte"
        path = next((p for p in (stem, stem.with_name(stem.name + ".gz")) if p.exists()), None)
        if path is None:
            return None
        found.append(path)
    return found[0], found[1]


def _where(name: str, root: Path) -> DataSource | None:
    if name in _IDX_FOLDER:
        folder = root / _IDX_FOLDER[name]
        ok = _idx_files(folder, True) and _idx_files(folder, False)
        return DataSource(folder, True) if ok else None
    for sub in _CIFAR_FOLDERS:
        folder = root / sub
        if (folder / "test_batch").exists() and (folder / "data_batch_1").exists():
            return DataSource(folder, complete="subset" not in sub)
    return None


def _missing_message(name: str, root: Path | None, reason: str) -> str:
    sub = _IDX_FOLDER.get(name, "cifar-10-batches-py")
    where = f"{root}/{sub}" if root else f"$HELPERS_DATA/{sub} (HELPERS_DATA is not set)"
    return (
        f"dataset {name!r} not found: {reason}. Put torchvision's files in {where} "
        f"(for MNIST-like sets: raw/train-images-idx3-ubyte.gz etc.; for CIFAR-10: the python "
        f"batches), or set HELPERS_DATA to a folder that holds them, or go online so that "
        f"torchvision can download them into {cache_dir()}."
    )


def find(name: str, root: str | os.PathLike | None = None) -> DataSource:
    """Locate ``name``; downloads into the user cache only when no root is given at all.

    Raises:
        ValueError: unknown name.
        FileNotFoundError: the files are not where they must be (and could not be downloaded).
    """
    _check_name(name)
    base = data_root(root)
    if base is not None:
        src = _where(name, base)
        if src is None:
            raise FileNotFoundError(_missing_message(name, base, f"nothing usable under {base}"))
        return src
    cache = cache_dir()
    src = _where(name, cache)
    if src is not None:
        return src
    if os.environ.get("HELPERS_OFFLINE"):
        raise FileNotFoundError(_missing_message(name, None, "HELPERS_OFFLINE is set"))
    try:
        import torchvision.datasets as tvd

        cache.mkdir(parents=True, exist_ok=True)
        dataset = {"mnist": tvd.MNIST, "fashion_mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[name]
        dataset(str(cache), train=True, download=True)
        dataset(str(cache), train=False, download=True)
    except Exception as err:  # network errors come in many types
        raise FileNotFoundError(_missing_message(name, None, f"download failed ({err})")) from err
    src = _where(name, cache)
    if src is None:
        raise FileNotFoundError(_missing_message(name, None, "download left no usable files"))
    return src


def _read_idx(path: Path) -> np.ndarray:
    verify(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path} cannot be read ({type(err).__name__}: {err})") from err
    magic = int.from_bytes(raw[0:4], "big")
    if magic >> 8 != 0x08:  # 0x0008 0x0D: unsigned byte, D dims
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {magic:#010x})")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims}, file holds {data.size} values")
    return data.reshape(dims)


def _read_cifar(folder: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    files = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    xs, ys = [], []
    for f in files:
        verify(folder / f)
        try:
            with open(folder / f, "rb") as fh:
                batch = pickle.load(fh, encoding="latin1")
        except (OSError, EOFError, pickle.UnpicklingError) as err:
            raise ValueError(f"{folder / f} cannot be read ({type(err).__name__}: {err})") from err
        xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch["labels"], dtype=np.int64)[: len(xs[-1])])
    return np.concatenate(xs), np.concatenate(ys)


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, train: bool, folder: Path) -> tuple[Tensor, Tensor]:
    if name == "cifar10":
        x, y = _read_cifar(folder, train)
    else:
        found = _idx_files(folder, train)
        if found is None:
            raise FileNotFoundError(f"{name}: no IDX image and label files under {folder / 'raw'}")
        images, labels = found
        x, y = _read_idx(images), _read_idx(labels).astype(np.int64)
    if len(x) != len(y):
        raise ValueError(f"{name}: {len(x)} images but {len(y)} labels in {folder}")
    return torch.from_numpy(x.copy()), torch.from_numpy(y.copy())


def load(name: str, train: bool = True, root: str | os.PathLike | None = None) -> tuple[Tensor, Tensor]:
    """Load a real dataset split as tensors.

    Args:
        name: ``"mnist"``, ``"fashion_mnist"`` or ``"cifar10"``.
        train: the training split, else the test split.
        root: a folder in torchvision's layout; default ``$HELPERS_DATA``, else the download cache.
    Returns:
        ``images`` uint8 ``(B, H, W)`` for MNIST-like sets or ``(B, 3, 32, 32)`` for CIFAR-10, and
        ``labels`` int64 ``(B,)``. Callers must not modify them in place (they are cached).
    """
    src = find(name, root)
    out = _load_cached(name, bool(train), src.path)
    seen = _READ.get()
    if seen is not None:
        seen[name] = _identity(name, src.complete)
    return out


# --------------------------------------------------------------------------- pure tensor helpers
def select_classes(images: Tensor, labels: Tensor, keep) -> tuple[Tensor, Tensor]:
    """Keep the samples whose label is in ``keep``, relabelled ``0..len(keep)-1``.

    Args:
        images: ``(B, ...)``; labels: ``(B,)``; keep: iterable of class ids (order sets new ids).
    """
    keep = torch.as_tensor(list(keep), dtype=labels.dtype)
    mask = torch.isin(labels, keep)
    table = torch.full((int(labels.max()) + 1,), -1, dtype=labels.dtype)
    table[keep] = torch.arange(len(keep), dtype=labels.dtype)
    return images[mask], table[labels[mask]]


def split_indices(n: int, sizes, seed: int) -> list[Tensor]:
    """Disjoint random index sets of the given sizes from ``range(n)``, reproducible by ``seed``."""
    sizes = [int(s) for s in sizes]
    if sum(sizes) > n:
        raise ValueError(f"split sizes {sizes} need {sum(sizes)} samples, only {n} available")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return list(torch.split(perm[: sum(sizes)], sizes))


def subset(name: str, n: int, seed: int, train: bool = True) -> tuple[Tensor, Tensor]:
    """A seeded random subset of ``n`` images of one split as floats in ``[0, 1]`` (capped at what exists).

    The subset of ``seed`` is the first ``n`` of one permutation, so a larger ``n`` extends a smaller one.

    Returns:
        ``(x, y)``: ``(B, H, W)`` (MNIST-like) or ``(B, 3, 32, 32)`` (CIFAR-10) float32, and ``(B,)`` int64, with
        ``B = min(n, len(split))``.
    """
    x, y = load(name, train=train)
    (idx,) = split_indices(len(x), (min(int(n), len(x)),), seed)
    return to_unit(x[idx]), y[idx]


def pad_to(x: Tensor, size: int) -> Tensor:
    """Zero-pad ``(..., H, W)`` symmetrically to ``(..., size, size)`` (ch1: 28 -> 36)."""
    h, w = x.shape[-2:]
    if size < h or size < w or (size - h) % 2 or (size - w) % 2:
        raise ValueError(f"cannot pad {(h, w)} symmetrically to {size}x{size}")
    ph, pw = (size - h) // 2, (size - w) // 2
    return F.pad(x, (pw, pw, ph, ph))


def to_unit(images: Tensor) -> Tensor:
    """uint8 images to float32 in ``[0, 1]``, same shape."""
    return images.to(torch.float32) / 255.0


def standardize(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(x - mean) / std`` with the statistics of ``x``. Returns ``(x_std, mean, std)``."""
    mean, std = x.mean(), x.std()
    return (x - mean) / std, mean, std
