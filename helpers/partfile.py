"""The file of a stored part: its encoding, its hashes, and the checks that make it evidence.

A record (``FORMAT`` 2; its fields: docs/architecture.md, *The store format*) holds the result tree (arrays of up to
64 numbers inline, larger ones in an npz beside it, placed by ``helpers.store``), the settings, the datasets it read
(``data``, ``helpers.data.identity``), its settings hash (``part_hash``: chapter, part, version, ``PART_SEED``, the settings
the part uses and, when it read any, its data; ``Digest`` is the hash before the data are known), provenance, and,
to make every number verifiable, ``arrays`` (the SHA-256 of each npz array: dtype, shape and bytes) and ``content``
(the SHA-256 of the record without its result and of each top-level entry of the result, so that a mismatch names
what differs), summed up in ``content_hash``.

Every read recomputes these hashes and the settings hash (``check_record``, ``check_arrays``): a mismatch raises
``IntegrityError`` naming the file and what differs; a record of the old format (no content hash) names
``python -m helpers migrate-store`` (``helpers.migration``).

Encoding (``encode`` / ``decode``, exact round trip): tensors and numpy arrays come back as numpy arrays of the
same dtype and shape; dicts whose keys are not all strings come back with their int / float / bool keys; tuples
come back as lists; NaN and inf survive (Python's JSON writes ``NaN`` / ``Infinity``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import zipfile
from pathlib import Path
from typing import Any, cast

import numpy as np

__all__ = ["FORMAT", "PART_SEED", "IntegrityError", "canonical", "settings_hash", "part_hash", "Digest", "array_hash",
           "content_of", "seal", "encode", "decode", "dumps", "differences", "check_record", "check_arrays",
           "read_npz", "NOT_CONTENT"]

_INLINE = 64  # arrays of at most this many elements stay inline in the JSON
#: The record format this module writes (1: no content hash, no data; ``helpers.migration`` converts it).
FORMAT = 2
#: The one seed of every part (replicates are a profile's ``seeds``): stored parts' hashes and file names hold it.
PART_SEED = 0


class IntegrityError(ValueError):
    """A stored part whose content or settings do not match its hashes (edited, truncated or mixed)."""


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


def part_hash(chapter: str, part: str, version: Any, settings: Any, data: dict | None = None) -> str:
    """The settings hash of a part: chapter, part, version, ``PART_SEED``, its settings and (when it read any) its
    data."""
    what = dict(chapter=chapter, part=part, version=version, seed=PART_SEED, settings=settings)
    if data:
        what["data"] = dict(sorted(data.items()))
    return settings_hash(**what)


class Digest(str):
    """The settings hash a stored part must carry, before the data it read are known: the string is the hash
    without data (that of a part that reads no dataset, and the tag of its checkpoints and pieces);
    ``with_data(data)`` is the hash with the datasets the stored part read."""

    _what: tuple[str, str, Any, Any]

    def __new__(cls, chapter: str, part: str, version: Any, settings: Any):
        self = super().__new__(cls, part_hash(chapter, part, version, settings))
        self._what = (chapter, part, version, settings)
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


#: The entries of a record that its content hashes do not cover (they are those hashes).
NOT_CONTENT = ("content", "content_hash")


def content_of(doc: dict) -> dict:
    """The ``content`` entry of a record: the SHA-256 of the record without its result and its content hashes
    (``record``: settings, data, array hashes, provenance), and of each top-level entry of its result."""
    rest = {k: v for k, v in doc.items() if k not in NOT_CONTENT and k != "result"}
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
    doc = json.loads(dumps({k: v for k, v in doc.items() if k not in NOT_CONTENT}))
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


def read_npz(npz: Path, record: Path) -> dict[str, np.ndarray]:
    """The arrays of the npz beside ``record`` (a stored part or a piece); an ``IntegrityError`` naming both files
    when it cannot be read."""
    try:
        with np.load(npz, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise IntegrityError(f"{record}: its arrays {npz} cannot be read ({type(err).__name__}: {err}; truncated or "
                             "not an npz); delete both files to compute them again") from err


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
    settings, version and data, and its place (folder and file name).

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
    want = part_hash(cast(str, doc.get("chapter")), cast(str, doc.get("part")), doc.get("version"),
                     doc.get("settings"), doc.get("data"))
    if doc.get("settings_hash") != want:
        raise IntegrityError(f"stored part {path}: its settings, version and data give the settings hash {want}, "
                             f"but it records {doc.get('settings_hash')}")
    where = (path.parents[2].name, path.parents[1].name)
    if (doc.get("profile"), doc.get("chapter")) != where:
        raise ValueError(f"stored part {path} says profile {doc.get('profile')!r}, chapter {doc.get('chapter')!r}, "
                         f"but sits in the folder of {where[0]!r}, {where[1]!r}")
    if path.name != f"{doc.get('part')}.s{PART_SEED}.json":
        raise IntegrityError(f"stored part {path} records part {doc.get('part')!r}: not the part its file name says")


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
