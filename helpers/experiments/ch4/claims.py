"""Chapter 4's claims (rules fixed before results), and the values the stored parts give them."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...claims import Claim, ClaimTable, fraction_true
from .views import sweep_correlations, sweep_frame

__all__ = ["CLAIMS", "values", "table", "worst_bias_shift"]

CLAIMS = {c.id: c for c in [
    Claim("C4.1", "largest so(5) bias among the 10 smallest singular vectors (worst seed)", "Fig. 2b",
          paper="≈ 0", relation="<=", target=0.05, tolerance=0.05),
    Claim("C4.2", "Spearman ρ(training-set size, mean symmetry variance)", "Fig. 2 right",
          paper="decreasing", relation="<=", target=-0.7, tolerance=0.3),
    Claim("C4.3", "invariant model, untrained: max(σ₁₀/σ_max, largest bias of the ten)", "Sec. 5.1",
          paper=0.0, relation="<=", target=1e-6),
    Claim("C4.4a", "rotation-MNIST, deep MLP: bias of the smallest singular vector (seed mean)", "Fig. 3a",
          paper="≈ 0", relation="<=", target=0.1, tolerance=0.1),
    Claim("C4.4b", "deep net's bias < shallow net's bias (seed means)", "Fig. 3a", paper="deep < shallow",
          relation="holds"),
    Claim("C4.5a", "Spearman ρ(parameters, symmetry variance)", "Fig. 4a", paper="negative",
          relation="<=", target=-0.2, tolerance=0.2),
    Claim("C4.5b", "Spearman ρ(symmetry variance, test accuracy)", "Fig. 4b", paper=-0.49,
          relation="<=", target=-0.2, tolerance=0.2),
    Claim("C4.5c", "Spearman ρ(symmetry bias, test accuracy)", "Fig. 4b", paper=-0.31,
          relation="<=", target=-0.2, tolerance=0.2),
    Claim("C4.6a", "final layer: spread (max/min) of the symmetry variance across MLP-7, [F], [L]", "Fig. 5",
          paper="≈ equal", relation="<=", target=2.0, tolerance=1.0),
    Claim("C4.6b", "intermediate layers: fraction of (layer, regime) pairs where [F]/[L] have lower variance than MLP-7",
          "Fig. 5", paper="all", relation="holds"),
    Claim("C4.7", "largest |bias(fraction) − bias(all)| at 0.25 % (O(5)) and 5 % (rotation-MNIST)", "Figs. 6–7",
          paper="≈ 0", relation="<=", target=0.02, tolerance=0.03),
    Claim("C4.8", "rotation-augmented CIFAR-10 MLP: bias of the smallest singular vector (seed mean)", "Fig. 8a",
          paper="≈ 0", relation="<=", target=0.1, tolerance=0.1),
]}


def worst_bias_shift(sc: Mapping, fraction: float) -> float:
    """Largest |bias(subset) − bias(all rows)| over the random subsets at the fraction nearest ``fraction``."""
    i = int(np.argmin(np.abs(np.asarray(sc["fractions"], dtype=float) - fraction)))
    return float(np.abs(np.asarray(sc["bias"])[i] - sc["bias_full"]).max())


def _layerwise(lw: Mapping) -> tuple[float, float]:
    """C4.6: the final layer's spread (max/min) of the variance over MLP-7, [F], [L], and the fraction of
    (intermediate layer, regime) pairs where [F] or [L] has a lower seed-mean variance than MLP-7."""
    var = {r: np.asarray(lw[r]["variance"], dtype=float).mean(0) for r in ("MLP-7", "MLP-7[F]", "MLP-7[L]")}  # (L,)
    final = np.array([v[-1] for v in var.values()])
    improved = [bool(var[r][l] < var["MLP-7"][l]) for r in ("MLP-7[F]", "MLP-7[L]")
                for l in range(len(var["MLP-7"]) - 1)]
    return float(final.max() / final.min()), fraction_true(improved)


def values(ev: Mapping) -> dict:
    """``{claim id: measured value}`` from the chapter's parts (``ev[name]`` is a part's result)."""
    o5, inv, rot, cifar = ev["o5"], ev["o5"]["invariant"], ev["rotation"], ev["cifar"]
    sigma, bias = np.asarray(inv["sigma"]), np.asarray(inv["bias"])
    sweep = sweep_correlations(sweep_frame(ev))
    deep, shallow = (float(np.asarray(rot[n]["bias"])[:, 0].mean()) for n in ("deep", "shallow"))
    spread, improved = _layerwise(ev["layerwise"])
    return {
        "C4.1": float(np.asarray(o5["bias"])[:, :10].max()),
        "C4.2": float(ev["o5-sizes"]["spearman"]),
        "C4.3": max(float(sigma[9] / sigma[-1]), float(bias[:10].max())),
        "C4.4a": deep,
        "C4.4b": bool(deep < shallow),
        "C4.5a": sweep["spearman_params_var"],
        "C4.5b": sweep["spearman_var_acc"],
        "C4.5c": sweep["spearman_bias_acc"],
        "C4.6a": spread,
        "C4.6b": improved,
        "C4.7": max(worst_bias_shift(o5["sample_complexity"], 0.0025),
                    worst_bias_shift(rot["sample_complexity"], 0.05)),
        "C4.8": None if "skipped" in cifar else float(np.asarray(cifar["bias"])[:, 0].mean()),
    }


def table(ev: Mapping) -> ClaimTable:
    """The chapter's *paper vs ours* table."""
    return ClaimTable.of(CLAIMS, values(ev))
