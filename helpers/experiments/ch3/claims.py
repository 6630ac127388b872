"""Chapter 3's claims (C3.1-C3.6), their rules, and the values the stored parts give them.

The trained-network claims (C3.3-C3.5) can read equivariance with the best channel c' chosen per image
(``matching="sample"``, the chapter's verdicts) or once for all images (``"shared"``; ``metrics.similarity``).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...claims import Claim, ClaimTable
from .parts import collect
from .pretrained import spearman_parts
from .settings import AUGMENTATIONS, SETTINGS, Settings

__all__ = ["CLAIMS", "MATCHINGS", "claim_values", "values", "table", "mean_parts"]

MATCHINGS = ("sample", "shared")

CLAIMS = {c.id: c for c in [
    Claim("C3.1a", "|change of the mean correlation| when 0.5 is added to both maps", "Fig. 2a", paper=0.0,
          relation="<=", target=1e-6),
    Claim("C3.1b", "ρ(cosine invariance, magnitude) − ρ(correlation invariance, magnitude), ResNet blocks",
          "Fig. 2b", paper=0.63 - 0.11, relation=">=", target=0.3, tolerance=0.2),
    Claim("C3.2", "toy CNNs: fraction of the 5 checks (Gaussian inv = eqv = 1; cut corner eqv = 1, inv < 0.95; "
          "random eqv < 0.95)",
          "Fig. 3", paper="all hold", relation="holds"),
    Claim("C3.3", "MNIST6 tasks: fraction of checks (Early ≥ Middle ≥ Late eqv; eqv > inv in Early, Middle; "
          "Rot-Inv vs MNIST6 Early eqv within 0.05)", "Fig. 5", paper="all hold", relation="holds"),
    Claim("C3.4a", "fraction of (crop/RandAugment, Middle/Late/Final) with equivariance above the baseline", "Fig. 6a",
          paper="all above", relation="holds"),
    Claim("C3.4b", "largest |equivariance − invariance| over parts and augmentations (translation)", "Fig. 6a",
          paper="≈ 0", relation="<=", target=0.05, tolerance=0.05),
    Claim("C3.5", "widest vs narrowest: fraction of Middle/Late with lower equivariance", "Fig. 6b",
          paper="lower", relation="holds"),
    Claim("C3.6a", "Spearman ρ(Final translation equivariance, ImageNet accuracy), 6 pretrained models", "Fig. 4",
          paper="≈ 1", relation=">=", target=0.5, tolerance=0.3),
    Claim("C3.6b", "fraction of (translation: Early, Middle; rotation: Early, Middle, Late) where the CNNs' mean "
          "equivariance exceeds ViT and Mixer's", "Fig. 7", paper="all hold", relation="holds"),
]}


def mean_parts(runs: list[dict], key: str) -> np.ndarray:
    """The seed mean of ``{key}_parts`` over ``runs`` (measure results): ``(5,)``."""
    return np.mean([r[f"{key}_parts"] for r in runs], 0)


def _toy(toy: dict, tol: float = 1e-5) -> float:
    checks = [toy["invariant"]["invariance"].min() > 1 - tol, toy["invariant"]["equivariance"].min() > 1 - tol,
              toy["equivariant"]["equivariance"].min() > 1 - tol,
              toy["equivariant"]["invariance_parts"][:3].max() < 1 - 0.05,
              toy["random"]["equivariance_parts"][:3].max() < 1 - 0.05]
    return sum(map(bool, checks)) / len(checks)


def _mnist6(mn: dict, eq: str) -> float:
    E = {t: mean_parts(mn[t]["runs"], eq) for t in mn}
    I = {t: mean_parts(mn[t]["runs"], "invariance") for t in mn}  # noqa: E741
    checks = [E[t][0] >= E[t][1] >= E[t][2] for t in mn] + [E[t][p] > I[t][p] for t in mn for p in (0, 1)]
    checks.append(abs(E["MNIST6-Rot-Inv"][0] - E["MNIST6"][0]) <= 0.05)
    return sum(map(bool, checks)) / len(checks)


def _augmentations(aug: dict, eq: str) -> tuple[float | None, float]:
    base = mean_parts(aug["baseline"]["runs"], eq)
    raised = [mean_parts(aug[a]["runs"], eq)[p] > base[p]
              for a in ("random crop", "RandAugment") if a in aug for p in (1, 2, 4)]
    gap = max(float(np.abs(mean_parts(aug[a]["runs"], eq) - mean_parts(aug[a]["runs"], "invariance")).max())
              for a in AUGMENTATIONS if a in aug)
    return (sum(map(bool, raised)) / len(raised) if raised else None), gap


def _pretrained(pre: dict, eq: str) -> tuple[float, float | None]:
    rho = spearman_parts(pre["models"], "translation", eq)[-1]
    kinds = {k: [m for m in pre["models"].values() if m["kind"] == k] for k in ("cnn", "token")}
    if not all(kinds.values()):
        return rho, None
    mean = lambda k, t: np.mean([m[t][f"{eq}_parts"] for m in kinds[k]], 0)  # noqa: E731  (5,)
    # Sec. 4.6: translation in Early and Middle, rotation in every intermediate part
    more = [mean("cnn", t)[p] > mean("token", t)[p] for t, ps in (("translation", (0, 1)), ("rotation", (0, 1, 2)))
            for p in ps]
    return rho, sum(map(bool, more)) / len(more)


def claim_values(demo: dict | None, fig2b: dict | None, toy: dict | None, mn: dict | None, aug: dict | None,
                 wid: dict | None, pre: dict | None, matching: str = "sample") -> dict:
    """The measured value of every claim of the chapter (C3.1-C3.6), from the experiments' results.

    ``holds`` claims get the fraction of their sub-checks that hold (see ``CLAIMS``). An experiment passed as
    ``None`` (not run, e.g. in a partial study) leaves its claims ``None``.

    Args:
        demo: ``similarity-demo``'s result; fig2b: ``aug-baseline``'s ``"fig2b"``; toy: ``toy``'s result;
            mn / aug / wid: ``collect``'s ``"mnist6"`` / ``"augmentations"`` / ``"widths"`` (int keys);
            pre: ``pretrained``'s result (its claims stay None when it was skipped).
        matching: which equivariance the trained-network claims (C3.3-C3.6) use, ``"sample"`` (the best
            channel per image) or ``"shared"`` (one channel for all images).
    """
    if matching not in MATCHINGS:
        raise ValueError(f"unknown matching {matching!r}; valid: {list(MATCHINGS)}")
    eq = "equivariance" if matching == "sample" else "equivariance_shared"
    out = dict.fromkeys(("C3.1a", "C3.1b", "C3.2", "C3.3", "C3.4a", "C3.4b", "C3.5", "C3.6a", "C3.6b"))
    if demo is not None:
        out["C3.1a"] = abs(demo["correlation"]["shifted"] - demo["correlation"]["plain"])
    if fig2b is not None:
        out["C3.1b"] = fig2b["rho_cosine"] - fig2b["rho_correlation"]
    if toy is not None:
        out["C3.2"] = _toy(toy)
    if mn is not None:
        out["C3.3"] = _mnist6(mn, eq)
    if aug is not None:
        out["C3.4a"], out["C3.4b"] = _augmentations(aug, eq)
    ks = sorted(k for k in (wid or {}) if isinstance(k, int))
    if len(ks) > 1:
        wide = [mean_parts(wid[ks[-1]]["runs"], eq)[p] < mean_parts(wid[ks[0]]["runs"], eq)[p] for p in (1, 2)]
        out["C3.5"] = sum(map(bool, wide)) / len(wide)
    if pre is not None and "skipped" not in pre:
        out["C3.6a"], out["C3.6b"] = _pretrained(pre, eq)
    return out


def values(ev: Mapping, s: Settings | None = None, matching: str = "sample") -> dict:
    """``{claim id: measured value}`` from the chapter's parts (``ev[name]`` is a part's result).

    Args:
        ev: the page's ``Evidence`` (or any mapping of part results); s: the settings the parts ran with
            (default: ``SETTINGS[ev.profile]``); matching: see ``claim_values``.
    """
    s = s if s is not None else SETTINGS[ev.profile]
    c = collect(ev, s)
    return claim_values(ev["similarity-demo"], ev["aug-baseline"]["fig2b"], ev["toy"], c["mnist6"],
                        c["augmentations"], c["widths"], ev["pretrained"], matching)


def table(ev: Mapping, s: Settings | None = None, matching: str = "sample") -> ClaimTable:
    """The chapter's *paper vs ours* table (``matching="shared"``: the second reading, same networks)."""
    return ClaimTable.of(CLAIMS, values(ev, s, matching))
