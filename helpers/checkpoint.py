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
nothing. A loop that restores everything its later steps read (parameters, optimiser and scheduler, the random
generator, its counters) resumes to the same numbers as an uninterrupted run; ``ch2.train.fit_sweep`` does, and a
test checks it.

``HELPERS_CHECKPOINT_S`` sets ``every_s`` (seconds; default 300; 0 saves at every opportunity).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import warnings
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

__all__ = ["Checkpoints", "active", "scope", "discard", "saved_s"]

_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def _every_s() -> float:
    value = os.environ.get("HELPERS_CHECKPOINT_S", "300")
    try:
        every = float(value)
    except ValueError:
        raise ValueError(f"HELPERS_CHECKPOINT_S must be a number of seconds, got {value!r}") from None
    if every < 0:
        raise ValueError(f"HELPERS_CHECKPOINT_S must be >= 0, got {value!r}")
    return every


class Checkpoints:
    """The checkpoints of one part's run, in ``folder`` (None: disabled).

    Args:
        folder: where the states go (created on the first save); None disables saving and loading.
        digest: the part's settings hash; a folder written under another hash is emptied, not resumed.
        every_s: least seconds between two saves of one key (``force`` overrides it); default
            ``HELPERS_CHECKPOINT_S`` or 300.
    """

    def __init__(self, folder: str | os.PathLike | None = None, digest: str = "", every_s: float | None = None):
        self.folder = Path(folder) if folder is not None else None
        self.digest = digest
        self.every_s = _every_s() if every_s is None else float(every_s)
        self._last: dict[str, float] = {}
        self._t0 = time.monotonic()
        self.resumed: list[str] = []  # the keys this run resumed
        self.earlier_s = 0.0  # compute time of earlier runs up to their last save (what this run did not redo)
        if self.folder is not None and self.folder.exists():
            tag = self._tag()
            held = json.loads(tag.read_text()) if tag.exists() else {}
            if held.get("settings_hash") != digest:
                self.clear()
            else:
                self.earlier_s = float(held.get("wall_s", 0.0))

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def _tag(self) -> Path:
        return self.folder / "state.json"

    def wall_s(self) -> float:
        """Compute time of this part so far: earlier runs up to their last save, and this run."""
        return self.earlier_s + time.monotonic() - self._t0

    def _path(self, key: str) -> Path:
        if not key or set(key) - _KEY_CHARS:
            raise ValueError(f"checkpoint key {key!r}: use lower-case letters, digits and . _ - only")
        return self.folder / f"{key}.pt"

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
        if not force and now - self._last.setdefault(key, now) < self.every_s:
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".pt.tmp")
            torch.save(state() if callable(state) else state, tmp)
            tmp.replace(path)
            tag = self._tag()
            tag.with_suffix(".tmp").write_text(json.dumps({"settings_hash": self.digest, "wall_s": self.wall_s()})
                                               + "\n")
            tag.with_suffix(".tmp").replace(tag)
        except OSError as err:  # a full disk or a folder a remote worker cannot write: go on without checkpoints
            warnings.warn(f"checkpoints off for this part: cannot write {self.folder} ({err})", RuntimeWarning)
            self.folder = None
            return False
        self._last[key] = now
        return True

    def clear(self) -> None:
        """Remove the folder and everything in it."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


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


def discard(folder: str | os.PathLike) -> None:
    """Remove a part's checkpoint folder (once the part is stored, its checkpoints are of no further use)."""
    shutil.rmtree(folder, ignore_errors=True)


def saved_s(folder: str | os.PathLike, digest: str) -> float | None:
    """The compute time a part's checkpoints hold (earlier runs up to their last save) when ``folder`` has
    checkpoints of settings hash ``digest``; else None."""
    tag = Path(folder) / "state.json"
    try:
        held = json.loads(tag.read_text())
    except (OSError, ValueError):
        return None
    return float(held.get("wall_s", 0.0)) if held.get("settings_hash") == digest else None
