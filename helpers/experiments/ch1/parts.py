"""Chapter 1's parts: the list of what a profile computes (``all_parts``; the runs themselves are ``runs``, and
``results`` describes the two layouts, one part per sweep or one per nu). The standard profile adds
``extension-<g>-<penalty>``, one regulariser beyond its grid (``settings.EXTENSION``).
"""
from __future__ import annotations

from functools import partial

from ...parts import Needs, Part
from .runs import proposition, run_extension, run_fixed, run_group, run_nu, run_sensitivity
from .settings import EXTENSION, SETTINGS, Settings, nu_part_name

__all__ = ["all_parts"]

#: The settings fields each kind of part reads (its settings hash covers only these).
_COMMON = ("n_train", "n_test", "n_val", "seeds", "hidden", "fit", "si_target", "n_eval", "n_si", "ig_steps")
_USES_GROUP = _COMMON + ("nus", "betas", "n_tsne")
_USES_SENSITIVITY = _COMMON + ("nus_other",)
#: Those of the split layout: a nu part's nu is in its name, so a change of the grid leaves the other nus valid.
_MEASURE = ("n_train", "n_test", "n_val", "seeds", "hidden", "fit", "n_eval", "n_si", "ig_steps")
_USES_FIXED = _MEASURE + ("betas", "n_tsne")


def all_parts(s: Settings) -> list[Part]:
    """The chapter's parts in profile settings ``s``: one ``group-<g>`` per group, one ``sensitivity-<g>-<penalty>``
    per group and regulariser of ``s.nus_other``, and ``proposition``; with ``s.split_sweeps``, ``group-<g>`` (WT and
    DA) and one ``ir-<g>-<penalty>-<nu>`` per group, regulariser and nu instead of the sweeps."""
    if s.split_sweeps:
        parts = [Part(f"group-{g}", partial(run_fixed, g), Needs(gpu=True, memory_gb=3.0), uses=_USES_FIXED,
                      description=f"{g}: WT and DA; Table 1, Figs. 2-4") for g in s.groups]
        parts += [Part(nu_part_name(g, p, nu), partial(run_nu, g, p, float(nu)), Needs(gpu=True, memory_gb=2.0),
                       uses=_USES_FIXED if p == "l2" else _MEASURE,
                       description=f"{g}: IR with the {p} regulariser at nu = {nu:g}; "
                                   + ("Table 1, Figs. 2-4" if p == "l2" else "Fig. 5"))
                  for g in s.groups for p, nus in {"l2": s.nus, **s.nus_other}.items() for nu in nus]
    else:
        parts = [Part(f"group-{g}", partial(run_group, g), Needs(gpu=True, memory_gb=3.0), uses=_USES_GROUP,
                      description=f"{g}: WT, DA and the IR nu sweep; Table 1, Figs. 2-4") for g in s.groups]
        parts += [Part(f"sensitivity-{g}-{p}", partial(run_sensitivity, g, p), Needs(gpu=True, memory_gb=2.0),
                       uses=_USES_SENSITIVITY, description=f"{g}: IR with the {p} regulariser; Fig. 5")
                  for g in s.groups for p in s.nus_other]
    parts.append(Part("proposition", proposition, Needs(memory_gb=1.0), uses=(),
                      description="Prop. 3.1: a linear model trained on LI alone"))
    if s == SETTINGS["standard"]:
        x = EXTENSION
        parts.append(Part(f"extension-{x.group}-{x.penalty}", partial(run_extension, study=x),
                          Needs(gpu=True, memory_gb=2.0), uses=_MEASURE, own=x,
                          description=f"{x.group}: IR with the {x.penalty} regulariser beyond the grid, nu = "
                                      + ", ".join(f"{nu:g}" for nu in x.nus)))
    return parts
