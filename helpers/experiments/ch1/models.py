"""Chapter 1's models and how they are trained: WT (weight-tied), DA (augmented) and IR (eq. 4) MLPs, seeds and
nu sweeps trained as one ensemble."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...augment import group_action
from ...groups import CyclicGroup
from ...metrics import invariance_penalty
from ...models import MLP, GroupPooledMLP
from ...training import build_models, fit_ensemble
from .data import Transforming
from .settings import MODELS, N_CLASSES, SIZE, Settings

__all__ = ["make_model", "invariance_loss", "train", "train_sweep", "fit_ir_sweep"]


def make_model(kind: str, group: CyclicGroup, hidden: tuple[int, ...]) -> nn.Module:
    """WT: ``GroupPooledMLP`` (first layer tied over the group and pooled); DA and IR: a plain ReLU MLP.

    Shapes: ``(B, 36, 36) -> (B, 9)``.
    """
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; valid: {list(MODELS)}")
    if kind == "WT":
        return GroupPooledMLP(group, SIZE * SIZE, list(hidden), N_CLASSES)
    return MLP(SIZE * SIZE, list(hidden), N_CLASSES)


def invariance_loss(group: CyclicGroup, kind: str = "l2"):
    """The IR objective, eq. (4): ``CE(f(x), y) + nu * I_f(x, G)`` on each (augmented) batch, nu per member (a nu
    sweep: ``fit_ensemble``'s ``member_args``).

    ``I_f`` is ``invariance_penalty`` over the batch's whole orbit, computed in one forward pass.

    Returns:
        ``loss_fn(forward, x, y, nu) -> scalar`` for ``fit_ensemble`` (vmap-safe).
    """
    def loss(forward, x: Tensor, y: Tensor, nu) -> Tensor:
        G, B = group.order, len(x)
        z = forward(group.orbit(x).reshape(G * B, *x.shape[1:])).view(G, B, -1)  # (G, B, K)
        return F.cross_entropy(z[0], y) + nu * invariance_penalty(z, kind)

    return loss


def train(kind: str, ds: Transforming, s: Settings, nu: float = 0.0, penalty: str = "l2",
          device: torch.device | str = "cpu") -> list[nn.Module]:
    """Train ``len(s.seeds)`` models of one kind as one ensemble (every kind with DA, as in Sec. 4.1).

    Returns:
        The trained models (best validation accuracy), on ``device``.
    """
    if kind == "IR":
        return train_sweep(ds, s, (nu,), penalty, device)[nu]
    models = [m.to(device) for m in build_models(lambda: make_model(kind, ds.group, s.hidden), s.seeds)]
    fit_ensemble(models, ds.train, ds.val, s.fit, seeds=s.seeds, augment=group_action(ds.group),
                 desc=f"{kind} {ds.group.name}", checkpoint_key=f"{kind}-{ds.group.name}".lower())
    return models


def train_sweep(ds: Transforming, s: Settings, nus, penalty: str = "l2",
                device: torch.device | str = "cpu") -> dict[float, list[nn.Module]]:
    """IR models for every nu in ``nus`` and every seed, trained as one ensemble of ``len(nus) x len(s.seeds)``.

    Member (nu, seed) follows exactly the run ``train("IR", ds, s, nu)`` would give that seed (same
    initial weights, batches and augmentations; ``fit_ensemble``'s ``member_args`` carry the nu), so the
    sweep costs one ensemble instead of ``len(nus)``.

    Returns:
        ``{nu: [len(s.seeds) models]}`` on ``device``.
    """
    key = f"ir-{penalty}-{ds.group.name.lower()}-" + "-".join(f"{float(nu):g}" for nu in nus)
    return fit_ir_sweep(lambda: make_model("IR", ds.group, s.hidden), ds.train, ds.val, s.fit, s.seeds, ds.group,
                        nus, penalty, device, desc=f"IR-{penalty} {ds.group.name}", checkpoint_key=key)


def fit_ir_sweep(make, train_data, val_data, fit_cfg, seeds, group: CyclicGroup, nus, penalty: str = "l2",
                 device: torch.device | str = "cpu", desc: str = "IR",
                 checkpoint_key: str | None = None) -> dict[float, list[nn.Module]]:
    """The IR sweep on any model and data (chapter 1's, or chapter 5's zoo): ``make()`` builds one model, trained
    with eq. 4's loss on DA batches of ``group``, one member per (nu, seed) in one ``fit_ensemble``.

    ``checkpoint_key``: as ``fit_ensemble``'s (inside a part, resume a killed sweep; None: no checkpoints).

    Returns:
        ``{nu: [len(seeds) models]}`` on ``device``.
    Raises:
        ValueError: no nu, or a negative one.
    """
    nus = [float(nu) for nu in nus]
    if not nus or min(nus) < 0:
        raise ValueError(f"an IR sweep needs one or more nu >= 0, got {nus}")
    members = list(seeds) * len(nus)
    models = [m.to(device) for m in build_models(make, members)]
    nu_m = torch.tensor([nu for nu in nus for _ in seeds])  # (len(nus) * len(seeds),)
    fit_ensemble(models, train_data, val_data, fit_cfg, seeds=members, loss_fn=invariance_loss(group, penalty),
                 augment=group_action(group), member_args=nu_m, desc=f"{desc} nu={','.join(f'{nu:g}' for nu in nus)}",
                 checkpoint_key=checkpoint_key)
    k = len(seeds)
    return {nu: models[i * k:(i + 1) * k] for i, nu in enumerate(nus)}
