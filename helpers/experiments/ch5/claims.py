"""Chapter 5's claims: whether the four papers' measures agree on one zoo. Written, with their rules, before the
first computed result (the commit that adds this file precedes every stored part of the chapter).

No paper states these claims: each is a prediction one paper's reading makes about another paper's measure, so
``paper`` names the statement it comes from. The unit of every correlation is one trained network (configuration
x seed): the question is whether the lenses rank the *networks* alike. Comparisons of means are ``noise.Effect`` s
over the seeds (Welch between configurations trained separately, paired within one network), beyond 2 SE.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np

from ...claims import Claim, ClaimTable
from ...metrics import pick_nu
from ...noise import Correlation, Effect
from .results import frame, members, networks

__all__ = ["CLAIMS", "values", "table", "RHO_MIN", "RHO_FLOOR", "ACC_GAP", "FINAL_INV", "MIDDLE_EQV", "SI_TARGET"]

RHO_MIN, RHO_FLOOR = 0.8, 0.5   # S5.1: "rank alike" = Spearman rho >= 0.8 with its 95 % interval above 0.5
ACC_GAP = 2.0                   # S5.2: "accuracy does not separate" = mean accuracies within 2 points
SI_TARGET = 0.95                # S5.2: IR's nu picked by chapter 1's rule (smallest nu with mean SI >= 0.95)
FINAL_INV, MIDDLE_EQV = 0.9, 0.8  # S5.3: invariant at the output, far from equivariant in the middle

CLAIMS = {c.id: c for c in [
    Claim("S5.1", "LieGG's variance along the rotation generator and LI rank the zoo's networks alike: "
          "Spearman ρ over every network of the MLP zoo (ML-η included; the CNN family is S5.6), [interval excludes "
          "0 (sign +), ρ ≥ 0.8, lower bound > 0.5]",
          "ch1 Table 1 (LI) vs ch4 Sec. 4.2 (variance)", paper="both measure output change under rotation",
          relation="holds",
          reason="ρ ≥ 0.8 with its Fisher-z interval above 0.5 is 'alike'; the unit is the network, so seeds count"),
    Claim("S5.2", "SI separates WT and IR (ν by ch1's SI ≥ 0.95 rule) from DA-R4 where accuracy does not: "
          "[SI(WT) > SI(DA), SI(IR) > SI(DA), |acc(WT) − acc(DA)| ≤ 2, |acc(IR) − acc(DA)| ≤ 2]",
          "ch1 Table 1, Sec. 4.2", paper="SI 1.0 / 0.95 vs 0.17 at similar accuracy", relation="holds",
          reason="SI effects beyond 2 SE (Welch) over seeds; 2 points is the accuracy gap ch1 calls similar"),
    Claim("S5.3", "DA models, invariant at the output, are far from equivariant in the middle layers (invariance "
          "learned late), DA-R4 and DA-SO2: [Final inv. ≥ 0.9, Final inv. > Middle equiv. (paired), "
          "Middle equiv. ≤ 0.8] each", "ch3 Sec. 5 (DA)", paper="augmentation gives invariance late",
          relation="holds", reason="thresholds fixed before the run; the effect beyond 2 SE over seeds"),
    Claim("S5.4", "The rotation a marginal likelihood prefers for each network (ch2's eq. 9 with the trained "
          "network averaged over [−η, η], weights fixed: η* on its training images) ranks the zoo like LI and is "
          "largest where training augmented with every angle: [Spearman ρ(η*, LI) over every network of the MLP "
          "zoo (sign −), "
          "η*(DA-SO2) > η*(plain), η*(DA-SO2) > η*(DA-R4)]", "ch2 Sec. 3, eqs. 6 and 9",
          paper="the ELBO prefers the invariance the data support", relation="holds",
          reason="ρ's 95 % interval excludes 0 on its side; the η* differences beyond 2 SE (Welch) over seeds, at "
                 "the base size; the rule was fixed (commit before the probe's first result) when the probe was "
                 "built"),
    Claim("S5.5", "Along IR's ν every lens moves toward invariance: Spearman over networks of ν with LI (−), "
          "SI (+), LieGG rotation variance (−), Middle-layer invariance (+)", "ch1 Fig. 5, eq. 4",
          paper="ν trades accuracy for invariance", relation="holds",
          reason="each correlation's 95 % interval excludes 0 on its side"),
    Claim("V5.1", "WT is exactly R4-invariant through every chapter's code: max of LI, DI, 1 − SI and 1 − the "
          "per-layer invariance of its pooled layers (for the CNN: of every layer)", "docs/architecture.md", paper=0.0,
          relation="<=", target=1e-5, kind="verification", reason="weight-tying is invariant by construction; 1e-5 allows float32 round-off"),
]}


def _on_cnns(c: Claim, cid: str, statement: str) -> Claim:
    """``c``'s rule, source and paper statement applied to the CNN family, as claim ``cid``."""
    return replace(c, id=cid, statement=statement,
                   reason=f"{c.id}'s rule on the CNNs (written before the CNN family's first result)")


CLAIMS |= {c.id: c for c in [
    _on_cnns(CLAIMS["S5.1"], "S5.6", "The CNN family tells S5.1's story: LieGG's variance along the rotation "
             "generator and LI rank its networks alike: Spearman ρ over every CNN, [interval excludes 0 (sign +), "
             "ρ ≥ 0.8, lower bound > 0.5]"),
    _on_cnns(CLAIMS["S5.2"], "S5.7", "In CNNs too, SI separates WT (kernels tied over R4) and IR (ν by ch1's SI ≥ "
             "0.95 rule) from DA-R4 where accuracy does not: [SI(WT) > SI(DA), SI(IR) > SI(DA), |acc(WT) − acc(DA)| "
             "≤ 2, |acc(IR) − acc(DA)| ≤ 2]"),
    _on_cnns(CLAIMS["S5.3"], "S5.8", "DA CNNs, invariant at the output, are far from equivariant in their middle "
             "block (S5.3 on CNNs; chapter 3 measures maps against turned maps): DA-R4 and DA-SO2: [Final inv. ≥ 0.9, "
             "Final inv. > Middle equiv. (paired), Middle equiv. ≤ 0.8] each"),
]}
CLAIMS = {k: CLAIMS[k] for k in sorted(CLAIMS, key=lambda k: (k[0] == "V", k))}  # S5.1 .. S5.8, then V5.1


def _s1(df, arch: str = "mlp") -> list | None:
    df = networks(df, arch)
    if len(df) < 4:
        return None
    c = Correlation(df["liegg_rotation"], df["LI"], sign=1)
    return [c, c.rho >= RHO_MIN, c.interval[0] > RHO_FLOOR]


def _s2(zoo: dict, base: str) -> list | None:
    da, wt = zoo.get(f"DA-R4 · {base}"), zoo.get(f"WT · {base}")
    ir = {r["nu"]: r for lab, r in zoo.items() if r["kind"] == "IR" and r["nu"] > 0 and lab.endswith(f" · {base}")}
    if da is None or wt is None or not ir:
        return None
    chosen = ir[pick_nu(ir, SI_TARGET)]
    gap = lambda r: abs(np.mean(r["acc"]) - np.mean(da["acc"])) <= ACC_GAP  # noqa: E731
    return [Effect(wt["SI"], da["SI"], paired=False), Effect(chosen["SI"], da["SI"], paired=False), gap(wt),
            gap(chosen)]


def _s3(zoo: dict, base: str) -> list | None:
    checks = []
    for kind in ("DA-R4", "DA-SO2"):
        r = zoo.get(f"{kind} · {base}")
        if r is None:
            return None
        final, middle = np.asarray(r["inv_parts"])[:, 3], np.asarray(r["eqv_parts"])[:, 1]  # (M,) each
        checks += [final.mean() >= FINAL_INV, Effect(final, middle), middle.mean() <= MIDDLE_EQV]
    return checks


def _s4(df, zoo: dict, base: str) -> list | None:
    d = networks(df, "mlp")
    star = {k: zoo.get(f"{k} · {base}", {}).get("eta_star") for k in ("plain", "DA-R4", "DA-SO2")}
    if any(v is None for v in star.values()):
        return None
    return [Correlation(d.eta_star, d.LI, sign=-1), Effect(star["DA-SO2"], star["plain"], paired=False),
            Effect(star["DA-SO2"], star["DA-R4"], paired=False)]


def _s5(df) -> list | None:
    ir = df[(df.kind == "IR") & (df.arch == "mlp")]  # the MLP sweep, nu = 0 included
    if ir.nu.nunique() < 2:
        return None
    return [Correlation(ir.nu, ir.LI, sign=-1), Correlation(ir.nu, ir.SI, sign=1),
            Correlation(ir.nu, ir.liegg_rotation, sign=-1), Correlation(ir.nu, ir.inv_Middle, sign=1)]


def _v1(zoo: dict) -> float | None:
    wt = [r for r in zoo.values() if r["kind"] == "WT"]
    if not wt:
        return None
    return max(max(np.max(r["LI"]), np.max(r["DI"]), 1 - np.min(r["SI"]), 1 - np.min(r["invariance"]))
               for r in wt)


def values(ev: Mapping) -> dict:
    """``{claim id: measured value}`` from the chapter's parts: lists of sub-checks for the ``holds`` claims,
    a number for V5.1, None where a claim was not measured."""
    zoo, df = members(ev), frame(ev)
    base = next((lab.split(" · ")[1] for lab, r in zoo.items() if r["kind"] == "plain" and r.get("arch", "mlp") == "mlp"), "")
    cnn = next((lab.split(" · ")[1] for lab, r in zoo.items() if r["kind"] == "plain" and r.get("arch") == "cnn"), None)
    return {"S5.1": _s1(df), "S5.2": _s2(zoo, base), "S5.3": _s3(zoo, base), "S5.4": _s4(df, zoo, base), "S5.5": _s5(df),
            "S5.6": _s1(df, "cnn") if cnn else None, "S5.7": _s2(zoo, cnn) if cnn else None,
            "S5.8": _s3(zoo, cnn) if cnn else None, "V5.1": _v1(zoo)}


def table(ev: Mapping) -> ClaimTable:
    """The chapter's *claims vs measurements* table."""
    return ClaimTable.of(CLAIMS, values(ev))
