"""Chapter 1's stored results as the claims and views read them. Pure: reshapes, computes nothing.

The quick and standard profiles store one part per sweep (``group-<g>`` with the L2 sweep and its pick inside,
``runs.run_group``, and ``sensitivity-<g>-<penalty>``); the paper profile one per nu (``ir-<g>-<penalty>-<nu>``,
``Settings.split_sweeps``) beside a ``group-<g>`` of WT and DA, which ``join`` puts together as ``run_group`` does.
``groups_of`` (Table 1, the nu sweep, Figs. 2-4), ``sensitivity_of`` (Fig. 5) and ``pending_nus`` read both.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...metrics import pick_nu
from .settings import Settings

__all__ = ["join", "groups_of", "sensitivity_of", "pending_nus", "si_target"]


def si_target(ev) -> float:
    """The SI rule's target: the page's settings where ``ev`` is a page's ``Evidence``, else the default 0.95."""
    return getattr(getattr(ev, "settings", None), "si_target", Settings.si_target)


def _sweeps(ev: Mapping, group_name: str) -> dict[str, dict[float, dict]]:
    """``{penalty: {nu: metrics}}`` of one group's stored IR models, nus ascending, penalties in the order stored:
    the L2 sweep inside an older ``group-<g>``, ``sensitivity-<g>-<penalty>`` sweeps and ``ir-<g>-<penalty>-<nu>``
    parts alike."""
    out: dict[str, dict[float, dict]] = {}
    for name, r in ev.items():
        if name == f"group-{group_name}" and "sweep" in r:
            out.setdefault("l2", {}).update({float(nu): m for nu, m in r["sweep"].items()})
        elif name.startswith(f"sensitivity-{group_name}-"):
            out.setdefault(r["penalty"], {}).update({float(nu): m for nu, m in r["sweep"].items()})
        elif name.startswith(f"ir-{group_name}-"):
            out.setdefault(r["penalty"], {})[float(r["nu"])] = r["metrics"]
    return {p: dict(sorted(sweep.items())) for p, sweep in out.items()}


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
    """``{group: result}``: an older ``group-<g>`` as stored (it is ``join``'s result), a split layout's joined with
    its ``ir-<g>-l2-<nu>`` parts, or alone where none is stored yet (a profile in progress)."""
    out = {}
    for name, r in ev.items():
        if name.startswith("group-"):
            g = name.removeprefix("group-")
            ir = {float(x["nu"]): x for k, x in ev.items() if k.startswith(f"ir-{g}-") and x["penalty"] == "l2"}
            out[g] = join(r, ir, si_target(ev)) if ir and "sweep" not in r else r
    return out


def sensitivity_of(ev: Mapping) -> dict[str, dict[str, dict]]:
    """``{group: {penalty: {"nu", "sweep"}}}`` for Fig. 5, for every group with a joined L2 sweep: the L2 sweep
    first, then the other regularisers in the order stored, each with the nu the SI rule picks."""
    out = {}
    for g, r in groups_of(ev).items():
        if "sweep" in r:
            others = {p: sweep for p, sweep in _sweeps(ev, g).items() if p != "l2"}
            out[g] = {"l2": {"nu": r["nu"], "sweep": r["sweep"]}} | {
                p: {"nu": pick_nu(sweep, si_target(ev)), "sweep": sweep} for p, sweep in others.items()}
    return out


def pending_nus(ev, group_name: str, penalty: str = "l2") -> list[float]:
    """The nus of ``ev.settings.nus`` (L2) or ``ev.settings.nus_other[penalty]`` not stored in ``ev`` that could
    still change the SI rule's pick (``metrics.pick_nu``): those below the nu picked among the stored ones, or every
    missing nu where no stored nu reaches the target. Empty: the pick is final (e.g. a page's complete evidence,
    or ``runner.stored_so_far`` of a profile in progress)."""
    grid = ev.settings.nus if penalty == "l2" else ev.settings.nus_other.get(penalty, ())
    stored = _sweeps(ev, group_name).get(penalty, {})
    missing = [float(nu) for nu in grid if float(nu) not in stored]
    if not stored:
        return missing
    target = si_target(ev)
    nu = pick_nu(stored, target)
    return missing if np.mean(stored[nu]["SI"]) < target else [m for m in missing if m < nu]
