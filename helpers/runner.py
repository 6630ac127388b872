"""Load-or-compute a chapter's parts, in this process or as Ray tasks, and the evidence a page renders.

    profile settings --> part (compute) --> store: <store>/<profile>/<chapter>/parts/
                                                 |
               page: evidence(chapter, profile) --> views, claims --> HTML

A chapter package (``helpers.experiments.chN``) provides ``STEM`` (its notebook's stem), ``SETTINGS``
(``{profile: settings}``) and ``PARTS(settings) -> list[Part]``. ``compute`` finds each part in the stores
(the writable one first, then the committed ``results/``) and computes only what none of them holds, saving
each result as soon as it is done, so a killed run started again computes only what is missing.
``evidence`` does the same inside a page and returns an ``Evidence`` (``helpers.evidence``): the results by part
name plus where they came from. With ``cluster="ray"`` (a local Ray) or ``"ray://HOST:PORT"`` (an existing cluster) every
missing part is a Ray task with the resources it declared; without it Ray is not imported.

Profiles: ``quick``, ``standard``, ``paper``, ``auto`` (standard with CUDA, quick without) and ``best``: the
best profile (paper, then standard, then quick) whose parts are all stored, else ``auto``.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from . import checkpoint
from .cluster import check_cluster, compute_on_ray
from .evidence import Evidence, fmt_seconds
from .parts import Part, check_parts, run_part
from .profiles import PROFILES, resolve
from .store import (Store, StoredPart, committed_store, default_store, describe_lock, is_skip, lock_wait_s,
                    open_store)

__all__ = ["PROFILE_CHOICES", "chapter_module", "chapter_parts", "stores", "find_stored", "resolve_profile",
           "compute", "evidence", "stored_so_far", "Evidence", "PartStatus", "Run"]

PROFILE_CHOICES = (*PROFILES, "auto", "best")
_BEST_ORDER = ("paper", "steps", "standard", "quick")


# --------------------------------------------------------------------------- chapters and their parts
def chapter_module(chapter: str | types.ModuleType) -> types.ModuleType:
    """A chapter package: the module itself, or a chapter key / stem (``"1"``, ``"ch1"``, ``"01_genuine_invariance"``).

    Raises:
        ValueError: an unknown chapter, or a module that does not provide ``STEM``, ``SETTINGS`` and ``PARTS``.
    """
    if isinstance(chapter, str):
        from .chapters import get_chapter
        chapter = importlib.import_module(get_chapter(chapter).module)
    missing = [a for a in ("STEM", "SETTINGS", "PARTS") if not hasattr(chapter, a)]
    if missing:
        raise ValueError(f"{getattr(chapter, '__name__', chapter)!r} is not a chapter package (lacks {missing})")
    return chapter


def chapter_parts(module: types.ModuleType, settings: Any, names: Sequence[str] | None = None) -> list[Part]:
    """The parts of a chapter for ``settings``; only ``names`` when given.

    Raises:
        ValueError: a name the chapter does not have in this profile, listing the valid ones.
    """
    parts = check_parts(module.PARTS(settings))
    if names:
        have = {p.name: p for p in parts}
        unknown = [n for n in names if n not in have]
        if unknown:
            raise ValueError(f"chapter {module.STEM} has no part {', '.join(map(repr, unknown))} in this profile; "
                             f"valid: {list(have)}")
        parts = [have[n] for n in dict.fromkeys(names)]
    return parts


def stores(store: str | os.PathLike | Store | None = None, committed: bool | None = None) -> list[Store]:
    """The stores a run reads, writable one first: ``store`` (default ``helpers.store.default_store()``), then the
    committed ``results/`` of the checkout when that is another folder. ``store="results"``, the committed folder
    however spelled (``HELPERS_STORE`` too, and with ``committed=False``) or a folder inside it writes into
    committed evidence: that store is protected (nothing there is replaced without ``force``).

    Args:
        committed: read the committed store too; default: yes, unless ``HELPERS_IGNORE_COMMITTED=1`` (a run that
            must compute everything anew, e.g. the tests, or ``--ignore-committed``).
    """
    if committed is None:
        committed = os.environ.get("HELPERS_IGNORE_COMMITTED", "") in ("", "0")
    committed = committed_store() if committed else None
    if isinstance(store, Store):
        first = store if store.protected else open_store(store.root)
    elif store in (None, ""):
        first = default_store()
    else:
        first = open_store(store)
    if committed is not None and first.protected and first.root.resolve() == committed.root.resolve():
        first = committed
    out = [first]
    if committed is not None and committed.root.resolve() != first.root.resolve():
        out.append(committed)
    return out


@dataclass
class PartStatus:
    """A part of a run: where it is stored, or why it must be computed."""

    part: Part
    stored: StoredPart | None = None
    store: Store | None = None
    note: str = ""


@dataclass
class Run:
    """What ``compute`` did: the profile it resolved (and why), and every selected part's status."""

    chapter: str
    profile: str
    note: str
    parts: list[PartStatus]
    computed: list[str] = field(default_factory=list)


def find_stored(module: types.ModuleType, profile: str, seed: int, parts: Sequence[Part],
                where: Sequence[Store]) -> list[PartStatus]:
    """For each part, the first store that holds it with this profile's settings hash (``stored`` None if none)."""
    settings = module.SETTINGS[profile]
    out = []
    for p in parts:
        digest = p.digest(module.STEM, settings, seed)
        status = PartStatus(p)
        for st in where:
            hit = st.load(module.STEM, profile, p.name, seed, digest)
            if hit is not None and (status.stored is None or status.stored.skipped):
                status.stored, status.store = hit, st
                if not hit.skipped:
                    break  # a record of a skip never hides a result of a later store
        if status.stored is not None and status.stored.skipped:
            status.note = f"not run: {status.stored.result['skipped']}"
        if status.stored is None:
            stale = [why for st in where for path, why in st.stale.items() if path.name.startswith(f"{p.name}.s")]
            status.note = f"stored with other settings ({stale[0]})" if stale else "not stored"
            saved = [t for st in where
                     if (t := checkpoint.saved_s(st.checkpoints(module.STEM, profile, p.name, seed), digest)) is not None]
            kept = [(t, len(checkpoint.kept_pieces(folder, digest))) for st in where
                    if (t := checkpoint.saved_s(folder := st.pieces(module.STEM, profile, p.name, seed), digest))
                    is not None]
            if saved:
                status.note += f"; its checkpoints hold {fmt_seconds(max(saved))} of compute, a run resumes from them"
            elif kept:
                t, n_pieces = max(kept)
                status.note += (f"; {n_pieces} finished piece{'s' if n_pieces != 1 else ''} stored "
                                f"({fmt_seconds(t)} of compute), a run goes on from them")
        out.append(status)
    return out


def resolve_profile(module: types.ModuleType, profile: str, seed: int = 0, where: Sequence[Store] | None = None,
                    device: str | torch.device | None = None) -> tuple[str, str]:
    """The profile a run uses, and a note on how it was chosen.

    ``best``: paper, steps, standard or quick, the first whose parts (but the optional ones, ``Part.optional``) are
    all stored in ``where``; otherwise what
    ``auto`` gives (standard with CUDA, quick without), with a note on what was missing.

    Raises:
        ValueError: an unknown profile name, listing the valid ones; a profile the chapter has no settings for.
    """
    if not isinstance(profile, str) or profile.lower() not in PROFILE_CHOICES:
        raise ValueError(f"unknown profile {profile!r}; valid: {list(PROFILE_CHOICES)}")
    profile = profile.lower()
    if profile != "best":
        name = resolve(profile, device).name
        if name not in module.SETTINGS:
            raise ValueError(f"chapter {module.STEM} has no settings for profile {name!r}; defined: "
                             f"{sorted(module.SETTINGS)}")
        return name, ""
    where = list(where) if where is not None else stores()
    counts = []
    for name in _BEST_ORDER:
        if name not in module.SETTINGS:
            continue
        found = [s for s in find_stored(module, name, seed, chapter_parts(module, module.SETTINGS[name]), where)
                 if s.stored is not None or not s.part.optional]  # an optional part may never be stored (a skip)
        have = sum(s.stored is not None for s in found)
        if have == len(found):
            above = f" (not yet {'; '.join(counts)})" if counts else ""
            return name, f"every part of the {name} profile is stored{above}"
        counts.append(f"{name}: {have} of {len(found)} parts stored")
    fallback = resolve("auto", device).name
    return fallback, (f"no profile has every part stored ({'; '.join(counts)}); falling back to {fallback}, "
                      "computed where it is missing")


# --------------------------------------------------------------------------- computing
def _say(progress: Callable[[str], None] | None, text: str) -> None:
    if progress is not None:
        progress(text)


def compute(module: str | types.ModuleType, profile: str = "best", seed: int = 0, names: Sequence[str] | None = None,
            store: str | os.PathLike | Store | None = None, cluster: str | None = None, force: bool = False,
            recompute: bool = False, device: str | torch.device | None = None, threads: int | None = None,
            progress: Callable[[str], None] | None = print, settings: Any = None, committed: bool | None = None) -> Run:
    """Compute the parts of one chapter that no store holds, saving each into the writable store.

    Args:
        module: a chapter package or key.
        profile: see the module docstring (``best`` is resolved first).
        names: only these parts (default: all of the profile).
        store: the writable store (see ``stores``); ``"results"`` writes committed evidence.
        cluster: None (this process), ``"ray"`` (start a local Ray) or ``"ray://HOST:PORT"`` (an existing cluster).
        force: allow replacing parts in the protected (committed) store.
        recompute: compute the selected parts even where they are stored.
        device: override the profile's device (default: CUDA when available).
        threads: torch's thread count for in-process parts (Ray tasks use their declared ``cpus``).
        progress: called with one line per event (default ``print``); None for silence.
        settings: override the profile's settings (tests); stored under the profile's name with their own hash.
        committed: read the committed ``results/`` too (``stores``).
    Returns:
        A ``Run``: the resolved profile and the status of every selected part (``stored`` set for each).
    """
    module = chapter_module(module)
    check_cluster(cluster)
    check_arguments(threads=threads, seed=seed)
    lock_wait_s(), heartbeat_s()  # a bad HELPERS_LOCK_WAIT_S / HELPERS_HEARTBEAT_S is named before anything runs
    where = stores(store, committed)
    name, note = resolve_profile(module, profile, seed, where, device)
    if settings is not None:
        module = _with_settings(module, name, settings)
    dev = resolve(name, device).device
    part_timeout_s(name)
    parts = chapter_parts(module, module.SETTINGS[name], names)
    status = find_stored(module, name, seed, parts, where)
    todo = [s for s in status if recompute or s.stored is None]
    _say(progress, f"[helpers] {module.STEM}: profile {name} on {dev}"
                   + (f" ({note})" if note else "") + f"; {len(parts)} parts, {len(parts) - len(todo)} stored, "
                   f"{len(todo)} to compute" + (f" on {cluster}" if cluster and todo else ""))
    run = Run(module.STEM, name, note, status, [s.part.name for s in todo])
    if not todo:
        return run
    if where[0].protected and not force:
        clash = [s.part.name for s in todo if where[0].path(module.STEM, name, s.part.name, seed).exists()]
        if clash:
            raise FileExistsError(f"parts {clash} of {module.STEM} are committed in {where[0].root} with other "
                                  "settings (or --recompute was asked); pass --force to replace them")
    if cluster:
        held = compute_on_ray(module, name, seed, todo, where[0], cluster,
                              save=lambda st, result, meta: _save(module, name, seed, st, where[0], result, meta,
                                                                  force),
                              say=lambda text: _say(progress, text))
        if held:  # parts another run holds: wait for them as a local run does (computed here if that run dies)
            _compute_here(module, name, seed, held, where[0], dev, threads, force, progress)
    else:
        _compute_here(module, name, seed, todo, where[0], dev, threads, force, progress)
    return run


def check_arguments(threads: int | None = None, seed: int = 0, cell_timeout: int | None = None,
                    lock_wait: float | None = None) -> None:
    """Check a run's numeric arguments before anything starts.

    Raises:
        ValueError: naming the bad value (threads < 1, a negative seed, a time limit <= 0).
    """
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise ValueError(f"threads must be a whole number >= 1, got {threads!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if cell_timeout is not None and cell_timeout <= 0:
        raise ValueError(f"cell timeout must be > 0 seconds, got {cell_timeout!r}")
    if lock_wait is not None and lock_wait < 0:
        raise ValueError(f"lock wait must be >= 0 seconds, got {lock_wait!r}")


def _stored_meanwhile(module, profile: str, seed: int, st: PartStatus, store: Store) -> bool:
    """Whether another run (a second process, a GPU call) stored this part since this run looked; then it is
    taken from the store, not computed again (so several runs of one chapter share the work)."""
    digest = st.part.digest(module.STEM, module.SETTINGS[profile], seed)
    hit = store.load(module.STEM, profile, st.part.name, seed, digest)
    if hit is not None and not hit.skipped:
        st.stored, st.store, st.note = hit, store, "stored meanwhile by another run"
    return hit is not None and not hit.skipped


def _save(module, profile: str, seed: int, st: PartStatus, store: Store, result: Any, meta: dict,
          force: bool) -> bool:
    """Store a computed part (False, storing nothing, for a skip: ``st`` then holds the skip for this run only)."""
    if is_skip(result):
        st.stored, st.store = StoredPart(result, {**meta, "skipped": result["skipped"]}), None
        st.note = f"skipped: {result['skipped']}; nothing stored"
        return False
    if not force and store.protected and _stored_meanwhile(module, profile, seed, st, store):
        return True  # committed evidence with these settings appeared while this part ran: keep the first
    store.save(module.STEM, profile, st.part.name, seed, result, meta, force=force)
    digest = st.part.digest(module.STEM, module.SETTINGS[profile], seed)
    st.stored, st.store = store.load(module.STEM, profile, st.part.name, seed, digest), store
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
    value = os.environ.get("HELPERS_PART_TIMEOUT_S")
    if value is None:
        return PART_TIMEOUT_S.get(profile)
    try:
        limit = float(value)
    except ValueError:
        raise ValueError(f"HELPERS_PART_TIMEOUT_S must be a number of seconds, got {value!r}") from None
    if limit < 0:
        raise ValueError(f"HELPERS_PART_TIMEOUT_S must be >= 0, got {value!r}")
    return limit or None


def heartbeat_s() -> float:
    """Seconds between the progress lines of a part being computed (``HELPERS_HEARTBEAT_S``, default 60; 0: none)."""
    value = os.environ.get("HELPERS_HEARTBEAT_S", "60")
    try:
        return max(float(value), 0.0)
    except ValueError:
        raise ValueError(f"HELPERS_HEARTBEAT_S must be a number of seconds, got {value!r}") from None


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
            _say(progress, f"[helpers]   {name}: computing for {fmt_seconds(time.perf_counter() - t0)}"
                           + (f" ({bars})" if bars else ""))
    thread = threading.Thread(target=beat, daemon=True) if every_s > 0 and progress is not None else None
    if thread is not None:
        thread.start()
    alarm = limit_s is not None and threading.current_thread() is threading.main_thread()
    if alarm:
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


def _compute_here(module, profile: str, seed: int, todo: list[PartStatus], store: Store, device: torch.device,
                  threads: int | None, force: bool, progress) -> None:
    """Compute ``todo`` in order, each under its store lock; a part another live run holds is put back at the end
    of the queue (said once), and once nothing else is left this run waits for it and takes it from the store."""
    t_all, n = time.perf_counter(), len(todo)
    pending, told, done = list(todo), {}, 0
    wait = lock_wait_s()
    while pending:
        st = pending.pop(0)
        if (st.stored is None or st.stored.skipped) and _stored_meanwhile(module, profile, seed, st, store):
            done += 1
            _say(progress, f"[helpers]   [{done}/{n}] {st.part.name}: stored meanwhile by another run")
            continue
        lock = store.lock(module.STEM, profile, st.part.name, seed)
        if isinstance(lock, str):
            if st.part.name not in told:
                told[st.part.name] = time.monotonic()
                _say(progress, f"[helpers]   {st.part.name}: being computed by another run ({lock}); "
                               + ("the other parts first" if pending else f"waiting for it (at most {wait:g} s)"))
            elif time.monotonic() - told[st.part.name] > wait:
                raise RuntimeError(f"part {st.part.name!r} of {module.STEM} is held by {lock} for more than {wait:g} s "
                                   "(HELPERS_LOCK_WAIT_S); if that run is gone, delete the lock file and run again")
            pending.append(st)
            if all(p.part.name in told for p in pending):
                time.sleep(min(LOCK_POLL_S, max(wait / 10, 0.05)))
            continue
        try:
            if (st.stored is None or st.stored.skipped) and _stored_meanwhile(module, profile, seed, st, store):
                done += 1
                _say(progress, f"[helpers]   [{done}/{n}] {st.part.name}: stored meanwhile by another run")
                continue
            done += 1
            _say(progress, f"[helpers]   [{done}/{n}] {st.part.name}: computing on {device} ...")
            ckpt = store.checkpoints(module.STEM, profile, st.part.name, seed)
            pieces = store.pieces(module.STEM, profile, st.part.name, seed)
            with _watch(st.part.name, progress, heartbeat_s(), part_timeout_s(profile)):
                result, meta = run_part(module.STEM, profile, st.part, module.SETTINGS[profile], seed, device,
                                        threads, checkpoints=ckpt, pieces=pieces)
            if not _save(module, profile, seed, st, store, result, meta, force):
                _say(progress, f"[helpers]   [{done}/{n}] {st.part.name}: {st.note}")
                continue
            checkpoint.discard(ckpt)
            checkpoint.discard(pieces)
        finally:
            lock.release()
        resumed = (f", resumed from a checkpoint after {fmt_seconds(meta['resumed']['earlier_runs_s'])} of earlier runs"
                   if "resumed" in meta else "")
        _say(progress, f"[helpers]   [{done}/{n}] {st.part.name}: done in {fmt_seconds(meta['wall_time_s'])}{resumed} "
                       f"(all so far {fmt_seconds(time.perf_counter() - t_all)})")


def _with_settings(module: types.ModuleType, profile: str, settings: Any) -> types.ModuleType:
    """A stand-in for ``module`` whose ``SETTINGS[profile]`` is ``settings`` (tests run reduced settings)."""
    clone = types.ModuleType(module.__name__)
    clone.__dict__.update(module.__dict__)
    clone.SETTINGS = {**module.SETTINGS, profile: settings}
    return clone


def evidence(module: str | types.ModuleType, profile: str = "best", seed: int = 0,
             store: str | os.PathLike | Store | None = None, device: str | torch.device | None = None,
             progress: Callable[[str], None] | None = print, settings: Any = None,
             committed: bool | None = None) -> Evidence:
    """Every part of a chapter in ``profile``: loaded where stored, computed (in this process) where not.

    The one call a page makes; with every part stored it reads files and trains nothing. Arguments as
    ``compute``'s.
    """
    module = chapter_module(module)
    run = compute(module, profile, seed, store=store, device=device, progress=_quiet_when_stored(progress),
                  settings=settings, committed=committed)
    ev = Evidence(module.STEM, run.profile, seed, profile, run.note,
                  settings=settings if settings is not None else module.SETTINGS[run.profile])
    for st in run.parts:
        ev.results[st.part.name] = st.stored.result
        ev.meta[st.part.name] = st.stored.meta
        ev.where[st.part.name] = ("skipped" if st.store is None else "committed" if st.store.protected
                                  else "local")
    return ev


def stored_so_far(module: str | types.ModuleType, profile: str, seed: int = 0,
                  store: str | os.PathLike | Store | None = None, committed: bool | None = None) -> Evidence:
    """The parts of ``profile`` that are stored, computing nothing: what a page shows of a profile still in
    progress (a long CPU queue, GPU calls to come) beside the complete profile it renders.

    Returns:
        An ``Evidence`` of the stored parts only (possibly none); ``ev.missing`` names the others, its headline
        says "k of n parts", and it refuses to write a ``results.json``.
    Raises:
        ValueError: an unknown profile, or one the chapter has no settings for (``best`` and ``auto`` are not
            profiles of parts).
    """
    module = chapter_module(module)
    if profile not in module.SETTINGS:
        raise ValueError(f"chapter {module.STEM} has no settings for profile {profile!r}; defined: "
                         f"{sorted(module.SETTINGS)}")
    status = find_stored(module, profile, seed, chapter_parts(module, module.SETTINGS[profile]), stores(store, committed))
    ev = Evidence(module.STEM, profile, seed, profile, "", settings=module.SETTINGS[profile],
                  missing=[st.part.name for st in status if st.stored is None])
    for st in status:
        if st.stored is not None:
            ev.results[st.part.name] = st.stored.result
            ev.meta[st.part.name] = st.stored.meta
            ev.where[st.part.name] = "committed" if st.store.protected else "local"
    return ev


def _quiet_when_stored(progress):
    """Pass on progress lines except the one-line summary of a run that computes nothing."""
    if progress is None:
        return None

    def say(text: str) -> None:
        if text.endswith(" 0 to compute"):
            return
        progress(text)
        sys.stdout.flush()
    return say
