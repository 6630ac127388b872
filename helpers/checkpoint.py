"""Checkpoints inside a part: a long training loop saves its state now and then, and the next run of the same part
resumes from it instead of starting again.

A part's computation is all or nothing for the store (``helpers.store``): a run killed after two hours of a
three-hour part (the end of a session, a GPU call's ten-minute limit) kept nothing. While ``run_part`` computes a
part it opens that part's checkpoint folder,

    <store>/<profile>/<chapter>/parts/<part>.s<seed>.ckpt/      (``Store.checkpoints``; git-ignored; removed once
                                                                 the part is stored)

tagged with the part's settings hash: a folder left by other settings is emptied first, never resumed. A loop
inside the part asks for ``active()`` and calls

    state = ckpt.load(key)          # None, or what the last save of ``key`` wrote
    ckpt.save(key, lambda: {...})   # at a point where it can resume; written at most every ``every_s`` seconds
    ckpt.save(key, ..., force=True) # the finished state, so that a later loop of the part can run without it

Outside a part (a notebook, a test) ``active()`` is a disabled ``Checkpoints``: ``load`` gives None and ``save`` does
nothing. A training loop does this through ``Resume`` (its resume point, the saves at its epoch ends, its compute
time). A loop that restores everything its later steps read (parameters, optimiser and scheduler, the random
generator, its counters) resumes to the same numbers as an uninterrupted run; ``fit``, ``fit_ensemble`` and
``ch2.train.fit_sweep`` do, and tests check it.

``HELPERS_CHECKPOINT_S`` sets ``every_s`` (seconds; default 300; 0 saves at every opportunity).

Checkpoints are git-ignored: they survive a killed process, not a new machine (a fresh clone, the next session).
What must survive those is kept as **pieces**: a part made of independent runs (chapter 3's seeds) keeps each
finished run's small result, not its network, in

    <store>/<profile>/<chapter>/parts/<part>.s<seed>.pieces/    (``Store.pieces``; committed like a part; removed
                                                                 once the part is stored)

    got = ckpt.piece(key)           # None, or what keep(key, ...) stored under these settings
    ckpt.keep(key, value)           # numbers, strings and arrays (``helpers.partfile.encode``), with date, commit and device

so a part of three two-hour seeds can be computed one seed a session. A piece written under other settings is
never used. The part's record names the pieces it reused (``meta["resumed"]["pieces"]``) and its ``wall_time_s``
counts their compute time.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time
import warnings
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from .data import _READ, note_read
from .environment import env_seconds
from .locks import atomic_write
from .partfile import IntegrityError, array_hash, decode, dumps, encode, read_npz
from .provenance import git_commit, now
from .store import other_data

__all__ = ["Checkpoints", "Resume", "active", "scope", "discard", "saved_s", "kept_pieces"]

_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def _every_s() -> float:
    return env_seconds("HELPERS_CHECKPOINT_S", 300.0)


class Checkpoints:
    """The checkpoints of one part's run, in ``folder`` (None: disabled).

    Args:
        folder: where the states go (created on the first save); None disables saving and loading.
        digest: the part's settings hash; a folder written under another hash is emptied, not resumed.
        every_s: least seconds between two saves of one key (``force`` overrides it); default
            ``HELPERS_CHECKPOINT_S`` or 300.
    """

    def __init__(self, folder: str | os.PathLike | None = None, digest: str = "", every_s: float | None = None,
                 pieces: str | os.PathLike | None = None, device: str = ""):
        self.folder = Path(folder) if folder is not None else None
        self.pieces = Path(pieces) if pieces is not None else None
        self.digest = digest
        self.device = device
        self.every_s = _every_s() if every_s is None else float(every_s)
        self._last: dict[str, float] = {}
        self._t0 = time.monotonic()
        self.resumed: list[str] = []  # the keys this run resumed
        self.reused: dict[str, dict] = {}  # the pieces this run reused: key -> {"date", "git_commit", "device"}
        self.earlier_s = 0.0  # compute time of earlier runs up to their last save (what this run did not redo)
        if self.folder is not None and self.folder.exists():
            held = _read_tag(self.folder / "state.json")
            if held.get("settings_hash") != digest:
                shutil.rmtree(self.folder, ignore_errors=True)
            else:
                self.earlier_s = float(held.get("wall_s", 0.0))
        if self.pieces is not None:  # both tags count from the part's first run: the later save is the larger
            held = _read_tag(self.pieces / "state.json")
            if held.get("settings_hash") == digest:
                self.earlier_s = max(self.earlier_s, float(held.get("wall_s", 0.0)))

    def wall_s(self) -> float:
        """Compute time of this part so far: earlier runs up to their last save, and this run."""
        return self.earlier_s + time.monotonic() - self._t0

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{_checked(key, 'checkpoint')}.pt"

    def load(self, key: str) -> Any | None:
        """What the last ``save(key, ...)`` of this part (with these settings) wrote, or None."""
        if self.folder is None:
            return None
        path = self._path(key)
        if not path.exists():
            return None
        state = torch.load(path, map_location="cpu", weights_only=False)
        self.resumed.append(key)
        self._last[key] = time.monotonic()
        return state

    def save(self, key: str, state: dict | Callable[[], dict], force: bool = False) -> bool:
        """Write ``state`` (or what ``state()`` returns: build it only when a save is due) under ``key``, atomically,
        if ``every_s`` seconds have passed since this key's last save or ``force``. Returns whether it wrote."""
        if self.folder is None:
            return False
        path = self._path(key)
        now = time.monotonic()
        # count from this key's last save, else from the part's start or its latest save of another key: a first
        # epoch longer than every_s is saved at its end (not one epoch later), and a new key does not save at once
        since = self._last.get(key, max([self._t0, *self._last.values()]))
        if not force and now - since < self.every_s:
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            torch.save(state() if callable(state) else state, buf)
            atomic_write(path, buf.getvalue())
            atomic_write(self.folder / "state.json",
                         (json.dumps({"settings_hash": self.digest, "wall_s": self.wall_s()}) + "\n").encode())
        except OSError as err:  # a full disk or a folder a remote worker cannot write: go on without checkpoints
            warnings.warn(f"checkpoints off for this part: cannot write {self.folder} ({err})", RuntimeWarning)
            self.folder = None
            return False
        self._last[key] = now
        return True

    def _piece_path(self, key: str) -> Path:
        assert self.pieces is not None
        return self.pieces / f"{_checked(key, 'piece')}.json"

    def piece(self, key: str) -> Any | None:
        """What ``keep(key, ...)`` stored under this part's settings (in this run or an earlier one, on any
        machine), or None: no pieces folder, no such piece, or one of other settings."""
        if self.pieces is None:
            return None
        path = self._piece_path(key)
        doc = _read_tag(path)
        if doc.get("settings_hash") != self.digest:
            return None
        if other_data(doc.get("data") or {}):
            return None  # computed on other data than this machine's: trained again
        arrays: Any = {}
        if doc.get("arrays"):
            npz = path.with_suffix(".npz")
            arrays = read_npz(npz, path)
            bad = [k for k, h in (doc.get("array_hashes") or {}).items()  # pieces kept before hashes: none
                   if k not in arrays or array_hash(arrays[k]) != h]
            if bad:
                raise IntegrityError(f"piece {path}: array {', '.join(bad)} of {npz.name} does not match its hash in "
                                     "the piece (edited, or paired with another run's npz); restore both files or "
                                     "delete them to train that piece again")
        self.reused[key] = {k: doc.get(k) for k in ("date", "git_commit", "device")}
        note_read(doc.get("data") or {})
        return decode(doc["value"], arrays)

    def keep(self, key: str, value: Any) -> bool:
        """Store ``value`` (numbers, strings, arrays: ``helpers.partfile.encode``) as the piece ``key``, with the settings hash,
        date, commit and device, and the part's compute time so far; returns whether it wrote (False: no pieces
        folder, or it cannot be written, which turns pieces off with a warning)."""
        if self.pieces is None:
            return False
        path = self._piece_path(key)
        arrays: dict = {}
        seen = _READ.get()
        doc = {"settings_hash": self.digest, "key": key, "date": now(), "git_commit": git_commit(),
               "device": self.device, "part_wall_s": round(self.wall_s(), 3),
               "value": encode(value, arrays, f"piece {key!r}"), "data": dict(sorted((seen or {}).items()))}
        doc["arrays"] = sorted(arrays)
        doc["array_hashes"] = {k: array_hash(v) for k, v in sorted(arrays.items())}
        try:
            self.pieces.mkdir(parents=True, exist_ok=True)
            if arrays:
                buf = io.BytesIO()
                np.savez_compressed(buf, **arrays)
                atomic_write(path.with_suffix(".npz"), buf.getvalue())
            atomic_write(path, (dumps(doc) + "\n").encode())
            tag = self.pieces / "state.json"  # pieces of other settings may stay beside; piece() never reads them
            atomic_write(tag, (json.dumps({"settings_hash": self.digest, "wall_s": round(self.wall_s(), 3)})
                               + "\n").encode())
        except OSError as err:
            warnings.warn(f"pieces off for this part: cannot write {self.pieces} ({err})", RuntimeWarning)
            self.pieces = None
            return False
        return True


def _checked(key: str, what: str) -> str:
    if not key or set(key) - _KEY_CHARS:
        raise ValueError(f"{what} key {key!r}: use lower-case letters, digits and . _ - only")
    return key


def _read_tag(path: Path) -> dict:
    """A small JSON file as a dict; {} when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


_ACTIVE: ContextVar[Checkpoints | None] = ContextVar("helpers_checkpoints", default=None)


def active() -> Checkpoints:
    """The checkpoints of the part being computed; a disabled ``Checkpoints`` outside one."""
    return _ACTIVE.get() or Checkpoints(None)


@contextlib.contextmanager
def scope(checkpoints: Checkpoints) -> Iterator[Checkpoints]:
    """Make ``checkpoints`` the ``active()`` ones inside the block."""
    token = _ACTIVE.set(checkpoints)
    try:
        yield checkpoints
    finally:
        _ACTIVE.reset(token)


class Resume:
    """The checkpoint of one training loop of a part: where it resumes, and its saves at epoch ends.

    The one resume block of ``helpers.training.fit``, ``fit_ensemble`` and chapter 2's ``fit_sweep``::

        resume = Resume(checkpoint_key, epochs, t0)   # t0: the loop's perf_counter() start
        if resume.state is not None:                  # the last save of an earlier run: restore from it
            model.load_state_dict(resume.state["model"])
            resume.restore_optimiser(opt, sched, device)
        for epoch in range(resume.epoch, epochs):
            ...
            resume.save(epoch, lambda: {"model": model.state_dict(), **resume.optimiser_state(opt, sched, device)})
        return ..., resume.wall_s()

    A save holds what the loop's ``state()`` returns plus ``"epoch"`` (the epochs done) and ``"wall_s"`` (the
    loop's compute time, earlier runs included); it is written at most every ``HELPERS_CHECKPOINT_S`` seconds and
    always after the last epoch (``Checkpoints.save``), so a finished loop is not trained again. Outside a part, or
    with ``key`` None, nothing is loaded or saved.
    """

    def __init__(self, key: str | None, epochs: int, t0: float | None = None):
        self.key, self.epochs = key, epochs
        self._t0 = time.perf_counter() if t0 is None else t0
        self._checkpoints = active()
        #: The last save of this loop (a dict), or None: start from epoch 0.
        self.state: dict | None = self._checkpoints.load(key) if key else None
        self.epoch: int = self.state["epoch"] if self.state is not None else 0
        self.earlier_s: float = self.state["wall_s"] if self.state is not None else 0.0

    def wall_s(self) -> float:
        """The loop's compute time so far: earlier runs up to their last save, and this run."""
        return self.earlier_s + time.perf_counter() - self._t0

    def save(self, epoch: int, state: Callable[[], dict]) -> bool:
        """At the end of ``epoch`` (counted from 0), save ``state()`` with ``epoch + 1`` and ``wall_s`` when due;
        returns whether it wrote."""
        if not self.key:
            return False
        return self._checkpoints.save(self.key, lambda: {**state(), "epoch": epoch + 1, "wall_s": self.wall_s()},
                                      force=epoch + 1 == self.epochs)

    @staticmethod
    def optimiser_state(opt: torch.optim.Optimizer, sched: Any = None, device: torch.device | None = None) -> dict:
        """``"opt"``, ``"sched"`` (None without a schedule) and torch's random state ``"torch_rng"``; with
        ``device``, also ``"cuda_rng"`` (None off CUDA)."""
        out = {"opt": opt.state_dict(), "sched": sched.state_dict() if sched is not None else None,
               "torch_rng": torch.get_rng_state()}
        if device is not None:
            out["cuda_rng"] = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
        return out

    def restore_optimiser(self, opt: torch.optim.Optimizer, sched: Any = None,
                          device: torch.device | None = None) -> None:
        """Restore what ``optimiser_state`` saved into ``opt``, ``sched`` and torch's random state (CUDA's too,
        on CUDA with ``device``)."""
        state = self.state
        if state is None:
            return
        opt.load_state_dict(state["opt"])
        if sched is not None:
            sched.load_state_dict(state["sched"])
        torch.set_rng_state(state["torch_rng"])
        if device is not None and device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], device)


def discard(*folders: str | os.PathLike) -> None:
    """Remove a part's checkpoint and pieces folders (once the part is stored, they are of no further use)."""
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def saved_s(folder: str | os.PathLike, digest: str) -> float | None:
    """The compute time a part's checkpoints (or pieces) hold (earlier runs up to their last save) when ``folder``
    has them with settings hash ``digest``; else None."""
    held = _read_tag(Path(folder) / "state.json")
    return float(held.get("wall_s", 0.0)) if held and held.get("settings_hash") == digest else None


def kept_pieces(folder: str | os.PathLike, digest: str) -> list[str]:
    """The keys of the pieces in ``folder`` stored with settings hash ``digest`` (sorted)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json")
                  if p.name != "state.json" and _read_tag(p).get("settings_hash") == digest)
