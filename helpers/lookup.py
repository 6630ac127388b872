"""Which stores a run reads, which of a chapter's parts they hold, and which profile a run uses.

    stores(store)  -->  [writable store, committed results/]
    find_stored(chapter, profile, parts, stores)  -->  [PartStatus: where each part is stored, or why not]
    resolve_profile(chapter, "best")  -->  the first of paper, steps, standard, quick with every part stored

Profiles: ``quick``, ``standard``, ``steps``, ``paper``, ``auto`` (standard with CUDA, quick without) and ``best``:
the best profile whose parts are all stored, else ``auto``. Nothing here computes; ``helpers.runner`` does.
"""
from __future__ import annotations

import os
import types
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from . import checkpoint
from .evidence import fmt_seconds
from .parts import Part, check_parts
from .profiles import PROFILES, resolve
from .store import Store, StoredPart, committed_store, default_store, open_store

__all__ = ["PROFILE_CHOICES", "BEST_ORDER", "chapter_parts", "stores", "PartStatus", "find_stored",
           "resolve_profile"]

PROFILE_CHOICES = (*PROFILES, "auto", "best")
#: The order in which ``best`` tries the profiles.
BEST_ORDER = ("paper", "steps", "standard", "quick")


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
    results = committed_store() if committed else None
    if isinstance(store, Store):
        first = store if store.protected else open_store(store.root)
    elif store in (None, ""):
        first = default_store()
    else:
        first = open_store(store)
    if results is None or results.root.resolve() != first.root.resolve():
        return [first] if results is None else [first, results]
    return [results if first.protected else first]  # the committed store itself is the writable one


@dataclass
class PartStatus:
    """A part of a run: where it is stored, or why it must be computed."""

    part: Part
    stored: StoredPart | None = None
    store: Store | None = None
    note: str = ""


def find_stored(module: types.ModuleType, profile: str, parts: Sequence[Part], where: Sequence[Store]) -> list[PartStatus]:
    """For each part, the first store that holds it with this profile's settings hash (``stored`` None if none)."""
    settings = module.SETTINGS[profile]
    out = []
    for p in parts:
        digest = p.digest(module.STEM, settings)
        status = PartStatus(p)
        for st in where:
            hit = st.load(module.STEM, profile, p.name, digest)
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
                     if (t := checkpoint.saved_s(st.checkpoints(module.STEM, profile, p.name), digest)) is not None]
            kept = [(t, len(checkpoint.kept_pieces(folder, digest))) for st in where
                    if (t := checkpoint.saved_s(folder := st.pieces(module.STEM, profile, p.name), digest))
                    is not None]
            if saved:
                status.note += f"; its checkpoints hold {fmt_seconds(max(saved))} of compute, a run resumes from them"
            elif kept:
                t, n_pieces = max(kept)
                status.note += (f"; {n_pieces} finished piece{'s' if n_pieces != 1 else ''} stored "
                                f"({fmt_seconds(t)} of compute), a run goes on from them")
        out.append(status)
    return out


def resolve_profile(module: types.ModuleType, profile: str, where: Sequence[Store] | None = None,
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
    counts: list[str] = []
    for name in BEST_ORDER:
        if name not in module.SETTINGS:
            continue
        found = [s for s in find_stored(module, name, chapter_parts(module, module.SETTINGS[name]), where)
                 if s.stored is not None or not s.part.optional]  # an optional part may never be stored (a skip)
        have = sum(s.stored is not None for s in found)
        if have == len(found):
            above = f" (not yet {'; '.join(counts)})" if counts else ""
            return name, f"every part of the {name} profile is stored{above}"
        counts.append(f"{name}: {have} of {len(found)} parts stored")
    fallback = resolve("auto", device).name
    return fallback, (f"no profile has every part stored ({'; '.join(counts)}); falling back to {fallback}, "
                      "computed where it is missing")
