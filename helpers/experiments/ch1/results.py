"""Chapter 1's stored results in the one layout the claims and views read. Pure: reshapes, computes nothing.

The one layout is the split one (``Settings.split_sweeps``, the paper profile's): ``group-<g>`` holds WT and DA and
what the figures draw from them, ``ir-<g>-<penalty>-<nu>`` the IR models of one nu (``runs.run_fixed``,
``runs.run_nu``), and ``proposition``. The quick and standard profiles' committed parts are in the older layout,
one part per sweep: ``group-<g>`` with the L2 sweep and the picked IR inside (``runs.run_group``) and
``sensitivity-<g>-<penalty>`` (``runs.run_sensitivity``). ``records`` cuts those into the split layout's records,
once; everything else here reads only that layout:

- ``groups_of``: ``{group: WT, DA and the L2 sweep joined}`` (Table 1, the nu sweep, Figs. 2-4), ``join``;
- ``sensitivity_of``: ``{group: {penalty: {"nu", "sweep"}}}`` (Fig. 5);
- ``pending_nus``: the missing nus of a profile in progress that could still change the SI rule's pick.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...metrics import pick_nu
from .settings import MODELS, Settings, nu_part_name

__all__ = ["records", "join", "groups_of", "sensitivity_of", "pending_nus", "si_target"]


def si_target(ev) -> float:
    """The SI rule's target: the page's settings where ``ev`` is a page's ``Evidence``, else the default 0.95."""
    return getattr(getattr(ev, "settings", None), "si_target", Settings.si_target)


def _cut_group(g: str, r: dict) -> dict[str, dict]:
    """An older ``group-<g>`` (WT, DA and the L2 sweep in one part) as the split layout's ``group-<g>`` and
    ``ir-<g>-l2-<nu>`` records. The older part keeps drift and t-SNE of the picked nu's IR only; so does its cut."""
    fixed_kinds = [k for k in MODELS if k != "IR"]
    d, ts = r["drift"], r["tsne"]
    drift = {k: v for k, v in d.items() if k not in ("IR", "examples")}
    drift["examples"] = {k: v for k, v in d["examples"].items() if k != "IR"}
    fixed = {"group": r["group"], "n_params": {k: r["n_params"][k] for k in fixed_kinds},
             "table": {k: r["table"][k] for k in fixed_kinds}, "orbit_example": r["orbit_example"],
             "saliency": {k: v for k, v in r["saliency"].items() if k != "IR"} | {"IR": {}}, "drift": drift,
             "tsne": {k: ({m: x for m, x in v.items() if m != "IR"} if k in ("spread", "neighbours") else v)
                      for k, v in ts.items()}}
    out = {f"group-{g}": fixed}
    for nu, metrics in r["sweep"].items():
        ir = {"group": r["group"], "penalty": "l2", "nu": float(nu), "n_params": r["n_params"]["IR"],
              "metrics": metrics, "saliency": r["saliency"]["IR"][nu]}
        if float(nu) == float(r["nu"]):
            ir["drift"] = {"betas": d["betas"], "IR": d["IR"], "examples": {"IR": d["examples"]["IR"]}}
            ir["tsne"] = {k: {"IR": ts[k]["IR"]} for k in ("spread", "neighbours")}
        out[nu_part_name(g, "l2", nu)] = ir
    return out


def records(ev: Mapping) -> dict[str, dict]:
    """Every stored part of ``ev`` (a page's evidence, or any mapping of part results) in the split layout: older
    ``group-<g>`` and ``sensitivity-<g>-<penalty>`` parts cut into ``group-<g>`` and ``ir-<g>-<penalty>-<nu>``
    records (a sensitivity part's with ``penalty``, ``nu`` and ``metrics`` only: all that Fig. 5 reads), the rest as
    stored."""
    out: dict[str, dict] = {}
    for name, r in ev.items():
        if name.startswith("group-") and "sweep" in r:
            out |= _cut_group(name.removeprefix("group-"), r)
        elif name.startswith("sensitivity-"):
            g = name.removeprefix("sensitivity-").split("-", 1)[0]
            out |= {nu_part_name(g, r["penalty"], nu): {"penalty": r["penalty"], "nu": float(nu), "metrics": m}
                    for nu, m in r["sweep"].items()}
        else:
            out[name] = r
    return out


def _nu_records(recs: Mapping, group_name: str, penalty: str) -> dict[float, dict]:
    """``{nu: record}`` of the ``ir-<group_name>-<penalty>-<nu>`` records of ``recs`` (the split layout)."""
    prefix = f"ir-{group_name}-"
    return {float(r["nu"]): r for name, r in recs.items() if name.startswith(prefix) and r["penalty"] == penalty}


def join(fixed: dict, ir: dict[float, dict], target: float) -> dict:
    """WT and DA (a ``group-<g>`` record) and the L2 nus' IR records as one group's result: the sweep, the nu the SI
    rule picks (``metrics.pick_nu``), and that nu's models as Table 1's IR (its drift, t-SNE spread and
    neighbours). ``fixed`` and ``ir`` are not changed.

    Returns:
        ``{"group", "nu", "n_params": {kind: int}, "table": {kind: metrics}, "sweep": {nu: metrics},
        "orbit_example": (G, 36, 36), "saliency": {"images", "WT", "DA", "IR": {nu: (n, G, H, W)}},
        "drift": {"betas", kind: {"DI", "acc_ratio", "acc"}, "examples"}, "tsne": {..., "spread", "neighbours"}}``.
    """
    sweep = {nu: ir[nu]["metrics"] for nu in sorted(ir)}
    nu = pick_nu(sweep, target)
    pick, d = ir[nu], fixed["drift"]
    drift = {k: v for k, v in d.items() if k != "examples"} | {
        "IR": pick["drift"]["IR"], "examples": d["examples"] | {"IR": pick["drift"]["examples"]["IR"]}}
    tsne = fixed["tsne"] | {k: fixed["tsne"][k] | {"IR": pick["tsne"][k]["IR"]} for k in ("spread", "neighbours")}
    return {"group": fixed["group"], "nu": nu, "n_params": fixed["n_params"] | {"IR": pick["n_params"]},
            "table": fixed["table"] | {"IR": sweep[nu]}, "sweep": sweep, "orbit_example": fixed["orbit_example"],
            "saliency": fixed["saliency"] | {"IR": {k: ir[k]["saliency"] for k in sorted(ir)}}, "drift": drift,
            "tsne": tsne}


def groups_of(ev: Mapping) -> dict[str, dict]:
    """``{group: join(...)}``: each ``group-<g>`` record joined with its ``ir-<g>-l2-<nu>`` records; a group whose
    L2 nus are not stored yet (a profile in progress) as its ``group-<g>`` record alone."""
    recs = records(ev)
    out = {}
    for name, r in recs.items():
        if name.startswith("group-"):
            g = name.removeprefix("group-")
            ir = _nu_records(recs, g, "l2")
            out[g] = join(r, ir, si_target(ev)) if ir else r
    return out


def sensitivity_of(ev: Mapping) -> dict[str, dict[str, dict]]:
    """``{group: {penalty: {"nu", "sweep"}}}`` for Fig. 5, for every group with a joined L2 sweep: the L2 sweep
    first, then the other regularisers in the order stored, each with the nu the SI rule picks."""
    recs, target = records(ev), si_target(ev)
    out = {}
    for g, r in groups_of(ev).items():
        if "sweep" not in r:
            continue
        out[g] = {"l2": {"nu": r["nu"], "sweep": r["sweep"]}}
        penalties = dict.fromkeys(r["penalty"] for name, r in recs.items() if name.startswith(f"ir-{g}-"))
        for penalty in [p for p in penalties if p != "l2"]:
            sweep = {nu: x["metrics"] for nu, x in sorted(_nu_records(recs, g, penalty).items())}
            out[g][penalty] = {"nu": pick_nu(sweep, target), "sweep": sweep}
    return out


def pending_nus(ev, group_name: str, penalty: str = "l2") -> list[float]:
    """The nus of ``ev.settings.nus`` (L2) or ``ev.settings.nus_other[penalty]`` not stored in ``ev`` that could
    still change the SI rule's pick (``metrics.pick_nu``): those below the nu picked among the stored ones, or every
    missing nu where no stored nu reaches the target. Empty: the pick is final (e.g. a page's complete evidence,
    or ``runner.stored_so_far`` of a profile in progress)."""
    grid = ev.settings.nus if penalty == "l2" else ev.settings.nus_other.get(penalty, ())
    stored = {nu: r["metrics"] for nu, r in _nu_records(records(ev), group_name, penalty).items()}
    missing = [float(nu) for nu in grid if float(nu) not in stored]
    if not stored:
        return missing
    target = si_target(ev)
    nu = pick_nu(stored, target)
    return missing if np.mean(stored[nu]["SI"]) < target else [m for m in missing if m < nu]
