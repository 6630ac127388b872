"""The store: part results kept as files, keyed by chapter, part, profile, seed and a settings hash.

A part's result (nested dicts and lists of numbers, strings and arrays; never models) is written as

    <root>/<profile>/<chapter>/parts/<part>.s<seed>.json    the tree, with arrays of up to 64 numbers inline
    <root>/<profile>/<chapter>/parts/<part>.s<seed>.npz     the larger arrays (absent when there are none)

and the JSON also carries what makes it evidence: chapter, part, profile, seed, the settings it ran with and
their hash, device, library versions, git commit, date, wall time and torch's thread count. A stored part
whose hash differs from the one asked for is never taken (``Store.load`` returns None and says why in
``Store.stale``). A store marked ``protected`` (the committed ``results/``) is never overwritten without
``force=True``.

Encoding (``encode`` / ``decode``, exact round trip): tensors and numpy arrays come back as numpy arrays of
the same dtype and shape; dicts whose keys are not all strings come back with their int / float / bool keys;
tuples come back as lists; NaN and inf survive (Python's JSON writes ``NaN`` / ``Infinity``).

While a run computes a part it holds ``<part>.s<seed>.lock`` beside the sidecar (``Store.lock``): a second
run of the same chapter, on the same store, takes its other parts first and waits for that one, instead of
computing it twice. A lock whose process is gone (same host) or that is older than ``LOCK_MAX_AGE_S`` (another
host) is stale and taken over.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import io
import json
import os
import platform
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Store", "StoredPart", "PartLock", "LOCK_MAX_AGE_S", "encode", "decode", "differences", "settings_hash", "canonical", "git_commit",
           "repo_root_or_none", "committed_store", "default_store", "now", "dumps"]

_INLINE = 64  # arrays of at most this many elements stay inline in the JSON
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.+-]*$")
#: A lock from another host older than this is taken to be stale (seconds).
LOCK_MAX_AGE_S = 12 * 3600


# --------------------------------------------------------------------------- encoding
def canonical(v: Any) -> Any:
    """Settings as plain JSON values (dataclasses as dicts, tuples as lists, numpy scalars as numbers), for
    hashing and for the sidecar. Dict keys become strings. A dataclass field declared with
    ``metadata={"omit_default": True}`` is left out while it holds its default: a field added to a settings class
    later keeps every stored part's hash, and a part computed with another value gets another hash."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: canonical(getattr(v, f.name)) for f in dataclasses.fields(v)
                if not (f.metadata.get("omit_default") and getattr(v, f.name) == f.default)}
    if isinstance(v, dict):
        return {str(k): canonical(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [canonical(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    raise TypeError(f"settings value {v!r} of type {type(v).__name__} has no canonical JSON form")


def settings_hash(**what: Any) -> str:
    """``sha256:`` and 16 hex digits of the canonical JSON of ``what`` (sorted keys)."""
    text = json.dumps(canonical(what), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _as_array(v: Any) -> np.ndarray | None:
    if isinstance(v, np.ndarray):
        return v
    if type(v).__module__.startswith("torch") and hasattr(v, "detach"):  # a torch.Tensor, on any device
        return v.detach().cpu().numpy()
    return None


def _encode_key(k: Any, path: str) -> Any:
    if isinstance(k, np.generic):
        k = k.item()
    if isinstance(k, (str, int, float, bool)) or k is None:
        return k
    raise TypeError(f"{path}: dict key {k!r} of type {type(k).__name__} cannot be stored")


def encode(value: Any, arrays: dict[str, np.ndarray], path: str = "result") -> Any:
    """A JSON tree for ``value``; arrays above ``_INLINE`` elements go into ``arrays`` (named ``a0``, ``a1``, ...).

    Raises:
        TypeError: a value that is not data (a model, a generator, ...), naming where it sits in the result.
    """
    arr = _as_array(value)
    if arr is not None:
        if arr.dtype == object:
            raise TypeError(f"{path}: object arrays cannot be stored")
        if arr.size <= _INLINE:
            return {"__array__": {"dtype": arr.dtype.str, "shape": list(arr.shape), "data": arr.ravel().tolist()}}
        key = f"a{len(arrays)}"
        arrays[key] = arr
        return {"__array__": key}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not {"__array__", "__items__"} & set(value):
            return {k: encode(v, arrays, f"{path}[{k!r}]") for k, v in value.items()}
        return {"__items__": [[_encode_key(k, path), encode(v, arrays, f"{path}[{k!r}]")] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise TypeError(f"{path}: a part returns numbers, strings and arrays, not {type(value).__name__} "
                    "(models and generators stay inside the part)")


def decode(tree: Any, arrays: Any) -> Any:
    """The inverse of ``encode``: ``arrays`` maps the names of the npz entries to arrays."""
    if isinstance(tree, dict):
        if "__array__" in tree:
            ref = tree["__array__"]
            if isinstance(ref, str):
                return np.asarray(arrays[ref])
            return np.asarray(ref["data"], dtype=np.dtype(ref["dtype"])).reshape(ref["shape"])
        if "__items__" in tree:
            return {k: decode(v, arrays) for k, v in tree["__items__"]}
        return {k: decode(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [decode(v, arrays) for v in tree]
    return tree


_FLAT_LIST = re.compile(r"\[[^\[\]{}\"]*\]")


def dumps(doc: Any) -> str:
    """JSON with one key per line but lists of numbers on one line (NaN and inf written as ``NaN``, ``Infinity``)."""
    text = json.dumps(doc, indent=1, allow_nan=True)
    return _FLAT_LIST.sub(lambda m: re.sub(r"\s*\n\s*", " ", m.group(0)).replace("[ ", "[").replace(" ]", "]"), text)


def differences(a: Any, b: Any, path: str = "result") -> list[str]:
    """Where two decoded results differ, exactly (arrays bit for bit, NaN equal to NaN): ``[]`` when identical.

    Returns:
        One line per difference, naming its place in the result, e.g. ``"result['acc'][1]: 0.91 vs 0.92"``.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return [f"{path}: keys {list(a)} vs {list(b)}"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}[{k!r}]")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return [f"{path}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"]
        same = np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        return [] if same else [f"{path}: arrays differ (largest |difference| "
                                f"{np.nanmax(np.abs(a.astype(float) - b.astype(float))):.3g})"]
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:  # both NaN
        return []
    return [] if type(a) is type(b) and a == b else [f"{path}: {a!r} vs {b!r}"]


# --------------------------------------------------------------------------- where stores live
def repo_root_or_none() -> Path | None:
    """The checkout that holds this package (``_toc.yml`` and ``results/`` beside it), or None when
    ``helpers`` was installed without one (e.g. from git on Colab)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "_toc.yml").exists() and (root / "book").is_dir() else None


def committed_store() -> "Store | None":
    """The committed evidence, ``<checkout>/results`` (protected), or None outside a checkout."""
    root = repo_root_or_none()
    return Store(root / "results", protected=True) if root is not None else None


def default_store() -> "Store":
    """Where computed parts go unless told otherwise: ``$HELPERS_STORE``, else ``<checkout>/_build/store``,
    else ``./store``."""
    env = os.environ.get("HELPERS_STORE")
    if env:
        return Store(env)
    root = repo_root_or_none()
    return Store(root / "_build" / "store" if root is not None else Path("store"))


def git_commit() -> str:
    """The checkout's commit (with ``+dirty`` for uncommitted changes), or ``""`` outside a git checkout."""
    root = repo_root_or_none()
    if root is None or not (root / ".git").exists():
        return ""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "helpers"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return sha + ("+dirty" if sha and dirty else "")


# --------------------------------------------------------------------------- the store
@dataclass
class StoredPart:
    """A part's result as stored: ``result`` (decoded) and ``meta`` (everything else of the JSON sidecar)."""

    result: Any
    meta: dict = field(default_factory=dict)
    path: Path | None = None


@dataclass
class PartLock:
    """A held part lock (``Store.lock``); ``release`` removes its file."""

    path: Path

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


def _lock_holder_alive(holder: dict) -> bool:
    """Whether the run that wrote a lock may still be computing its part."""
    if holder.get("host") != platform.node():
        return time.time() - float(holder.get("since", 0)) < LOCK_MAX_AGE_S
    try:
        os.kill(int(holder.get("pid", -1)), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


class Store:
    """Part results under ``root``: ``<root>/<profile>/<chapter>/parts/<part>.s<seed>.{json,npz}``.

    Args:
        root: the folder (created on the first save).
        protected: committed evidence; ``save`` refuses to replace a file there without ``force=True``.
    """

    def __init__(self, root: str | os.PathLike, protected: bool = False):
        self.root = Path(root)
        self.protected = protected
        self.stale: dict[Path, str] = {}  # files found with another settings hash, and why they were not taken

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}{', protected' if self.protected else ''})"

    def folder(self, chapter: str, profile: str) -> Path:
        return self.root / profile / chapter / "parts"

    def path(self, chapter: str, profile: str, part: str, seed: int) -> Path:
        """The JSON sidecar of a part (the npz beside it has the same stem)."""
        if not _NAME.match(part):
            raise ValueError(f"part name {part!r}: use lower-case letters, digits and . _ + - only")
        return self.folder(chapter, profile) / f"{part}.s{int(seed)}.json"

    def checkpoints(self, chapter: str, profile: str, part: str, seed: int) -> Path:
        """The folder of a part's checkpoints while it is computed (``helpers.checkpoint``), beside its sidecar:
        ``<part>.s<seed>.ckpt/``, absolute (a Ray worker gets the same path)."""
        return self.path(chapter, profile, part, seed).with_suffix(".ckpt").resolve()

    def pieces(self, chapter: str, profile: str, part: str, seed: int) -> Path:
        """The folder of a part's pieces while it is computed (``helpers.checkpoint``: the small results of its
        finished runs, committed so that the next session goes on from them): ``<part>.s<seed>.pieces/``,
        absolute."""
        return self.path(chapter, profile, part, seed).with_suffix(".pieces").resolve()

    def load(self, chapter: str, profile: str, part: str, seed: int, digest: str) -> StoredPart | None:
        """The stored part if there is one with settings hash ``digest``; None otherwise (a file with another
        hash is noted in ``self.stale``).

        Raises:
            ValueError: a sidecar that cannot be read, or whose npz is missing, naming the file.
        """
        path = self.path(chapter, profile, part, seed)
        if not path.exists():
            return None
        try:
            meta = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"stored part {path} cannot be read ({err}); delete it to recompute") from err
        if meta.get("settings_hash") != digest:
            self.stale[path] = (f"settings hash {meta.get('settings_hash')} is not this profile's {digest} "
                                "(the settings or the part changed since it was stored)")
            return None
        if meta.get("profile") != profile or meta.get("chapter") != chapter:
            raise ValueError(f"stored part {path} says profile {meta.get('profile')!r}, chapter "
                             f"{meta.get('chapter')!r}, but sits in the folder of {profile!r}, {chapter!r}")
        npz = path.with_suffix(".npz")
        arrays: Any = {}
        if meta.get("arrays"):
            if not npz.exists():
                raise ValueError(f"stored part {path} refers to arrays in {npz}, which is missing; delete both to "
                                 "recompute")
            with np.load(npz, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        result = decode(meta.pop("result"), arrays)
        return StoredPart(result, meta, path)

    def save(self, chapter: str, profile: str, part: str, seed: int, result: Any, meta: dict,
             force: bool = False) -> Path:
        """Write a part (JSON sidecar last, so a killed write leaves no sidecar) and return the sidecar's path.

        Raises:
            FileExistsError: the store is protected, the part is there already and ``force`` is False.
            TypeError: the result holds something that is not data (see ``encode``).
        """
        path = self.path(chapter, profile, part, seed)
        if self.protected and path.exists() and not force:
            raise FileExistsError(f"{path} is committed evidence; pass --force (force=True) to replace it")
        arrays: dict[str, np.ndarray] = {}
        tree = encode(result, arrays)
        path.parent.mkdir(parents=True, exist_ok=True)
        npz = path.with_suffix(".npz")
        if arrays:
            buf = io.BytesIO()
            np.savez_compressed(buf, **arrays)
            tmp = npz.with_suffix(".npz.tmp")
            tmp.write_bytes(buf.getvalue())
            tmp.replace(npz)
        elif npz.exists():
            npz.unlink()
        doc = {**meta, "chapter": chapter, "part": part, "profile": profile, "seed": int(seed),
               "arrays": sorted(arrays), "result": tree}
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(dumps(doc) + "\n")
        tmp.replace(path)
        return path

    def lock(self, chapter: str, profile: str, part: str, seed: int) -> PartLock | str:
        """Take the lock of a part about to be computed: a ``PartLock`` (release it when the part is saved), or,
        when a live run holds it, a line naming that run (``"pid 123 on host since 04:01:02"``). A stale lock
        (module docstring) is taken over."""
        path = self.path(chapter, profile, part, seed).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    holder = json.loads(path.read_text() or "{}")
                except (OSError, json.JSONDecodeError):  # being written this instant, or garbage: judged by age
                    holder = {"host": "?", "since": path.stat().st_mtime if path.exists() else 0}
                if _lock_holder_alive(holder):
                    since = _dt.datetime.fromtimestamp(float(holder.get("since", 0)), _dt.timezone.utc)
                    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {since:%H:%M:%S} UTC"
                path.unlink(missing_ok=True)  # stale: take it over
                continue
            with os.fdopen(fd, "w") as f:
                json.dump({"pid": os.getpid(), "host": platform.node(), "since": time.time()}, f)
            return PartLock(path)
        return f"a lock at {path} that keeps coming back"

    def parts(self, chapter: str, profile: str) -> list[Path]:
        """The sidecars stored for a chapter and profile."""
        return sorted(self.folder(chapter, profile).glob("*.json"))


def now() -> str:
    """UTC now, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
