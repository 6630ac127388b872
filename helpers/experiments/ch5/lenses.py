"""The four papers' lenses on one trained network. Nothing is re-implemented: each lens calls the chapter code
that defines it.

- **Output (ch1)**: accuracy, LI, DI and SI over R4 (eqs. 1-3 of Moskalev et al. 2023), chapter 1's Table 1
  columns (``metrics.output_lens``).
- **Layers (ch3)**: the invariance (eq. 4) and equivariance (eq. 7) of Bruintjes et al. 2023 per hidden layer, for
  the three quarter turns (chapter 3's ``rotation`` transforms), with ``metrics.capture`` and
  ``metrics.in_equivariance``. An MLP's layers are vectors, on which a rotation acts as the identity: a unit's
  "map" is its response over the evaluation images (the Pool / Final convention of ``metrics.similarity``), so
  invariance asks whether unit c responds to ``g x`` as to ``x``, equivariance whether *some* unit c' does.
- **Generators (ch4)**: LieGG's image polarization matrix (eq. 3 of Moskalev et al. 2022) of the L2-normalised
  logits, with background 0 (rotation-MNIST's), read by ``metrics.spectrum_and_bias`` (chapter 4's read-out): the
  symmetry variance ``sigma_min^2 / N`` and the bias of the generator it retrieves; and the variance *along the
  rotation generator* ``||E vec(J)||^2 / N`` (eq. 4's variance at ``h = J``, the unit rotation generator).
  Layer by layer as chapter 4 measures it (Sec. 5.4 of Moskalev et al. 2022): the same read-out of the L2-normalised
  activations after each hidden layer (``hidden_features``).
- **Marginal likelihood (ch2)**: the rotation eq. 9 prefers for the trained network, ``metrics.preferred_rotation``
  (the network averaged over a grid of rotations in ``[-eta, eta]``, eq. 6, its weights a point estimate so the
  KL term is 0) on its own training images; for ML-η members also the eta they learned.

ML-η members (chapter 2's one-hidden-layer net, averaged over rotations inside) have no Early / Middle / Late
layers: their per-layer lenses are NaN.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
import torch
from torch import Tensor, nn

from ...groups import ROT4
from ...metrics import (capture, in_equivariance, layer_in_equivariance, output_lens, polarization_matrix_image,
                        preferred_rotation, spectrum_and_bias, variance_along)
from ...models import MLP, GroupPooledMLP, SmallCNN
from ..ch3 import rotation
from .settings import DEPTH, Settings
from .zoo import EtaNet

__all__ = ["ROTATION_GENERATOR", "layers_of", "layer_lens", "depth_means",
           "liegg_lens", "hidden_features", "liegg_layers", "marginal_lens", "measure"]

#: The unit rotation generator J / sqrt(2) in LieGG's (row, col) coordinates, flattened like a row of E: (4,).
ROTATION_GENERATOR = torch.tensor([0.0, -1.0, 1.0, 0.0], dtype=torch.float64) / math.sqrt(2)


def layers_of(model: nn.Module) -> dict[str, nn.Module]:
    """The modules whose outputs are a network's layers, in depth order: each hidden layer after its activation,
    then the logits. For WT the first is the group-pooled layer (the output of ``rest``'s Flatten); for a
    ``SmallCNN`` its three blocks' maps, then the logits.

    Raises:
        ValueError: a model that is neither ``MLP``, ``GroupPooledMLP`` nor ``SmallCNN``.
    """
    if isinstance(model, SmallCNN):
        return {f"block{i + 1}": b for i, b in enumerate(model.blocks)} | {"logits": model.head}
    if isinstance(model, GroupPooledMLP):
        mods, first = list(model.rest), {"h1 (pooled)": model.rest[0]}
    elif isinstance(model, MLP):
        mods, first = list(model), {}
    else:
        raise ValueError(f"layers_of needs an MLP, a GroupPooledMLP or a SmallCNN, got {type(model).__name__}")
    acts = [m for m, nxt in zip(mods, mods[1:]) if isinstance(nxt, nn.Linear) and not isinstance(m, nn.Flatten)]
    names = {**first, **{f"h{i + 1 + len(first)}": m for i, m in enumerate(acts)}}
    return {**names, "logits": mods[-1]}


def layer_lens(model: nn.Module, x: Tensor) -> dict:
    """Invariance and equivariance (eqs. 4, 7 of ch3) of every layer of ``layers_of(model)``, averaged over the
    three quarter turns. A CNN's maps are compared with the turned maps ``T_g f(X)`` (chapter 3's
    ``layer_in_equivariance``); an MLP's vectors with ``f(X)`` (a rotation acts on them as the identity).

    Args:
        x: ``(B, 28, 28)`` evaluation images on the model's device (B >= 2).
    Returns:
        ``{"layers": names (L,), "invariance": (L,), "equivariance": (L,)}``.
    """
    layers = layers_of(model)
    if isinstance(model, SmallCNN):
        r = layer_in_equivariance(model, model.layers(), x.unsqueeze(1), [rotation(k) for k in (1, 2, 3)])
        keep = [i for i, name in enumerate(r["layers"]) if name != "pool"]  # the blocks and the logits
        return {"layers": list(layers), "invariance": np.asarray(r["invariance"])[keep],
                "equivariance": np.asarray(r["equivariance"])[keep]}
    base = capture(model, layers, x)  # {name: (B, C)}
    inv, eqv = np.zeros((3, len(layers))), np.zeros((3, len(layers)))
    for i, k in enumerate((1, 2, 3)):
        moved = capture(model, layers, rotation(k)(x, x.shape[-1]))  # f(T_g X), {name: (B, C)}
        for j, name in enumerate(layers):
            inv[i, j], eqv[i, j] = in_equivariance(moved[name], base[name])  # T_g is the identity on vectors
    return {"layers": list(layers), "invariance": inv.mean(0), "equivariance": eqv.mean(0)}


def depth_means(values: np.ndarray) -> np.ndarray:
    """Means over the depth parts ``DEPTH``: ``(L,)`` per-layer values (hidden layers, then logits) -> ``(4,)``."""
    hidden = np.array_split(np.asarray(values[:-1], dtype=float), 3)  # Early / Middle / Late
    if any(len(h) == 0 for h in hidden):
        raise ValueError(f"depth parts need >= 3 hidden layers, got {len(values) - 1}")
    return np.array([h.mean() for h in hidden] + [float(values[-1])])


def liegg_lens(model: nn.Module, x: Tensor) -> dict:
    """LieGG on images (eq. 3 of ch4) of the L2-normalised logits, background 0.

    Args:
        x: ``(N, 28, 28)`` smoothed images on the model's device.
    Returns:
        ``{"variance": sigma_min^2 / N, "bias": bias of the retrieved generator, "rotation": ||E vec(J)||^2 / N,
        "generator": (2, 2)}``.
    """
    E = polarization_matrix_image(model, x, normalize=True, background=0.0).double()  # (N, 4)
    sb = spectrum_and_bias(E)
    rot = variance_along(E, ROTATION_GENERATOR.view(2, 2))  # eq. 4's variance at h = J
    return {"variance": sb["variance"], "bias": float(sb["bias"][0]), "rotation": rot, "generator": sb["generator"]}


def hidden_features(model: nn.Module) -> list:
    """Callables ``(B, 28, 28) -> (B, C)``, the outputs of the layers of ``layers_of`` but the logits in depth order
    (read by a forward hook, flattened): an MLP's activations after each hidden layer, WT's pooled layer first, a
    ``SmallCNN``'s block maps."""
    return [partial(_output_of, model, m) for m in list(layers_of(model).values())[:-1]]


def _output_of(model: nn.Module, module: nn.Module, x: Tensor) -> Tensor:
    """``module``'s output ``(B, ...)`` in ``model(x)``, flattened to ``(B, C)`` (gradients flow to ``x``)."""
    out: list[Tensor] = []
    hook = module.register_forward_hook(lambda _m, _i, o: out.append(o))
    try:
        model(x)
    finally:
        hook.remove()
    return out[0].flatten(1)


def liegg_layers(model: nn.Module, x: Tensor) -> np.ndarray:
    """LieGG's variance along the rotation generator (eq. 4 at ``h = J``) of every layer of ``layers_of(model)``:
    the L2-normalised activations after each hidden layer, then the logits (``liegg_lens``).

    Args:
        x: ``(N, 28, 28)`` smoothed images on the model's device.
    Returns:
        ``(L,)``.
    """
    return np.array([liegg_lens(fn, x)["rotation"] for fn in hidden_features(model)] + [liegg_lens(model, x)["rotation"]])


def marginal_lens(model: nn.Module, train: tuple[Tensor, Tensor], s: Settings) -> dict:
    """Chapter 2's lens: the rotation eq. 9 prefers for the fixed network on its first ``s.n_eval`` training
    images (``metrics.preferred_rotation`` over ``s.probe_degrees``, ``s.probe_points`` rotations each).

    Returns:
        ``{"eta_star": degrees, "log_lik": (K,) per probe eta, "gain": L(eta*) - L(0)}``.
    """
    dev = next(model.parameters()).device
    x, y = train[0][: s.n_eval].to(dev), train[1][: s.n_eval].to(dev)  # (N, 28, 28), (N,)
    r = preferred_rotation(model, x, y, [math.radians(d) for d in s.probe_degrees], s.probe_points)
    return {"eta_star": math.degrees(r["eta"]), "log_lik": r["log_lik"], "gain": r["gain"]}


def measure(models: list[nn.Module], test: tuple[Tensor, Tensor], s: Settings, train: tuple[Tensor, Tensor]) -> dict:
    """Every lens on each of M trained members of one configuration (``test``, ``train``: ``(x (B, 28, 28),
    y (B,))``).

    Returns:
        ``{"acc", "LI", "DI", "SI", "liegg_variance", "liegg_bias", "liegg_rotation", "eta_star", "eta_gain",
        "eta_learned" (None but for ML-η): [M], "probe_log_lik": (M, K), "layers": names (L,), "invariance",
        "equivariance", "liegg_layers": (M, L), "inv_parts", "eqv_parts", "lie_parts": (M, 4),
        "generator": (M, 2, 2)}``; NaN per-layer values (L = 1) for ML-η members.
    """
    dev = next(models[0].parameters()).device
    x = test[0][: s.n_eval].to(dev)  # (B, 28, 28)
    out = output_lens(models, test, ROT4, s.n_eval, s.n_si, s.ig_steps)  # chapter 1's Table 1 columns over R4
    ml = [marginal_lens(m, train, s) for m in models]
    out |= {"eta_star": [r["eta_star"] for r in ml], "eta_gain": [r["gain"] for r in ml],
            "probe_log_lik": np.array([r["log_lik"] for r in ml])}  # (M, K)
    out["eta_learned"] = [m.eta_degrees if isinstance(m, EtaNet) else None for m in models]
    lie = [liegg_lens(m, x) for m in models]
    out |= {"liegg_variance": [r["variance"] for r in lie], "liegg_bias": [r["bias"] for r in lie],
            "liegg_rotation": [r["rotation"] for r in lie],
            "generator": torch.stack([r["generator"] for r in lie])}  # (M, 2, 2)
    if isinstance(models[0], EtaNet):  # one hidden layer inside an average over rotations: no depth parts
        nan = np.full((len(models), 1), np.nan)
        return out | {"layers": ["logits"], "invariance": nan, "equivariance": nan, "liegg_layers": nan,
                      **{k: np.full((len(models), len(DEPTH)), np.nan) for k in ("inv_parts", "eqv_parts",
                                                                                    "lie_parts")}}
    lay = [layer_lens(m, x) for m in models]
    out |= {"layers": lay[0]["layers"],
            "invariance": np.stack([r["invariance"] for r in lay]),  # (M, L)
            "equivariance": np.stack([r["equivariance"] for r in lay]),  # (M, L)
            "liegg_layers": np.stack([liegg_layers(m, x) for m in models])}  # (M, L)
    for key, parts in (("invariance", "inv_parts"), ("equivariance", "eqv_parts"), ("liegg_layers", "lie_parts")):
        out[parts] = np.stack([depth_means(v) for v in out[key]])  # (M, 4)
    return out
