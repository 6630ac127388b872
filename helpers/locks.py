"""How runs share a store: atomic writes, folder locks while files are renamed, and the lock of a part being computed.

Saves are atomic and locked: a file is written to a temporary file with a name unique to the process and renamed
into place (``atomic_write``), under an exclusive ``flock`` on the folder (``FolderLock``); a read holds a shared
``flock`` on it, so a reader sees the old part or the new one, never a mix.

While a run computes a part it holds ``<part>.s<seed>.lock`` beside the record (``take_lock``, via
``Store.lock``; git-ignored): a second run of the same chapter, on the same store, takes its other parts first and
waits for that one, instead of computing it twice. The lock records host, pid, the process's start time and the
time it was taken. A lock whose process is gone, or whose pid now belongs to another process (same host), is
stale and taken over; a lock of another host is waited on for at most ``lock_wait_s()`` seconds
(``HELPERS_LOCK_WAIT_S``), then the run stops with a message naming the lock file and its holder.
"""
from __future__ import annotations

import atexit
import datetime as _dt
import fcntl
import json
import os
import platform
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .environment import env_seconds

__all__ = ["LOCK_MAX_AGE_S", "lock_wait_s", "atomic_write", "FolderLock", "PartLock", "take_lock",
           "release_all_locks", "release_on_sigterm"]

#: A lock from another host older than this is taken to be stale (seconds).
LOCK_MAX_AGE_S = 12 * 3600


def lock_wait_s() -> float:
    """Longest a run waits for a part another run holds (``HELPERS_LOCK_WAIT_S``, seconds; default 3600)."""
    return env_seconds("HELPERS_LOCK_WAIT_S", 3600.0)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file unique to this process and call (renamed into place)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic for every reader; not a guard against a power cut (no fsync: too slow here)
    finally:
        tmp.unlink(missing_ok=True)


class FolderLock:
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


_HELD: set = set()


@dataclass(eq=False)
class PartLock:
    """A held part lock (``take_lock``); ``release`` removes its file (only while it is still this lock's)."""

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


def take_lock(path: Path) -> PartLock | str:
    """Take the lock file ``path`` of a part about to be computed: a ``PartLock`` (release it when the part is
    saved), or, when a live run holds it, a line naming that run and the lock file. A stale lock (module docstring)
    is taken over."""
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
            if _lock_holder_alive(holder):  # "pid 12 on host since 2026-12-07 18:00:00 UTC (lock file ...)"
                since = _dt.datetime.fromtimestamp(float(holder.get("since", 0)), _dt.timezone.utc)
                return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since "
                        f"{since:%Y-%m-%d %H:%M:%S} UTC (lock file {path})")
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
