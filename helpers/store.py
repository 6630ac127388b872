"""The store: part results kept as files, keyed by chapter, part, profile, seed and a settings hash.

A part's result (nested dicts and lists of numbers, strings and arrays; never models) is written as

    <root>/<profile>/<chapter>/parts/<part>.s<seed>.json    the record: the tree, arrays of up to 64 numbers
                                                            inline, and what makes it evidence (below)
    <root>/<profile>/<chapter>/parts/<part>.s<seed>.npz     the larger arrays (absent when there are none)

The record (``FORMAT`` 2) carries chapter, part, profile, seed, the settings it ran with, the datasets it read
(``data``: ``{name: identity}``, ``helpers.data.identity``) and their settings hash, device, library versions, git
commit, date, wall time and torch's thread count, and, to make every stored number verifiable:

- ``arrays``: the SHA-256 of each array in the npz (dtype, shape and bytes), so a record paired with another
  run's arrays is detected;
- ``content``: the SHA-256 of the record without its result (``record``) and of each top-level entry of the result
  (``result``), so that a mismatch names what differs; ``content_hash``: the SHA-256 of all of it.

Every read (``Store.load``, ``Store.verify``, ``python -m helpers verify``) recomputes these hashes and the
settings hash from the stored settings; a mismatch raises ``IntegrityError`` naming the file and what differs: an
edited part is never rendered and never silently recomputed. A record of the old format (no content hash) is an
error too, naming ``python -m helpers migrate-store`` (``helpers.migration``), which converts a store once.

The settings hash (``settings_hash``) covers chapter, part, version, seed, the settings the part uses and the data
it read (``data``; left out when the part read no dataset). The data enter after the run (a part notes what it
reads, ``helpers.data.reading``): a lookup (``Store.load`` with the ``Digest`` of ``Part.digest``) recomputes the
hash with the stored ``data`` and takes the part only where this machine's datasets are those (or are absent):
a part computed on the CIFAR-10 subset is not taken for a run on all of CIFAR-10. A stored part whose hash
differs from the one asked for is never taken (``Store.load`` returns None and says why in ``Store.stale``).

A store marked ``protected`` (the committed ``results/``, however it is named: ``committed_store``,
``open_store``) is never overwritten without ``force=True``.

Saves are atomic and locked: the npz and the record are written to temporary files with names unique to the
process and renamed into place, the npz first and the record last, under an exclusive ``flock`` on the folder;
a read holds a shared ``flock`` on it, so a reader sees the old part or the new one, never a mix. A save killed
between its two renames leaves a new npz beside the old record: the array hashes in the record detect it.

Encoding (``encode`` / ``decode``, exact round trip): tensors and numpy arrays come back as numpy arrays of
the same dtype and shape; dicts whose keys are not all strings come back with their int / float / bool keys;
tuples come back as lists; NaN and inf survive (Python's JSON writes ``NaN`` / ``Infinity``).

While a run computes a part it holds ``<part>.s<seed>.lock`` beside the record (``Store.lock``; git-ignored):
a second run of the same chapter, on the same store, takes its other parts first and waits for that one,
instead of computing it twice. The lock records host, pid, the process's start time and the time it was taken.
A lock whose process is gone, or whose pid now belongs to another process (same host), is stale and taken
over; a lock of another host is waited on for at most ``lock_wait_s()`` seconds (``HELPERS_LOCK_WAIT_S``),
then the run stops with a message naming the lock file and its holder.
"""
from __future__ import annotations

import atexit
import dataclasses
import datetime as _dt
import fcntl
import hashlib
import io
import json
import os
import platform
import re
import signal
import subprocess
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Store", "StoredPart", "PartLock", "Digest", "IntegrityError", "LOCK_MAX_AGE_S", "FORMAT", "encode",
           "decode", "differences", "settings_hash", "canonical", "git_commit", "repo_root_or_none", "committed_store",
           "default_store", "open_store", "is_committed", "lock_wait_s", "content_of", "array_hash", "now", "dumps",
           "atomic_write", "is_skip", "release_on_sigterm", "release_all_locks", "check_record",
           "check_arrays", "seal", "part_hash", "describe_lock"]

_INLINE = 64  # arrays of at most this many elements stay inline in the JSON
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.+-]*$")
#: A lock from another host older than this is taken to be stale (seconds).
LOCK_MAX_AGE_S = 12 * 3600
#: The record format this module writes (1: no content hash, no data; ``helpers.migration`` converts it).
FORMAT = 2


class IntegrityError(ValueError):
    """A stored part whose content or settings do not match its hashes (edited, truncated or mixed)."""


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


def part_hash(chapter: str, part: str, version: Any, seed: int, settings: Any, data: dict | None = None) -> str:
    """The settings hash of a part: chapter, part, version, seed, its settings and (when it read any) its data."""
    what = dict(chapter=chapter, part=part, version=version, seed=int(seed), settings=settings)
    if data:
        what["data"] = dict(sorted(data.items()))
    return settings_hash(**what)


class Digest(str):
    """The settings hash a stored part must carry, before the data it read are known: the string is the hash
    without data (that of a part that reads no dataset, and the tag of its checkpoints and pieces);
    ``with_data(data)`` is the hash with the datasets the stored part read."""

    def __new__(cls, chapter: str, part: str, version: Any, seed: int, settings: Any):
        self = super().__new__(cls, part_hash(chapter, part, version, seed, settings))
        self._what = (chapter, part, version, int(seed), settings)
        return self

    def with_data(self, data: dict | None) -> str:
        return part_hash(*self._what, data=data) if data else str(self)

    def __reduce__(self):  # pickles (Ray) as the class with its arguments
        return (Digest, self._what)


def _sha256(text: str | bytes) -> str:
    return "sha256:" + hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def _canonical_text(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"), allow_nan=True, ensure_ascii=True)


def array_hash(arr: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and bytes (C order)."""
    arr = np.ascontiguousarray(arr)
    head = f"{arr.dtype.str}{list(arr.shape)}".encode()
    return _sha256(head + arr.tobytes())


_NOT_CONTENT = ("content", "content_hash")


def content_of(doc: dict) -> dict:
    """The ``content`` entry of a record: the SHA-256 of the record without its result and its content hashes
    (``record``: settings, data, array hashes, provenance), and of each top-level entry of its result."""
    rest = {k: v for k, v in doc.items() if k not in _NOT_CONTENT and k != "result"}
    tree = doc.get("result")
    if isinstance(tree, dict) and "__array__" not in tree and "__items__" not in tree:
        result = {k: _sha256(_canonical_text(v)) for k, v in tree.items()}
    else:
        result = {"": _sha256(_canonical_text(tree))}
    return {"record": _sha256(_canonical_text(rest)), "result": result}


def _content_hash(content: dict) -> str:
    return _sha256(_canonical_text(content))


def seal(doc: dict) -> dict:
    """``doc`` with its ``content`` and ``content_hash`` (computed from ``doc`` as JSON reads it back)."""
    doc = json.loads(dumps({k: v for k, v in doc.items() if k not in _NOT_CONTENT}))
    content = content_of(doc)
    return {**doc, "content": content, "content_hash": _content_hash(content)}


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


def is_committed(path: str | os.PathLike) -> bool:
    """Whether ``path`` is the checkout's committed ``results/`` or lies inside it, however it is spelled
    (relative, with ``..``, through a symbolic link)."""
    root = repo_root_or_none()
    if root is None:
        return False
    results = (root / "results").resolve()
    here = Path(path).expanduser().resolve()
    return here == results or results in here.parents


def open_store(path: str | os.PathLike) -> "Store":
    """A store at ``path``: protected when it is (inside) the committed ``results/`` (``is_committed``); the
    literal ``"results"`` means the checkout's committed store wherever the command runs."""
    root = repo_root_or_none()
    if str(path) == "results" and root is not None:
        return Store(root / "results", protected=True)
    return Store(path, protected=is_committed(path))


def default_store() -> "Store":
    """Where computed parts go unless told otherwise: ``$HELPERS_STORE``, else ``<checkout>/_build/store``,
    else ``./store``. A ``$HELPERS_STORE`` inside the committed ``results/`` is protected like it.

    Raises:
        ValueError: ``HELPERS_STORE`` set but empty.
    """
    env = os.environ.get("HELPERS_STORE")
    if env is not None:
        if not env.strip():
            raise ValueError("HELPERS_STORE is set but empty; point it at a folder, or unset it for _build/store")
        return open_store(env)
    root = repo_root_or_none()
    return Store(root / "_build" / "store" if root is not None else Path("store"))


def lock_wait_s() -> float:
    """Longest a run waits for a part another run holds (``HELPERS_LOCK_WAIT_S``, seconds; default 3600)."""
    value = os.environ.get("HELPERS_LOCK_WAIT_S", "3600")
    try:
        wait = float(value)
    except ValueError:
        raise ValueError(f"HELPERS_LOCK_WAIT_S must be a number of seconds, got {value!r}") from None
    if wait < 0:
        raise ValueError(f"HELPERS_LOCK_WAIT_S must be >= 0, got {value!r}")
    return wait


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file unique to this process and call (renamed into place)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic for every reader; not a guard against a power cut (no fsync: too slow here)
    finally:
        tmp.unlink(missing_ok=True)


class _FolderLock:
    """A ``flock`` on a folder: exclusive while a save renames its files, shared while a read opens them (released
    with the process; a folder that does not exist is not locked)."""

    def __init__(self, folder: Path, shared: bool = False):
        self.folder, self.shared, self.fd = folder, shared, None

    def __enter__(self):
        try:
            self.fd = os.open(self.folder, os.O_RDONLY)
        except OSError:
            return self
        try:
            fcntl.flock(self.fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
        except OSError:  # a file system without flock: the renames stay atomic, the array hashes catch a mix
            os.close(self.fd)
            self.fd = None
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)


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
def is_skip(result: Any) -> bool:
    """Whether a part's result is a skip, ``{"skipped": why, ...}``: the part could not run (a missing dataset,
    model or package), which is not a result and is never stored."""
    return isinstance(result, dict) and isinstance(result.get("skipped"), str)


@dataclass
class StoredPart:
    """A part's result as stored: ``result`` (decoded) and ``meta`` (everything else of the record).

    ``skipped``: a record of a skip (``{"skipped": why}``) kept from before skips stopped being stored: the page
    renders it as *not run*; it never hides a result of another store, and no run writes one any more."""

    result: Any
    meta: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def skipped(self) -> bool:
        return is_skip(self.result)


_HELD: set = set()


@dataclass(eq=False)
class PartLock:
    """A held part lock (``Store.lock``); ``release`` removes its file (only while it is still this lock's)."""

    path: Path
    token: str = ""

    def release(self) -> None:
        _HELD.discard(self)
        try:
            holder = json.loads(self.path.read_text() or "{}")
        except (OSError, json.JSONDecodeError):
            return
        if not self.token or holder.get("token") == self.token:
            self.path.unlink(missing_ok=True)


def release_all_locks() -> None:
    """Release every part lock this process holds (at exit, and on SIGTERM via ``release_on_sigterm``)."""
    for lock in list(_HELD):
        lock.release()


atexit.register(release_all_locks)


def release_on_sigterm() -> None:
    """Turn SIGTERM (``timeout``, a scheduler, ``kill``) into ``SystemExit`` in the main thread, so that a run's
    ``finally`` blocks release its part locks and remove its temporary files; the exit status is 143."""
    def stop(signum, frame):
        release_all_locks()
        raise SystemExit(128 + signum)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def _proc_start(pid: int) -> str | None:
    """A process's start time since boot (``/proc/<pid>/stat``, field 22), with the boot id: a pid reused by
    another process gets another value. None where ``/proc`` cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        start = stat[stat.rindex(")") + 2:].split()[19]
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except (OSError, IndexError, ValueError):
        return None
    return f"{boot}:{start}"


def _lock_holder_alive(holder: dict) -> bool:
    """Whether the run that wrote a lock may still be computing its part: on this host, its pid runs and (where
    the lock recorded it) is the same process; on another host, it is younger than ``LOCK_MAX_AGE_S``."""
    if holder.get("host") != platform.node():
        return time.time() - float(holder.get("since", 0)) < LOCK_MAX_AGE_S
    try:
        pid = int(holder.get("pid", -1))
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    started = holder.get("started")
    return not started or _proc_start(pid) in (None, started)


def describe_lock(holder: dict) -> str:
    since = _dt.datetime.fromtimestamp(float(holder.get("since", 0)), _dt.timezone.utc)
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {since:%Y-%m-%d %H:%M:%S} UTC"


def _read_npz(npz: Path, record: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(npz, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise IntegrityError(f"stored part {record}: its arrays {npz} cannot be read ({type(err).__name__}: {err}; "
                             "truncated or not an npz); delete both files to recompute") from err


def _where_in(tree: Any, name: str, path: str = "result") -> str:
    """Where the npz array ``name`` sits in a record's tree (for messages)."""
    if isinstance(tree, dict):
        if tree.get("__array__") == name:
            return path
        items = tree["__items__"] if "__items__" in tree else tree.items()
        for k, v in items:
            found = _where_in(v, name, f"{path}[{k!r}]")
            if found:
                return found
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            found = _where_in(v, name, f"{path}[{i}]")
            if found:
                return found
    return ""


def check_record(path: Path, doc: dict) -> None:
    """Check a record against its own hashes: its format, its content hashes, its settings hash recomputed from its
    settings, version, seed and data, and its place (folder and file name).

    Raises:
        IntegrityError: naming the file and what differs.
        ValueError: a record of the old format (naming the migration command).
    """
    if doc.get("format") != FORMAT:
        raise ValueError(f"stored part {path} is in store format {doc.get('format', 1)}, without content hashes; "
                         f"convert the store once with: python -m helpers migrate-store --store {path.parents[3]} (--force "
                         "for the committed results/)")
    content = content_of(doc)
    held = doc.get("content") or {}
    if _content_hash(content) != doc.get("content_hash") or content != held:
        what = []
        if content["record"] != held.get("record"):
            what.append("its record (settings, data, provenance or array hashes)")
        have = held.get("result") or {}
        what += [f"result[{k!r}]" for k in sorted(set(content["result"]) | set(have))
                 if content["result"].get(k) != have.get(k)]
        if not what:
            what.append("its content_hash")
        raise IntegrityError(f"stored part {path} does not match its content hash: {', '.join(what)} changed "
                             "since it was stored (edited by hand?); committed evidence is never edited: restore it "
                             "(git checkout -- <file>), or delete it and compute it again (--force for results/)")
    want = part_hash(doc.get("chapter"), doc.get("part"), doc.get("version"), doc.get("seed", 0),
                     doc.get("settings"), doc.get("data"))
    if doc.get("settings_hash") != want:
        raise IntegrityError(f"stored part {path}: its settings, version, seed and data give the settings hash {want}, "
                             f"but it records {doc.get('settings_hash')}")
    where = (path.parents[2].name, path.parents[1].name)
    if (doc.get("profile"), doc.get("chapter")) != where:
        raise ValueError(f"stored part {path} says profile {doc.get('profile')!r}, chapter {doc.get('chapter')!r}, "
                         f"but sits in the folder of {where[0]!r}, {where[1]!r}")
    if path.name != f"{doc.get('part')}.s{doc.get('seed')}.json":
        raise IntegrityError(f"stored part {path} records part {doc.get('part')!r}, seed {doc.get('seed')!r}: "
                             "not the part its file name says")


def check_arrays(path: Path, doc: dict, arrays: dict) -> None:
    """Check the arrays read from a record's npz against the hashes the record holds.

    Raises:
        IntegrityError: an array missing, extra or with another hash, naming it and where it sits in the result.
    """
    want = doc.get("arrays") or {}
    if set(arrays) != set(want):
        raise IntegrityError(f"stored part {path}: its npz holds arrays {sorted(arrays)}, its record names "
                             f"{sorted(want)} (files of two different saves?)")
    bad = [f"{k} ({_where_in(doc.get('result'), k) or 'unused'})" for k in sorted(want)
           if array_hash(arrays[k]) != want[k]]
    if bad:
        raise IntegrityError(f"stored part {path}: array {', '.join(bad)} does not match its hash in the record "
                             "(edited, or paired with another run's npz); restore both files, or delete them and compute "
                             "the part again (--force for results/)")


class Store:
    """Part results under ``root``: ``<root>/<profile>/<chapter>/parts/<part>.s<seed>.json`` (+ npz).

    Args:
        root: the folder (created on the first save).
        protected: committed evidence; ``save`` refuses to replace a file there without ``force=True``. A store
            at or inside the checkout's committed ``results/`` is protected whatever this says (``is_committed``).
    """

    def __init__(self, root: str | os.PathLike, protected: bool = False):
        self.root = Path(root)
        self.protected = bool(protected) or is_committed(self.root)
        self.stale: dict[Path, str] = {}  # files found with another settings hash, and why they were not taken

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}{', protected' if self.protected else ''})"

    def folder(self, chapter: str, profile: str) -> Path:
        return self.root / profile / chapter / "parts"

    def path(self, chapter: str, profile: str, part: str, seed: int) -> Path:
        """The record of a part (its npz, if any, is named in it)."""
        if not _NAME.match(part):
            raise ValueError(f"part name {part!r}: use lower-case letters, digits and . _ + - only")
        return self.folder(chapter, profile) / f"{part}.s{int(seed)}.json"

    def checkpoints(self, chapter: str, profile: str, part: str, seed: int) -> Path:
        """The folder of a part's checkpoints while it is computed (``helpers.checkpoint``), beside its record:
        ``<part>.s<seed>.ckpt/``, absolute (a Ray worker gets the same path)."""
        return self.path(chapter, profile, part, seed).with_suffix(".ckpt").resolve()

    def pieces(self, chapter: str, profile: str, part: str, seed: int) -> Path:
        """The folder of a part's pieces while it is computed (``helpers.checkpoint``: the small results of its
        finished runs, committed so that the next session goes on from them): ``<part>.s<seed>.pieces/``,
        absolute."""
        return self.path(chapter, profile, part, seed).with_suffix(".pieces").resolve()

    def read(self, path: Path) -> StoredPart:
        """Read and check one record and its arrays (``check_record``, ``check_arrays``).

        Raises:
            IntegrityError, ValueError: naming the file and what is wrong.
        """
        with _FolderLock(path.parent, shared=True):
            try:
                doc = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise ValueError(f"stored part {path} cannot be read ({err}); delete it to recompute") from err
            if not isinstance(doc, dict):
                raise ValueError(f"stored part {path} is not a record (a JSON object)")
            check_record(path, doc)
            arrays: Any = {}
            if doc.get("arrays"):
                npz = path.with_suffix(".npz")
                if not npz.exists():
                    raise ValueError(f"stored part {path} refers to arrays in {npz}, which is missing; delete the "
                                     "record to recompute")
                arrays = _read_npz(npz, path)
            check_arrays(path, doc, arrays)
        result = decode(doc.pop("result"), arrays)
        return StoredPart(result, doc, path)

    def load(self, chapter: str, profile: str, part: str, seed: int, digest: str) -> StoredPart | None:
        """The stored part if there is one with settings hash ``digest`` (a ``Digest``: with the data the part
        read, which must be this machine's data where it has them); None otherwise (noted in ``self.stale``).

        Raises:
            IntegrityError: a record or npz that does not match its hashes, naming the file and what differs.
            ValueError: a record that cannot be read, is of the old format, or whose npz is missing.
        """
        path = self.path(chapter, profile, part, seed)
        if not path.exists():
            return None
        hit = self.read(path)
        meta = hit.meta
        want = digest.with_data(meta.get("data")) if isinstance(digest, Digest) else digest
        if meta.get("settings_hash") != want:
            self.stale[path] = (f"settings hash {meta.get('settings_hash')} is not this profile's {want} "
                                "(the settings or the part changed since it was stored)")
            return None
        other = _other_data(meta.get("data") or {})
        if other:
            self.stale[path] = other
            return None
        return hit

    def save(self, chapter: str, profile: str, part: str, seed: int, result: Any, meta: dict,
             force: bool = False) -> Path:
        """Write a part and return its record's path: the npz (named by its hash) first, the record last, each
        through a temporary file unique to this process, under the folder's lock.

        ``meta`` holds the settings (``settings``, ``version``, ``data``) and provenance (``run_part``);
        ``settings_hash`` is computed from them (a given one must agree).

        Raises:
            FileExistsError: the store is protected, the part is there already and ``force`` is False.
            ValueError: a skip (``is_skip``), which is not a result; a ``settings_hash`` its settings do not give.
            TypeError: the result holds something that is not data (see ``encode``).
        """
        path = self.path(chapter, profile, part, seed)
        if is_skip(result):
            raise ValueError(f"part {part!r} was skipped ({result['skipped']}); a skip is not a result and is not "
                             "stored")
        if self.protected and path.exists() and not force:
            raise FileExistsError(f"{path} is committed evidence; pass --force (force=True) to replace it")
        want = part_hash(chapter, part, meta.get("version"), seed, meta.get("settings"), meta.get("data"))
        if meta.get("settings_hash", want) != want:
            raise ValueError(f"part {part!r}: settings_hash {meta['settings_hash']} is not the hash of its settings, "
                             f"version, seed and data ({want})")
        arrays: dict[str, np.ndarray] = {}
        tree = encode(result, arrays)
        hashes = {k: array_hash(v) for k, v in arrays.items()}
        doc = {**{k: v for k, v in meta.items() if k not in _NOT_CONTENT + ("result", "arrays", "format")},
               "settings_hash": want, "chapter": chapter, "part": part, "profile": profile, "seed": int(seed),
               "format": FORMAT, "arrays": hashes, "result": tree}
        npz = path.with_suffix(".npz")
        text = (dumps(seal(doc)) + "\n").encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = None
        if arrays:
            buf = io.BytesIO()
            np.savez_compressed(buf, **arrays)
        with _FolderLock(path.parent):
            if self.protected and path.exists() and not force:  # another run saved it meanwhile
                raise FileExistsError(f"{path} is committed evidence; pass --force (force=True) to replace it")
            if buf is not None:
                atomic_write(npz, buf.getvalue())
            atomic_write(path, text)
            if buf is None:
                npz.unlink(missing_ok=True)
        return path

    def verify(self, chapter: str | None = None) -> tuple[int, list[str]]:
        """Check every record of this store (of one chapter's folders when ``chapter`` is given).

        Returns:
            ``(n, problems)``: how many records were checked, and one line per problem (a record that does not
            match its hashes, is of the old format or cannot be read; an npz no record names).
        """
        n, problems = 0, []
        for path in sorted(self.root.glob("*/*/parts/*.json")):
            if chapter is not None and path.parents[1].name != chapter:
                continue
            n += 1
            try:
                self.read(path)
            except ValueError as err:
                problems.append(str(err))
        for npz in sorted(self.root.glob("*/*/parts/*.npz")):
            if (chapter is None or npz.parents[1].name == chapter) and not npz.with_suffix(".json").exists():
                problems.append(f"{npz}: arrays without a record; delete it")
        return n, problems

    def lock(self, chapter: str, profile: str, part: str, seed: int) -> PartLock | str:
        """Take the lock of a part about to be computed: a ``PartLock`` (release it when the part is saved), or,
        when a live run holds it, a line naming that run and the lock file. A stale lock (module docstring) is
        taken over."""
        path = self.path(chapter, profile, part, seed).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    holder = json.loads(path.read_text() or "{}")
                except (OSError, json.JSONDecodeError):  # being written this instant, or garbage: judged by age
                    try:
                        holder = {"host": "?", "since": path.stat().st_mtime}
                    except FileNotFoundError:
                        continue
                if _lock_holder_alive(holder):
                    return f"{describe_lock(holder)} (lock file {path})"
                path.unlink(missing_ok=True)  # stale: take it over
                continue
            token = uuid.uuid4().hex
            with os.fdopen(fd, "w") as f:
                json.dump({"pid": os.getpid(), "host": platform.node(), "since": time.time(),
                           "started": _proc_start(os.getpid()), "token": token}, f)
            lock = PartLock(path, token)
            _HELD.add(lock)
            return lock
        return f"a lock at {path} that keeps coming back"

    def parts(self, chapter: str, profile: str) -> list[Path]:
        """The records stored for a chapter and profile."""
        return sorted(self.folder(chapter, profile).glob("*.json"))


def _other_data(data: dict) -> str:
    """Why a part computed on ``data`` does not stand for a run on this machine's data ("" when it does: the same
    datasets, or datasets this machine does not have)."""
    from . import data as _data

    for name, ident in sorted(data.items()):
        try:
            now = _data.identity(name)
        except ValueError:  # a dataset this package no longer knows, or HELPERS_DATA set empty: judged elsewhere
            continue
        if now is not None and now != ident:
            return f"computed on {ident}; this machine's {name} is {now}"
    return ""


def now() -> str:
    """UTC now, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
