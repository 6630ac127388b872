"""Chapter 1's claims (C1.1-C1.7) and the values the stored parts give them."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...claims import Claim, ClaimTable, fraction_true
from .parts import groups_of, sensitivity_of
from .settings import MODELS

__all__ = ["CLAIMS", "values", "table"]

CLAIMS = {c.id: c for c in [
    Claim("C1.1", "WT: max over groups of LI, DI and 1 − SI", "Table 1", paper=0.0, relation="<=", target=1e-6),
    Claim("C1.2a", "DA: accuracy gap to WT, max over groups (points)", "Table 1", paper="0.6; 0.4",
          relation="<=", target=1.0, tolerance=2.0),
    Claim("C1.2b", "DA: LI ≥ 100 × IR's LI and SI ≤ 0.6 (fraction of the 4 checks over R4, T3)", "Table 1",
          paper="LI 98.6, 50.8; SI 0.17, 0.57", relation="holds"),
    Claim("C1.3a", "IR: SI at the chosen ν, min over groups", "Table 1", paper=0.95, relation=">=",
          target=0.95, tolerance=0.05),
    Claim("C1.3b", "IR accuracy below DA's (fraction of groups)", "Table 1", paper="87.9 < 94.0; 93.1 < 96.2",
          relation="holds"),
    Claim("C1.4", "at β = 1: DI(DA) > 10 × DI of WT and IR, and DI(DA) grows with β (fraction over groups)",
          "Fig. 4", paper="DA grows, WT/IR ≈ 0", relation="holds"),
    Claim("C1.5", "σ_max(J) of IR-KL, IR-L2, IR-L2/‖f‖² below DA's (fraction of the 6 checks)", "Fig. 5",
          paper="all smaller", relation="holds"),
    Claim("C1.6", "DA, R4: fraction of orbit members whose nearest feature-space neighbour is in their own orbit",
          "Fig. 2", paper="far apart", relation="<=", target=0.5, tolerance=0.25),
    Claim("C1.7", "largest step-to-step increase of ‖W(t)‖₂ (gradient flow and descent)", "Prop. 3.1",
          paper="never increases", relation="<=", target=1e-9),
]}


def values(ev: Mapping) -> dict[str, float]:
    """The measured value behind each claim (C1.1-C1.7), from the chapter's parts.

    Returns:
        ``{claim id: value}``: numbers for the threshold claims, fractions of sub-checks for the others.
    """
    groups, sens, prop = groups_of(ev), sensitivity_of(ev), ev["proposition"]
    T = {g: r["table"] for g, r in groups.items()}
    m = lambda v: float(np.mean(v))  # noqa: E731
    d_checks = []
    for r in groups.values():
        di = {k: np.asarray(r["drift"][k]["DI"]).mean(1) for k in MODELS}  # (n_beta,) per model
        d_checks += [di["DA"][-1] > 10 * max(di["WT"][-1], di["IR"][-1]), di["DA"][-1] > di["DA"][0]]
    chosen = lambda sv, k: sv[k]["sweep"][sv[k]["nu"]]  # noqa: E731  the metrics at the chosen nu
    return {
        "C1.1": max(max(m(t["WT"]["LI"]), m(t["WT"]["DI"]), 1 - m(t["WT"]["SI"])) for t in T.values()),
        "C1.2a": max(m(t["WT"]["acc"]) - m(t["DA"]["acc"]) for t in T.values()),
        "C1.2b": fraction_true([c for t in T.values() for c in (m(t["DA"]["LI"]) >= 100 * m(t["IR"]["LI"]),
                                                                 m(t["DA"]["SI"]) <= 0.6)]),
        "C1.3a": min(m(t["IR"]["SI"]) for t in T.values()),
        "C1.3b": fraction_true([m(t["IR"]["acc"]) < m(t["DA"]["acc"]) for t in T.values()]),
        "C1.4": fraction_true(d_checks),
        "C1.5": fraction_true([m(chosen(sv, k)["sigma_max"]) < m(T[g]["DA"]["sigma_max"])
                               for g, sv in sens.items() for k in ("kl", "l2", "l2_normalized") if k in sv]),
        "C1.6": float(groups["rot4"]["tsne"]["neighbours"]["DA"]["same_orbit"]),
        "C1.7": max(prop["max_increase_flow"], prop["max_increase_gd"]),
    }


def table(ev: Mapping) -> ClaimTable:
    """The chapter's *paper vs ours* table."""
    return ClaimTable.of(CLAIMS, values(ev))
