"""The standard profile's full ablation study and its studies beside a lighter profile's page: a separate reading of
its stored ``ab-`` parts and study parts (``settings.STUDIES``; nothing is computed).

quick runs a smaller ablation (``Settings.ablation``: CI's budget) and steps none; their pages show, and C2.11
judges, the full study (``FULL_STUDY``'s) where all of its parts are stored. The studies beyond the paper's tables
are parts of ``FULL_STUDY`` only, and every page shows them where they are stored. The page's own ``Evidence`` keeps
only its profile's parts; ``evidence`` and ``studies`` give a second ``Evidence``, with its own profile and
provenance, that the page passes to ``claims.table`` and the ablation's and the studies' views.
"""
from __future__ import annotations

from typing import Callable

from ... import lookup, registry
from ...evidence import Evidence
from .settings import SETTINGS, STUDIES

__all__ = ["FULL_STUDY", "evidence", "studies"]

#: The profile whose ablation is the full study, and which runs the studies.
FULL_STUDY = "standard"


def _ablation(name: str) -> bool:
    return name.startswith("ab-")


def _study(name: str) -> bool:
    return name in STUDIES


def _own(ev: Evidence, keep: Callable[[str], bool]) -> Evidence:
    """``ev``'s own parts whose names ``keep`` accepts, as an ``Evidence`` of its profile."""
    names = [n for n in ev.results if keep(n)]
    return Evidence(ev.chapter, ev.profile, ev.profile, "", {n: ev.results[n] for n in names},
                    {n: ev.meta[n] for n in names if n in ev.meta}, {n: ev.where[n] for n in names if n in ev.where},
                    settings=ev.settings)


def _full(ev: Evidence, store, keep: Callable[[str], bool], note: str) -> Evidence | None:
    """``FULL_STUDY``'s parts whose names ``keep`` accepts, read from ``store`` and the committed ``results/``, as
    their own ``Evidence``; None unless every one of them is stored."""
    module = registry.chapter_module("2")
    parts = [p for p in lookup.chapter_parts(module, SETTINGS[FULL_STUDY]) if keep(p.name)]
    found = lookup.find_stored(module, FULL_STUDY, parts, lookup.stores(store))
    if not found or any(f.stored is None or f.store is None for f in found):
        return None
    out = Evidence(ev.chapter, FULL_STUDY, FULL_STUDY, note, settings=SETTINGS[FULL_STUDY])
    for f in found:
        assert f.stored is not None and f.store is not None
        out.results[f.part.name], out.meta[f.part.name] = f.stored.result, f.stored.meta
        out.where[f.part.name] = "committed" if f.store.protected else "local"
    return out


def evidence(ev: Evidence, store=None) -> Evidence:
    """The ablation parts the page of ``ev`` shows and C2.11 judges, as their own ``Evidence``: the full study's
    (``FULL_STUDY``'s ``ab-`` parts, read from ``store`` and the committed ``results/``) where ``ev``'s profile runs
    a smaller study or none and every part of the full one is stored; else ``ev``'s own ``ab-`` parts (possibly
    none)."""
    full = SETTINGS[FULL_STUDY].ablation
    if ev.profile == FULL_STUDY or SETTINGS.get(ev.profile) is None or SETTINGS[ev.profile].ablation == full:
        return _own(ev, _ablation)
    return _full(ev, store, _ablation, f"the full ablation study, stored under the {FULL_STUDY} profile") \
        or _own(ev, _ablation)


def studies(ev: Evidence, store=None) -> Evidence:
    """The studies beyond the paper's tables (``settings.STUDIES``) the page of ``ev`` shows, as their own
    ``Evidence``: ``ev``'s own study parts where it has them (its profile is ``FULL_STUDY``), else
    ``FULL_STUDY``'s where all are stored (read from ``store`` and the committed ``results/``), else none."""
    own = _own(ev, _study)
    if len(own) or ev.profile == FULL_STUDY:
        return own
    return _full(ev, store, _study, f"the studies, stored under the {FULL_STUDY} profile") or own
