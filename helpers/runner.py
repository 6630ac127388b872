"""Load-or-compute a chapter's parts, in this process or as Ray tasks, and the evidence a page renders.

    profile settings --> part (compute) --> store: <store>/<profile>/<chapter>/parts/
                                                 |
               page: evidence(chapter, profile) --> views, claims --> HTML

A chapter package (``helpers.experiments.chN``, found through ``helpers.registry``) provides ``STEM``, ``SETTINGS``
and ``PARTS(settings) -> list[Part]``. ``compute`` finds each part in the stores (``helpers.lookup``: the
writable one first, then the committed ``results/``) and computes only what none of them holds
(``helpers.local``), saving each result as soon as it is done, so a killed run started again computes only what is
missing. ``evidence`` does the same inside a page and returns an ``Evidence`` (``helpers.evidence``): the results
by part name plus where they came from. With ``cluster="ray"`` (a local Ray) or ``"ray://HOST:PORT"`` (an
existing cluster) every missing part is a Ray task with the resources it declared (``helpers.cluster``); without
it Ray is not imported. The profiles (``best`` and ``auto`` included): ``helpers.lookup``.
"""
from __future__ import annotations

import os
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from .cluster import check_cluster, compute_on_ray
from .evidence import Evidence
from .local import compute_here, heartbeat_s, part_timeout_s, save_part, say
from .locks import lock_wait_s
from .lookup import PartStatus, chapter_parts, find_stored, resolve_profile, stores
from .profiles import resolve
from .registry import chapter_module
from .store import Store

__all__ = ["compute", "evidence", "stored_so_far", "check_arguments", "Run"]


@dataclass
class Run:
    """What ``compute`` did: the profile it resolved (and why), and every selected part's status."""

    chapter: str
    profile: str
    note: str
    parts: list[PartStatus]
    computed: list[str] = field(default_factory=list)


def compute(module: str | types.ModuleType, profile: str = "best", names: Sequence[str] | None = None,
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
    check_arguments(threads=threads)
    lock_wait_s(), heartbeat_s()  # a bad HELPERS_LOCK_WAIT_S / HELPERS_HEARTBEAT_S is named before anything runs
    where = stores(store, committed)
    name, note = resolve_profile(module, profile, where, device)
    if settings is not None:
        module = _with_settings(module, name, settings)
    dev = resolve(name, device).device
    part_timeout_s(name)
    parts = chapter_parts(module, module.SETTINGS[name], names)
    status = find_stored(module, name, parts, where)
    todo = [s for s in status if recompute or s.stored is None]
    say(progress, f"[helpers] {module.STEM}: profile {name} on {dev}"
                  + (f" ({note})" if note else "") + f"; {len(parts)} parts, {len(parts) - len(todo)} stored, "
                  f"{len(todo)} to compute" + (f" on {cluster}" if cluster and todo else ""))
    run = Run(module.STEM, name, note, status, [s.part.name for s in todo])
    if not todo:
        return run
    if where[0].protected and not force:
        clash = [s.part.name for s in todo if where[0].path(module.STEM, name, s.part.name).exists()]
        if clash:
            raise FileExistsError(f"parts {clash} of {module.STEM} are committed in {where[0].root} with other "
                                  "settings (or --recompute was asked); pass --force to replace them")
    if cluster:
        held = compute_on_ray(module, name, todo, where[0], cluster,
                              save=lambda st, result, meta: save_part(module, name, st, where[0], result, meta, force),
                              say=lambda text: say(progress, text))
        if held:  # parts another run holds: wait for them as a local run does (computed here if that run dies)
            compute_here(module, name, held, where[0], dev, threads, force, progress)
    else:
        compute_here(module, name, todo, where[0], dev, threads, force, progress)
    return run


def check_arguments(threads: int | None = None, cell_timeout: int | None = None,
                    lock_wait: float | None = None) -> None:
    """Check a run's numeric arguments before anything starts.

    Raises:
        ValueError: naming the bad value (threads < 1, a time limit <= 0).
    """
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise ValueError(f"threads must be a whole number >= 1, got {threads!r}")
    if cell_timeout is not None and cell_timeout <= 0:
        raise ValueError(f"cell timeout must be > 0 seconds, got {cell_timeout!r}")
    if lock_wait is not None and lock_wait < 0:
        raise ValueError(f"lock wait must be >= 0 seconds, got {lock_wait!r}")


def _with_settings(module: types.ModuleType, profile: str, settings: Any) -> types.ModuleType:
    """A stand-in for ``module`` whose ``SETTINGS[profile]`` is ``settings`` (tests run reduced settings)."""
    clone = types.ModuleType(module.__name__)
    clone.__dict__.update(module.__dict__)
    setattr(clone, "SETTINGS", {**module.SETTINGS, profile: settings})
    return clone


def evidence(module: str | types.ModuleType, profile: str = "best", store: str | os.PathLike | Store | None = None, device: str | torch.device | None = None,
             progress: Callable[[str], None] | None = print, settings: Any = None,
             committed: bool | None = None) -> Evidence:
    """Every part of a chapter in ``profile``: loaded where stored, computed (in this process) where not.

    The one call a page makes; with every part stored it reads files and trains nothing. Arguments as
    ``compute``'s.
    """
    module = chapter_module(module)
    run = compute(module, profile, store=store, device=device, progress=_quiet_when_stored(progress),
                  settings=settings, committed=committed)
    ev = Evidence(module.STEM, run.profile, profile, run.note,
                  settings=settings if settings is not None else module.SETTINGS[run.profile])
    for st in run.parts:
        assert st.stored is not None  # compute stores, or keeps the skip of, every part it returns
        ev.results[st.part.name] = st.stored.result
        ev.meta[st.part.name] = st.stored.meta
        ev.where[st.part.name] = ("skipped" if st.store is None else "committed" if st.store.protected
                                  else "local")
    return ev


def stored_so_far(module: str | types.ModuleType, profile: str, store: str | os.PathLike | Store | None = None,
                  committed: bool | None = None) -> Evidence:
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
    status = find_stored(module, profile, chapter_parts(module, module.SETTINGS[profile]), stores(store, committed))
    ev = Evidence(module.STEM, profile, profile, "", settings=module.SETTINGS[profile],
                  missing=[st.part.name for st in status if st.stored is None])
    for st in status:
        if st.stored is not None and st.store is not None:  # found in a store (find_stored sets both)
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
