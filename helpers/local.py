"""Computing a chapter's parts in this process: one after another, each under its store lock, with a progress
line now and then and a time limit.

A part another live run holds is put back at the end of the queue (said once); once nothing else is left, this run
waits for it and takes it from the store. A part stored meanwhile by another run (a second process, a GPU call) is
taken from the store, not computed again. Each result is saved as soon as it is done, so a killed run started again
computes only what is missing (and resumes its checkpoints, ``helpers.checkpoint``).
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import Any, Callable

import torch

from . import checkpoint
from .environment import env_seconds
from .evidence import fmt_seconds
from .locks import lock_wait_s
from .lookup import PartStatus
from .parts import run_part
from .store import Store, StoredPart, is_skip

__all__ = ["LOCK_POLL_S", "PART_TIMEOUT_S", "part_timeout_s", "heartbeat_s", "save_part", "compute_here", "say"]


def say(progress: Callable[[str], None] | None, text: str) -> None:
    """``progress(text)``, unless ``progress`` is None."""
    if progress is not None:
        progress(text)


def stored_meanwhile(module, profile: str, st: PartStatus, store: Store) -> bool:
    """Whether another run (a second process, a GPU call) stored this part since this run looked; then it is
    taken from the store, not computed again (so several runs of one chapter share the work)."""
    digest = st.part.digest(module.STEM, module.SETTINGS[profile])
    hit = store.load(module.STEM, profile, st.part.name, digest)
    if hit is not None and not hit.skipped:
        st.stored, st.store, st.note = hit, store, "stored meanwhile by another run"
    return hit is not None and not hit.skipped


def save_part(module, profile: str, st: PartStatus, store: Store, result: Any, meta: dict, force: bool) -> bool:
    """Store a computed part (False, storing nothing, for a skip: ``st`` then holds the skip for this run only)."""
    if is_skip(result):
        st.stored, st.store = StoredPart(result, {**meta, "skipped": result["skipped"]}), None
        st.note = f"skipped: {result['skipped']}; nothing stored"
        return False
    if not force and store.protected and stored_meanwhile(module, profile, st, store):
        return True  # committed evidence with these settings appeared while this part ran: keep the first
    store.save(module.STEM, profile, st.part.name, result, meta, force=force)
    digest = st.part.digest(module.STEM, module.SETTINGS[profile])
    st.stored, st.store = store.load(module.STEM, profile, st.part.name, digest), store
    st.note = ""
    return True


#: Seconds between looks at a part another run is computing, once every part left is such a part.
LOCK_POLL_S = 10.0
#: Longest one part may compute in this process, by profile (seconds; None: no limit); ``HELPERS_PART_TIMEOUT_S``
#: (0: none) or ``--part-timeout`` overrides it. A part stopped by it keeps its checkpoints and pieces.
PART_TIMEOUT_S = {"quick": 3600, "standard": None, "steps": None, "paper": None}


def part_timeout_s(profile: str) -> float | None:
    """The time limit of one part of ``profile``: ``HELPERS_PART_TIMEOUT_S`` when set (0: none), else
    ``PART_TIMEOUT_S``."""
    limit = env_seconds("HELPERS_PART_TIMEOUT_S", None)
    return PART_TIMEOUT_S.get(profile) if limit is None else limit or None


def heartbeat_s() -> float:
    """Seconds between the progress lines of a part being computed (``HELPERS_HEARTBEAT_S``, default 60; 0: none)."""
    return env_seconds("HELPERS_HEARTBEAT_S", 60.0)


def _bars() -> str:
    """What the live progress bars of this process say: ``"fit 12/40 epochs, 3.1 s/it, ETA 1m 14s"``."""
    try:
        from tqdm import tqdm
        bars = list(getattr(tqdm, "_instances", []))
    except Exception:  # tqdm absent, or its set changing this instant
        return ""
    out = []
    for b in bars:
        n, total, rate = b.n, b.total, b.format_dict.get("rate")
        text = f"{b.desc or 'loop'} {n}/{total or '?'}"
        if rate:
            text += f", {1 / rate:.3g} s/it" if rate < 1 else f", {rate:.3g} it/s"
            if total:
                text += f", ETA {fmt_seconds((total - n) / rate)}"
        out.append(text)
    return "; ".join(out)


@contextlib.contextmanager
def _watch(name: str, progress, every_s: float, limit_s: float | None):
    """While a part computes: a progress line every ``every_s`` seconds (time so far and what its progress bars
    say), and a ``TimeoutError`` naming it after ``limit_s`` seconds (main thread only: ``SIGALRM``)."""
    stop, t0 = threading.Event(), time.perf_counter()

    def beat():
        while not stop.wait(every_s):
            bars = _bars()
            say(progress, f"[helpers]   {name}: computing for {fmt_seconds(time.perf_counter() - t0)}"
                          + (f" ({bars})" if bars else ""))
    thread = threading.Thread(target=beat, daemon=True) if every_s > 0 and progress is not None else None
    if thread is not None:
        thread.start()
    alarm = limit_s is not None and threading.current_thread() is threading.main_thread()
    if alarm and limit_s is not None:
        def expired(signum, frame):
            raise TimeoutError(f"part {name!r} ran past its time limit of {fmt_seconds(limit_s)} "
                               "(--part-timeout / HELPERS_PART_TIMEOUT_S); its checkpoints and pieces are kept, a new "
                               "run resumes from them")
        before = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, before)
        stop.set()


def compute_here(module, profile: str, todo: list[PartStatus], store: Store, device: torch.device,
                 threads: int | None, force: bool, progress) -> None:
    """Compute ``todo`` in order, each under its store lock; a part another live run holds is put back at the end
    of the queue (said once), and once nothing else is left this run waits for it and takes it from the store."""
    t_all, n = time.perf_counter(), len(todo)
    pending, told, done = list(todo), {}, 0
    wait = lock_wait_s()
    while pending:
        st = pending.pop(0)
        lock = store.lock(module.STEM, profile, st.part.name)
        if isinstance(lock, str):
            if st.part.name not in told:
                told[st.part.name] = time.monotonic()
                say(progress, f"[helpers]   {st.part.name}: being computed by another run ({lock}); "
                              + ("the other parts first" if pending else f"waiting for it (at most {wait:g} s)"))
            elif time.monotonic() - told[st.part.name] > wait:
                raise RuntimeError(f"part {st.part.name!r} of {module.STEM} is held by {lock} for more than {wait:g} s "
                                   "(HELPERS_LOCK_WAIT_S); if that run is gone, delete the lock file and run again")
            pending.append(st)
            if all(p.part.name in told for p in pending):
                time.sleep(min(LOCK_POLL_S, max(wait / 10, 0.05)))
            continue
        try:  # a part another run stored since this run looked is taken from the store
            done += 1
            if (st.stored is None or st.stored.skipped) and stored_meanwhile(module, profile, st, store):
                say(progress, f"[helpers]   [{done}/{n}] {st.part.name}: stored meanwhile by another run")
                continue
            say(progress, f"[helpers]   [{done}/{n}] {st.part.name}: computing on {device} ...")
            ckpt = store.checkpoints(module.STEM, profile, st.part.name)
            pieces = store.pieces(module.STEM, profile, st.part.name)
            with _watch(st.part.name, progress, heartbeat_s(), part_timeout_s(profile)):
                result, meta = run_part(module.STEM, profile, st.part, module.SETTINGS[profile], device, threads,
                                        checkpoints=ckpt, pieces=pieces)
            if not save_part(module, profile, st, store, result, meta, force):
                say(progress, f"[helpers]   [{done}/{n}] {st.part.name}: {st.note}")
                continue
            checkpoint.discard(ckpt, pieces)
        finally:
            lock.release()
        resumed = (f", resumed from a checkpoint after {fmt_seconds(meta['resumed']['earlier_runs_s'])} of earlier runs"
                   if "resumed" in meta else "")
        say(progress, f"[helpers]   [{done}/{n}] {st.part.name}: done in {fmt_seconds(meta['wall_time_s'])}{resumed} "
                      f"(all so far {fmt_seconds(time.perf_counter() - t_all)})")
