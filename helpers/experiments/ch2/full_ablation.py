"""The full ablation study beside a lighter profile's page: a separate reading of the ``standard`` profile's
stored ``ab-`` parts (nothing is computed).

quick runs a smaller ablation (``Settings.ablation``: CI's budget) and steps none; their pages show, and C2.11
judges, the full study (``FULL_STUDY``'s) where all of its parts are stored. The page's own ``Evidence`` keeps only
its profile's parts; this module's ``evidence`` is a second ``Evidence``, with its own profile and provenance, that
the page passes to ``claims.table`` and the ablation's views.
"""
from __future__ import annotations

from ... import lookup, registry
from ...evidence import Evidence
from .settings import SETTINGS

__all__ = ["FULL_STUDY", "evidence"]

#: The profile whose ablation is the full study.
FULL_STUDY = "standard"


def _own(ev: Evidence) -> Evidence:
    """``ev``'s own ablation parts, as an ``Evidence`` of its profile."""
    names = [n for n in ev.results if n.startswith("ab-")]
    return Evidence(ev.chapter, ev.profile, ev.seed, ev.profile, "", {n: ev.results[n] for n in names},
                    {n: ev.meta[n] for n in names if n in ev.meta}, {n: ev.where[n] for n in names if n in ev.where},
                    settings=ev.settings)


def evidence(ev: Evidence, store=None) -> Evidence:
    """The ablation parts the page of ``ev`` shows and C2.11 judges, as their own ``Evidence``: the full study's
    (``FULL_STUDY``'s ``ab-`` parts, read from ``store`` and the committed ``results/``) where ``ev``'s profile runs
    a smaller study or none and every part of the full one is stored; else ``ev``'s own ``ab-`` parts (possibly
    none)."""
    full = SETTINGS[FULL_STUDY].ablation
    if ev.profile == FULL_STUDY or SETTINGS.get(ev.profile) is None or SETTINGS[ev.profile].ablation == full:
        return _own(ev)
    module = registry.chapter_module("2")
    parts = [p for p in lookup.chapter_parts(module, SETTINGS[FULL_STUDY]) if p.name.startswith("ab-")]
    found = lookup.find_stored(module, FULL_STUDY, ev.seed, parts, lookup.stores(store))
    if not found or any(f.stored is None or f.store is None for f in found):
        return _own(ev)
    out = Evidence(ev.chapter, FULL_STUDY, ev.seed, FULL_STUDY,
                   f"the full ablation study, stored under the {FULL_STUDY} profile", settings=SETTINGS[FULL_STUDY])
    for f in found:
        assert f.stored is not None and f.store is not None
        out.results[f.part.name], out.meta[f.part.name] = f.stored.result, f.stored.meta
        out.where[f.part.name] = "committed" if f.store.protected else "local"
    return out
