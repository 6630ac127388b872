"""Training a chapter-2 sweep: ``M`` members maximise the ELBO of eq. (9) at once, and their evaluation.

Every member of an ``InvariantNet`` sees the same mini-batches (one sweep over fixed / learned eta, or over
invariance types, is one model); ``evaluate`` scores them with common random numbers so that their ELBOs
and accuracies differ only through their parameters.
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ... import checkpoint
from ...training.config import progress_enabled
from .invariant_weights import InvariantNet
from .settings import TrainConfig

__all__ = ["fit_sweep", "evaluate"]


def _cosine(step: int, total: int) -> float:
    return 0.5 * (1 + math.cos(math.pi * min(step, total) / total))


def fit_sweep(model: InvariantNet, train: tuple[Tensor, Tensor], cfg: TrainConfig, seed: int = 0,
              snapshots: int = 0, desc: str = "ELBO", checkpoint_key: str | None = None) -> dict:
    """Maximise the ELBO of eq. (9) for all members at once (Adam, cosine-annealed to 0).

    Every member sees the same mini-batches; eta and the Cholesky factors have their own learning
    rates (``cfg.lr_eta``, ``cfg.lr_cov``). ``cfg.step`` picks the step's implementation (``"fast"``:
    ``fast_step``, and Adam's fused update on a CPU; ``"reference"``: the plain one; the same numbers).

    Args:
        model: the sweep, on its device.
        train: ``(x (N, C, H, W), y (N,))``.
        cfg: optimisation settings (``cfg.total_steps``, if set, stops training there, mid-epoch if need be).
        seed: seeds the batch order and the noise of T and W2.
        snapshots: also keep this many ``(eta, W1[:, :4])`` snapshots over training (Fig. 3).
        desc: the label of the progress bar (one tick per epoch; ``helpers.training.config.progress_enabled``).
        checkpoint_key: inside a part (``helpers.checkpoint.active``), save the whole training state under this key
            at epoch ends (at most every ``every_s`` seconds) and when done, and resume from it: a run killed
            midway continues from its last save to the numbers of an uninterrupted run, and a finished sweep is
            not trained again (a part's later sweeps can resume after it). None: no checkpoints.

    Returns:
        ``{"steps": (L,), "eta": (L, M, 6), "loss": (L, M) (the mean minus ELBO of the steps since the previous
        entry), "snapshots": [...], "wall_time_s"}`` (the time of every run of this sweep, where it resumed).
    """
    t0 = time.perf_counter()
    device = model.eta.device
    x, y = (t.to(device) for t in train)
    N = len(x)
    gen = torch.Generator().manual_seed(seed)
    first = [p for n, p in model.named_parameters() if n in ("W1", "b1")]
    q = model.posterior
    groups = [{"params": [model.eta], "lr": cfg.lr_eta}, {"params": [q.mu, q.log_diag], "lr": cfg.lr},
              {"params": [q.off], "lr": cfg.lr_cov}] + ([{"params": first, "lr": cfg.lr_w1}] if first else [])
    fast = cfg.step == "fast"  # fast_step's operators and Adam's fused update (the same numbers, less traffic)
    opt = torch.optim.Adam(groups, fused=True) if fast and device.type == "cpu" else torch.optim.Adam(groups)
    per_epoch = math.ceil(N / cfg.batch_size)
    total = cfg.total_steps or cfg.epochs * per_epoch
    epochs = math.ceil(total / per_epoch)  # the last one cut at ``total`` steps where cfg.total_steps says so
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: _cosine(t, total))
    snap_at = set(np.linspace(0, total, snapshots).round().astype(int).tolist()) if snapshots else set()
    hist: dict[str, Any] = {"steps": [0], "eta": [model.eta.detach().cpu().clone()], "loss": [], "snapshots": []}
    step, since, running = 0, 0, torch.zeros(model.members, device=device)
    ratio = torch.full((6,), (cfg.lr_eta_other or cfg.lr_eta) / cfg.lr_eta if cfg.lr_eta else 1.0, device=device)
    ratio[2] = 1.0  # per-generator learning rates: Adam's step on eta is rescaled element-wise
    resume = checkpoint.Resume(checkpoint_key, epochs, t0)
    if resume.state is not None:
        state = resume.state
        model.load_state_dict(state["model"])
        resume.restore_optimiser(opt, sched)
        gen.set_state(state["gen"])
        hist, step, since, running = state["hist"], state["step"], state["since"], state["running"].to(device)

    def snapshot_state() -> dict:
        return {"model": model.state_dict(), **resume.optimiser_state(opt, sched), "gen": gen.get_state(),
                "hist": hist, "step": step, "since": since, "running": running}

    bar = tqdm(range(resume.epoch, epochs), desc=desc, disable=not progress_enabled(), leave=False,
               initial=resume.epoch, total=epochs)
    for epoch in bar:
        for idx in torch.split(torch.randperm(N, generator=gen).to(device), cfg.batch_size):
            if step >= total:
                break
            if step in snap_at:
                hist["snapshots"].append(_snapshot(model, step))
            loss = model.neg_elbo(x[idx], y[idx], N, cfg.samples, gen, fast=fast)  # (M,)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            eta_before = model.eta.detach().clone()
            opt.step()
            with torch.no_grad():
                model.eta.copy_(eta_before + (model.eta - eta_before) * ratio)
            sched.step()
            step, since = step + 1, since + 1
            running += loss.detach()
            if step % cfg.log_every == 0 or step == total:
                hist["steps"].append(step)
                hist["eta"].append(model.eta.detach().cpu().clone())
                hist["loss"].append((running / since).cpu())  # the mean over the steps since the last entry
                running.zero_()
                since = 0
        if hist["loss"]:
            bar.set_postfix(neg_elbo=f"{float(hist['loss'][-1].mean()):.3f}")
        resume.save(epoch, snapshot_state)
    out = dict(hist)
    if total in snap_at:
        out["snapshots"] = hist["snapshots"] + [_snapshot(model, step)]
    out["eta"] = torch.stack(hist["eta"])  # (L, M, 6)
    out["loss"] = torch.stack(hist["loss"]) if hist["loss"] else torch.zeros(0, model.members)
    out["wall_time_s"] = resume.wall_s()
    return out


def _snapshot(model: InvariantNet, step: int) -> dict:
    return {"step": step, "eta": model.eta.detach().cpu().clone(), "W1": model.W1[:, :4].detach().cpu().clone()}


@torch.no_grad()
def evaluate(model: InvariantNet, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor],
             samples: int, seed: int = 0, batch_size: int = 500, elbo_batch: int = 50) -> dict:
    """Per-datapoint ELBO (eq. 9, ``InvariantNet.elbo``) on the training set and test accuracy / log-likelihood.

    The ELBO uses one W2 sample and S transformation samples per batch of ``elbo_batch`` training
    points (L = 1 as in training; small batches average the estimate over ``N / elbo_batch`` W2
    draws, which keeps the differences between members above the sampling noise); test
    predictions use the posterior mean of W2 and S Monte Carlo transformations (``test_acc``, ``test_ll``: what
    the tables compare with the paper's). The paper does not say which predictive its tables use, so the sampled
    predictive is reported beside it (issue 39, item 5): ``p(y|x) ~ 1/S sum_s softmax(W2_s phi(T_s x))`` with S
    pairs of one ``W2_s ~ q`` and one transformation ``T_s`` (eq. 6 with W2 integrated under q), drawn from a
    generator of its own, so the posterior-mean numbers are those of an evaluation without it. All members share
    the noise (common random numbers), so their numbers differ only through their parameters; ML members
    (no posterior) give the same number both ways.

    Returns:
        ``{"elbo": (M,), "kl_per_n": (M,), "test_acc": (M,) in %, "test_ll": (M,), "test_acc_sampled": (M,) in %,
        "test_ll_sampled": (M,)}``.
    """
    model.eval()
    device = model.eta.device
    gen = torch.Generator().manual_seed(seed)
    x, y = train
    ll = torch.zeros(model.members, device=device)
    for i in range(0, len(x), elbo_batch):
        xb, yb = x[i:i + elbo_batch].to(device), y[i:i + elbo_batch].to(device)
        ll += model.log_lik(xb, yb, samples, gen, common=True).sum(-1)  # (M,)
    elbo = model.elbo(ll / len(x), len(x))  # (M,)
    xt, yt = test
    gen_q = torch.Generator().manual_seed(2**31 + seed)  # the sampled predictive's own noise
    correct, tll = torch.zeros(2, model.members, device=device)
    correct_q, tll_q = torch.zeros(2, model.members, device=device)
    for i in range(0, len(xt), batch_size):
        xb, yb = xt[i:i + batch_size].to(device), yt[i:i + batch_size].to(device)
        logf = model(xb, samples, gen, sample_weights=False, common=True)  # (M, B, K)
        logq = torch.stack([model(xb, 1, gen_q, sample_weights=True, common=True) for _ in range(samples)])
        logq = torch.logsumexp(logq, 0) - math.log(samples)  # (M, B, K): S draws of (W2, T)
        for lf, c, t in ((logf, correct, tll), (logq, correct_q, tll_q)):
            c += (lf.argmax(-1) == yb).sum(-1)
            t += lf.gather(-1, yb.expand(model.members, -1).unsqueeze(-1)).sum((-2, -1))
    model.train()
    return {"elbo": elbo.cpu(), "kl_per_n": (model.kl() / len(x)).cpu(), "test_acc": (100 * correct / len(xt)).cpu(),
            "test_ll": (tll / len(xt)).cpu(), "test_acc_sampled": (100 * correct_q / len(xt)).cpu(),
            "test_ll_sampled": (tll_q / len(xt)).cpu()}
