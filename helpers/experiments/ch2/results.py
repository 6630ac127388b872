"""Chapter 2's stored part results, reshaped into the layout of the paper's tables (pure: nothing is trained,
loaded or drawn here).

A part result is what ``sweeps`` returned, as the store gives it back (numpy arrays): ``t1-<net>-<dataset>`` a
Table 1 sweep, ``t2-<dataset>`` / ``t3-<dataset>`` the invariance types on one dataset, ``ab-<arm>-<dataset>`` an
ablation arm (``parts`` lists them). ``collect`` puts a page's parts back into the tables' layout
``{"toy", "t1", "t2", "t3", "ablation"}``, which the claims and the views read; ``eta_sweep_frame`` and
``cifar_frame`` are the tables of the studies' parts ``eta-sweep`` and ``cifar-preprocessing`` (``studies``),
``confound_reading`` / ``confound_frame`` read ``kernel-confound``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["combine_datasets", "collect", "training", "eta_sweep_frame", "cifar_frame", "CONFOUND_RULE", "confound_arms",
           "confound_reading", "confound_frame"]


def combine_datasets(per: Mapping[str, dict]) -> dict:
    """Table 2 / 3 from its per-dataset parts ``{dataset: result}``.

    Returns:
        ``{"invariances", "datasets", "test_acc" (I, V), "elbo" (I, V), "eta" (I, V, 6), "n_train",
        "wall_time_s"}``; where the parts trained several seeds, ``test_acc`` and ``elbo`` are seed means, ``eta``
        the first seed's (the one the figures show), and ``"seed_acc"`` ``(S, I, V)``, ``"seed_eta"``
        ``(S, I, V, 6)`` hold every seed.
    """
    rs = list(per.values())
    stacked = {k: np.stack([np.asarray(r[k]) for r in rs], 1) for k in ("test_acc", "elbo", "eta")}  # (I, V[, 6])
    out = {"invariances": list(rs[0]["invariances"]), "datasets": list(per), **stacked,
           "n_train": rs[0]["n_train"], "wall_time_s": float(sum(r["wall_time_s"] for r in rs))}
    if all("per_seed" in r for r in rs) and len({len(r["per_seed"]["seeds"]) for r in rs}) == 1:
        seed = {k: np.stack([np.asarray(r["per_seed"][k]) for r in rs], 2) for k in ("test_acc", "elbo", "eta")}
        out |= {"test_acc": seed["test_acc"].mean(0), "elbo": seed["elbo"].mean(0), "seed_acc": seed["test_acc"],
                "seed_eta": seed["eta"]}
    return out


def collect(results: Mapping[str, dict]) -> dict:
    """The part results (``{part name: result}``, e.g. a page's evidence) in the tables' layout.

    Returns:
        ``{"toy": result or None, "t1": {net: {dataset: result}}, "ablation": {arm: {dataset: result}} or None,
        "t2": combine_datasets(...) or None, "t3": the same or None}``.
    """
    t1: dict = {}
    per: dict = {"t2": {}, "t3": {}}
    ab: dict = {}
    for name, r in results.items():
        kind, _, rest = name.partition("-")
        if kind == "ab":
            arm, _, variant = rest.rpartition("-")
            ab.setdefault(arm, {})[variant] = r
        elif kind == "t1":
            net, _, variant = rest.partition("-")
            t1.setdefault(net, {})[variant] = r
        elif kind in per:
            per[kind][rest] = r
    return {"toy": results.get("toy"), "t1": t1, "ablation": ab or None,
            **{k: combine_datasets(v) if v else None for k, v in per.items()}}


def training(results: Mapping[str, dict]) -> dict:
    """The training parts of ``results`` (``{part name: result}``): all but the ablation's ``ab-`` parts."""
    return {n: r for n, r in results.items() if not n.startswith("ab-")}


def eta_sweep_frame(sweeps: Sequence[Mapping]) -> pd.DataFrame:
    """The sweeps of part ``eta-sweep`` (``studies.run_eta_sweep``'s results) as one table: per sweep and member,
    the mean final |eta| of the swept generators, the training ELBO and the test accuracy."""
    rows = []
    for r in sweeps:
        for m, name in enumerate(r["names"]):
            rows.append({"invariance": r["invariance"], "dataset": r["variant"], "member": name,
                         "eta final": float(np.abs(np.asarray(r["eta"])[m, list(r["generators"])]).mean()),
                         "ELBO": float(r["elbo"][m]), "test acc (%)": float(r["test_acc"][m])})
    return pd.DataFrame(rows).set_index(["invariance", "dataset", "member"]).round(3)


def cifar_frame(study: Mapping) -> pd.DataFrame:
    """Part ``cifar-preprocessing`` as a table: per arm, the plain MLP's test accuracy (%), test log-likelihood,
    training ELBO per datapoint and wall time (s)."""
    return (pd.DataFrame(list(study["arms"])).set_index("arm")[["test_acc", "test_ll", "elbo", "seconds"]]
            .rename(columns={"test_acc": "test acc (%)", "test_ll": "test log-lik.", "elbo": "ELBO / point",
                             "seconds": "s"}))


#: The kernel-confound study's reading (issue 39, item 5), fixed before the part ran: per dataset, seed and control arm,
#: the ELBO's argmax over the fixed eta_rot with the warped rows as they are and under the control (0 degrees, the
#: identity warp, in both).
CONFOUND_RULE = ("for each control, the ranking is unchanged where its ELBO argmax and that of the rows as warped "
                 "agree in every seed, changed where they differ in every seed, and mixed (inconclusive) otherwise")


def confound_arms(run: Mapping, key: str = "elbo") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One ``kernel-confound`` sweep as its arms: ``(degrees (n,), {arm: key (n,)})``, the rows as warped first
    (``"as warped"``), the 0-degree member standing in every arm."""
    degs, val, arm = np.asarray(run["degrees"]), np.asarray(run[key]), np.asarray(run["arm"])
    plain = arm == "as warped"
    d = degs[plain]
    out = {"as warped": val[plain]}
    for a in dict.fromkeys(arm[~plain]):
        out[str(a)] = np.array([val[(arm == a) & (degs == g)][0] if g != 0 else val[plain & (degs == g)][0]
                                for g in d])
    return d, out


def confound_reading(study: Mapping) -> dict:
    """``CONFOUND_RULE`` on the part ``kernel-confound``: ``{dataset: {"argmax": {arm: [degree per seed]},
    "verdict": {control: "unchanged" | "changed" | "mixed"}}}``."""
    out = {}
    for variant, runs in study["runs"].items():
        arms = [confound_arms(r) for r in runs]
        picks = {a: [float(d[np.argmax(v[a])]) for d, v in arms] for a in arms[0][1]}
        verdict = {}
        for a, got in picks.items():
            if a != "as warped":
                same = [x == y for x, y in zip(picks["as warped"], got)]
                verdict[a] = "unchanged" if all(same) else "changed" if not any(same) else "mixed"
        out[variant] = {"argmax": picks, "verdict": verdict}
    return out


def confound_frame(study: Mapping) -> pd.DataFrame:
    """The part ``kernel-confound`` per dataset and fixed eta_rot: the norm^2 and the spread^2 over the data that the
    warp keeps, each arm's ELBO (mean over seeds), each control's paired shift from the rows as warped (mean +- SE
    over seeds, as text) and each arm's test accuracy (%); two-level columns."""
    rows = []
    for variant, runs in study["runs"].items():
        per = [confound_arms(r) for r in runs]
        acc = [confound_arms(r, "test_acc")[1] for r in runs]
        kept = {k: np.mean([confound_arms(r, k)[1]["as warped"] for r in runs], 0) for k in ("norm2_kept",
                                                                                          "spread2_kept")}
        names = list(per[0][1])
        e = {a: np.stack([v[a] for _, v in per]) for a in names}  # (seeds, n)
        for i, g in enumerate(per[0][0]):
            row = {("", "dataset"): variant, ("", "η (deg)"): float(g), ("kept", "norm²"): kept["norm2_kept"][i],
                   ("kept", "spread²"): kept["spread2_kept"][i]}
            row |= {("ELBO", a): e[a][:, i].mean() for a in names}
            for a in names[1:]:
                shift = e[a][:, i] - e["as warped"][:, i]
                se = shift.std(ddof=1) / np.sqrt(len(shift)) if len(shift) > 1 else float("nan")
                row[("Δ ELBO", a)] = f"{shift.mean():+.3f} ± {se:.3f}"
            row |= {("acc (%)", a): np.mean([x[a][i] for x in acc]) for a in names}
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame.set_index([("", "dataset"), ("", "η (deg)")]).rename_axis(["dataset", "η (deg)"])
