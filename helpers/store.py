"""The store: part results kept as files, keyed by chapter, part, profile and a settings hash.

A part's result is written as

    <root>/<profile>/<chapter>/parts/<part>.s0.json    the record (``helpers.partfile``: the tree, arrays of
                                                       up to 64 numbers inline, provenance and content hashes)
    <root>/<profile>/<chapter>/parts/<part>.s0.npz     the larger arrays (absent when there are none)

(``s0``: ``helpers.partfile.PART_SEED``, which the names of the stored parts hold.)

Every read checks a record against its hashes (``helpers.partfile``): an edited part is never rendered and never
silently recomputed. A lookup (``Store.load`` with the ``Digest`` of ``Part.digest``) recomputes the settings hash
with the stored ``data`` (the datasets the part read, ``helpers.data.reading``) and takes the part only where this
machine's datasets are those (or are absent): a part computed on the CIFAR-10 subset is not taken for a run on all
of CIFAR-10. A stored part whose hash differs from the one asked for is never taken (``Store.load`` returns None
and says why in ``Store.stale``).

A store marked ``protected`` (the committed ``results/``, however it is named: ``committed_store``,
``open_store``) is never overwritten without ``force=True``.

Saves are atomic and locked (``helpers.locks``), the npz first and the record last: a save killed between its two
renames leaves a new npz beside the old record, which the array hashes in the record detect.
"""
from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .locks import FolderLock, PartLock, atomic_write, take_lock
from .partfile import (FORMAT, NOT_CONTENT, PART_SEED, Digest, array_hash, check_arrays, check_record, decode, dumps, encode,
                       part_hash, read_npz, seal)
from .registry import repo_root_or_none

__all__ = ["Store", "StoredPart", "committed_store", "default_store", "open_store", "is_committed", "is_skip",
           "other_data"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.+-]*$")


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
    return Store(root / "results" if str(path) == "results" and root is not None else path)  # protected: __init__


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


class Store:
    """Part results under ``root``: ``<root>/<profile>/<chapter>/parts/<part>.s0.json`` (+ npz).

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

    def path(self, chapter: str, profile: str, part: str) -> Path:
        """The record of a part (its npz, if any, is named in it)."""
        if not _NAME.match(part):
            raise ValueError(f"part name {part!r}: use lower-case letters, digits and . _ + - only")
        return self.root / profile / chapter / "parts" / f"{part}.s{PART_SEED}.json"

    def checkpoints(self, chapter: str, profile: str, part: str) -> Path:
        """The folder of a part's checkpoints while it is computed (``helpers.checkpoint``), beside its record:
        ``<part>.s0.ckpt/``, absolute (a Ray worker gets the same path)."""
        return self.path(chapter, profile, part).with_suffix(".ckpt").resolve()

    def pieces(self, chapter: str, profile: str, part: str) -> Path:
        """The folder of a part's pieces while it is computed (``helpers.checkpoint``: the small results of its
        finished runs, committed so that the next session goes on from them): ``<part>.s0.pieces/``, absolute."""
        return self.path(chapter, profile, part).with_suffix(".pieces").resolve()

    def read(self, path: Path) -> StoredPart:
        """Read and check one record and its arrays (``check_record``, ``check_arrays``).

        Raises:
            ~helpers.partfile.IntegrityError, ValueError: naming the file and what is wrong.
        """
        with FolderLock(path.parent, shared=True):
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
                arrays = read_npz(npz, path)
            check_arrays(path, doc, arrays)
        result = decode(doc.pop("result"), arrays)
        return StoredPart(result, doc, path)

    def load(self, chapter: str, profile: str, part: str, digest: str) -> StoredPart | None:
        """The stored part if there is one with settings hash ``digest`` (a ``Digest``: with the data the part
        read, which must be this machine's data where it has them); None otherwise (noted in ``self.stale``).

        Raises:
            ~helpers.partfile.IntegrityError: a record or npz that does not match its hashes, naming the file and what differs.
            ValueError: a record that cannot be read, is of the old format, or whose npz is missing.
        """
        path = self.path(chapter, profile, part)
        if not path.exists():
            return None
        hit = self.read(path)
        meta = hit.meta
        want = digest.with_data(meta.get("data")) if isinstance(digest, Digest) else digest
        if meta.get("settings_hash") != want:
            self.stale[path] = (f"settings hash {meta.get('settings_hash')} is not this profile's {want} "
                                "(the settings or the part changed since it was stored)")
            return None
        other = other_data(meta.get("data") or {})
        if other:
            self.stale[path] = other
            return None
        return hit

    def save(self, chapter: str, profile: str, part: str, result: Any, meta: dict, force: bool = False) -> Path:
        """Write a part and return its record's path: the npz (named by its hash) first, the record last, each
        through a temporary file unique to this process, under the folder's lock.

        ``meta`` holds the settings (``settings``, ``version``, ``data``) and provenance (``run_part``);
        ``settings_hash`` is computed from them (a given one must agree).

        Raises:
            FileExistsError: the store is protected, the part is there already and ``force`` is False.
            ValueError: a skip (``is_skip``), which is not a result; a ``settings_hash`` its settings do not give.
            TypeError: the result holds something that is not data (see ``encode``).
        """
        path = self.path(chapter, profile, part)
        if is_skip(result):
            raise ValueError(f"part {part!r} was skipped ({result['skipped']}); a skip is not a result and is not "
                             "stored")
        if self.protected and path.exists() and not force:
            raise FileExistsError(f"{path} is committed evidence; pass --force (force=True) to replace it")
        want = part_hash(chapter, part, meta.get("version"), meta.get("settings"), meta.get("data"))
        if meta.get("settings_hash", want) != want:
            raise ValueError(f"part {part!r}: settings_hash {meta['settings_hash']} is not the hash of its settings, "
                             f"version and data ({want})")
        arrays: dict[str, np.ndarray] = {}
        tree = encode(result, arrays)
        hashes = {k: array_hash(v) for k, v in arrays.items()}
        doc = {**{k: v for k, v in meta.items() if k not in NOT_CONTENT + ("result", "arrays", "format")},
               "settings_hash": want, "chapter": chapter, "part": part, "profile": profile, "format": FORMAT,
               "arrays": hashes, "result": tree}
        npz = path.with_suffix(".npz")
        text = (dumps(seal(doc)) + "\n").encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = None
        if arrays:
            buf = io.BytesIO()
            np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]  # numpy types **kwds as allow_pickle
        with FolderLock(path.parent):
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

    def lock(self, chapter: str, profile: str, part: str) -> PartLock | str:
        """Take the lock of a part about to be computed, ``<part>.s0.lock`` beside its record: a ``PartLock``
        (release it when the part is saved), or, when a live run holds it, a line naming that run and the lock file
        (``helpers.locks.take_lock``)."""
        return take_lock(self.path(chapter, profile, part).with_suffix(".lock"))


def other_data(data: dict) -> str:
    """Why a part computed on ``data`` does not stand for a run on this machine's data ("" when it does: the same
    datasets, or datasets this machine does not have)."""
    from . import data as _data

    for name, ident in sorted(data.items()):
        try:
            here = _data.identity(name)
        except ValueError:  # a dataset this package no longer knows, or HELPERS_DATA set empty: judged elsewhere
            continue
        if here is not None and here != ident:
            return f"computed on {ident}; this machine's {name} is {here}"
    return ""
