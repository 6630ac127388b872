"""Chapter 4's claims (rules fixed before results), and the values the stored parts give them."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...claims import Claim, ClaimTable
from ...noise import Correlation, Effect, Seeds
from .paper import AUTHORS_CODE, FIG4B_SPEARMAN, SAMPLE_PERCENT
from .results import sweep_frame, worst_bias_shift

__all__ = ["CLAIMS", "values", "table"]

_ACC, _VAR = AUTHORS_CODE["accuracy"], AUTHORS_CODE["variance_pixel_units"]

CLAIMS = {c.id: c for c in [
    Claim("C4.1", "largest so(5) bias among the 10 smallest singular vectors (worst seed)", "Fig. 2b",
          paper="≈ 0", relation="<=", target=0.05, tolerance=0.05,
          reason="the paper plots biases indistinguishable from 0; we read ≈ 0 as ≤ 0.05, partly ≤ 0.1"),
    Claim("C4.2", "Spearman ρ(training-set size, symmetry variance) over sizes × seeds", "Fig. 2 right",
          paper="decreasing", relation="correlation", target=-1,
          reason="negative with its 95 % interval below 0"),
    Claim("C4.3", "invariant model, untrained: max(σ₁₀/σ_max, largest bias of the ten)", "Sec. 5.1",
          paper=0.0, relation="<=", target=1e-6, kind="verification",
          reason="an exactly O(5)-invariant function has so(5) in its null space; 1e-6 is round-off"),
    Claim("C4.4a", "rotation-MNIST, deep MLP: bias of the smallest singular vector (per seed)", "Fig. 3a",
          paper="≈ 0", relation="<=", target=0.1, tolerance=0.1,
          reason="the authors' code gives 0.027-0.10 by data draw: its top, partly up to 0.2"),
    Claim("C4.4b", "rotation-MNIST: deep net's bias below the shallow net's (per seed)", "Fig. 3a",
          paper="deep < shallow", relation="effect", reason="beyond 2 SE over seeds"),
    Claim("C4.4c", "rotation-MNIST, deep MLP: test accuracy (%)", "authors' code", paper=sum(_ACC) / 2,
          relation="approx", tolerance=2.5,
          reason="the authors' code reaches 86-87 % by data draw; their range ± 2 points for our draw and budget"),
    Claim("C4.4d", "rotation-MNIST, deep MLP: symmetry variance in the authors' pixel units", "authors' code",
          paper=sum(_VAR) / 2, relation="approx", tolerance=(_VAR[1] - _VAR[0]) / 2,
          reason="the authors' code gives 5.6e-4 to 1.2e-3 by data draw: inside that range, partly twice as wide"),
    Claim("C4.5a", "Spearman ρ(parameters, symmetry variance) over the sweep", "Fig. 4a", paper="negative",
          relation="correlation", target=-1, reason="negative with its 95 % interval below 0"),
    Claim("C4.5b", "Spearman ρ(symmetry variance, test accuracy) over the sweep", "Fig. 4b", paper=FIG4B_SPEARMAN["variance"],
          relation="correlation", target=-1, reason="the paper's sign, with its 95 % interval below 0"),
    Claim("C4.5c", "Spearman ρ(symmetry bias, test accuracy) over the sweep", "Fig. 4b", paper=FIG4B_SPEARMAN["bias"],
          relation="correlation", target=-1, reason="the paper's sign, with its 95 % interval below 0"),
    Claim("C4.6a", "final layer: spread (max/min) of the symmetry variance across MLP-7, [F], [L]", "Fig. 5",
          paper="≈ equal", relation="<=", target=2.0, tolerance=1.0,
          reason="the paper's final-layer bars look equal; we allow a factor 2, partly 3"),
    Claim("C4.6b", "intermediate layers: [F] and [L] have lower variance than MLP-7, per (layer, regime)",
          "Fig. 5", paper="all", relation="holds", reason="each difference beyond 2 SE over seeds"),
    Claim("C4.7", "largest |bias(fraction) − bias(all)| at 0.25 % (O(5)) and 5 % (rotation-MNIST) of the "
          "training samples in the polarization matrix", "Figs. 6–7", paper="≈ 0", relation="<=", target=0.02,
          tolerance=0.03,
          reason="Sec. 5.4: 0.25 % / 5 % of the training samples (25 of our 10,000 O(5) points) extract the "
                 "symmetry 'as precisely as' all of them; 0.02 is a fifth of the biases the paper calls small"),
    Claim("C4.8", "rotation-augmented CIFAR-10 MLP: bias of the smallest singular vector (per seed)", "Fig. 8a",
          paper="≈ 0", relation="<=", target=0.1, tolerance=0.1,
          reason="as C4.4a: the top of the authors' code's range on MNIST, partly up to 0.2"),
]}


def _layerwise(lw: Mapping) -> tuple[float, list[Effect]]:
    """C4.6: the final layer's spread (max/min) of the seed-mean variance over MLP-7, [F], [L], and per
    (intermediate layer, regime) the effect "MLP-7's variance above [F]'s / [L]'s" over seeds."""
    var = {r: np.asarray(lw[r]["variance"], dtype=float) for r in ("MLP-7", "MLP-7[F]", "MLP-7[L]")}  # (seeds, L)
    final = np.array([v[:, -1].mean() for v in var.values()])
    lower = [Effect(var["MLP-7"][:, l], var[r][:, l], paired=False) for r in ("MLP-7[F]", "MLP-7[L]")
             for l in range(var["MLP-7"].shape[1] - 1)]
    return float(final.max() / final.min()), lower


def values(ev: Mapping) -> dict:
    """``{claim id: measured value}`` from the chapter's parts (``ev[name]`` is a part's result)."""
    o5, inv, rot, cifar = ev["o5"], ev["o5"]["invariant"], ev["rotation"], ev["cifar"]
    sigma, bias = np.asarray(inv["sigma"]), np.asarray(inv["bias"])
    df = sweep_frame(ev)
    col = lambda k: df[k].to_numpy(float)  # noqa: E731
    deep, shallow = (np.asarray(rot[n]["bias"], dtype=float)[:, 0] for n in ("deep", "shallow"))
    sizes = ev["o5-sizes"]
    var10 = np.asarray(sizes["variance10"], dtype=float)          # (sizes, seeds)
    spread, lower = _layerwise(ev["layerwise"])
    return {
        "C4.1": float(np.asarray(o5["bias"])[:, :10].max()),
        "C4.2": Correlation(np.repeat(np.asarray(sizes["sizes"], float), var10.shape[1]), var10.reshape(-1)),
        "C4.3": max(float(sigma[9] / sigma[-1]), float(bias[:10].max())),
        "C4.4a": Seeds(deep),
        "C4.4b": Effect(shallow, deep, paired=False),
        "C4.4c": Seeds(100 * np.asarray(rot["deep"]["test_acc"], dtype=float)),
        "C4.4d": Seeds(rot["deep"]["variance_pixel_units"]),
        "C4.5a": Correlation(col("n_params"), col("variance")),
        "C4.5b": Correlation(col("variance"), col("test_acc")),
        "C4.5c": Correlation(col("bias"), col("test_acc")),
        "C4.6a": spread,
        "C4.6b": lower,
        "C4.7": max(worst_bias_shift(o5["sample_complexity"], SAMPLE_PERCENT["O(5)"] / 100),
                    worst_bias_shift(rot["sample_complexity"], SAMPLE_PERCENT["rotation-MNIST"] / 100)),
        "C4.8": None if "skipped" in cifar else Seeds(np.asarray(cifar["bias"], dtype=float)[:, 0]),
    }


def table(ev: Mapping) -> ClaimTable:
    """The chapter's *paper vs ours* table."""
    return ClaimTable.of(CLAIMS, values(ev))
