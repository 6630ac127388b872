"""Chapter 2's tables and figures, drawn from stored part results (numpy arrays, as the store gives them back).

Tables 1-3 come in the layout of ``parts.collect`` (``t1 = {net: {dataset: result}}``, ``t2`` / ``t3`` with
``test_acc`` ``(I, V)``); figures of one dataset take that dataset's part result. The eta control
(``draw_eta``, ``draw_generator``, ``eta_controls``) warps stored weights; nothing here trains or loads data.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from ... import plots, widgets
from ...groups import AFFINE_NAMES
from .banks import bank_image, bank_over_training
from .data import ROTATION_DATASETS

__all__ = ["headline", "PAPER_TABLE1", "PAPER_TABLE2", "PAPER_TABLE3", "table1_frame", "table2_frame", "eta_frame",
           "table1_vs_paper", "table2_vs_paper", "plot_toy", "examples", "plot_eta_traces", "plot_eta_figures",
           "fig3", "fig4", "draw_eta", "draw_generator", "eta_controls", "ablation_frame", "plot_ablation"]

#: The paper's numbers, typed in and cited: Table 1 (RFF; ELBO per datapoint, test accuracy %) per
#: dataset (full, partial, regular), and Tables 2 / 3 (ReLU; test accuracy %) per invariance and dataset.
PAPER_TABLE1 = {
    "fixed 5": {"full": (-1.07, 79.29), "partial": (-0.80, 86.71), "regular": (-0.36, 96.00)},
    "fixed 45": {"full": (-0.63, 87.35), "partial": (-0.49, 91.13), "regular": (-0.26, 95.93)},
    "fixed 90": {"full": (-0.52, 90.33), "partial": (-0.44, 91.69), "regular": (-0.30, 94.69)},
    "fixed 135": {"full": (-0.45, 91.19), "partial": (-0.45, 91.04), "regular": (-0.36, 92.13)},
    "fixed 175": {"full": (-0.43, 91.57), "partial": (-0.47, 90.47), "regular": (-0.45, 90.97)},
    "learned (5 init)": {"full": (-0.43, 91.72), "partial": (-0.42, 92.34), "regular": (-0.26, 96.40)},
}
_T2_COLS = ("full", "translated", "scaled", "regular")
PAPER_TABLE2 = {k: dict(zip(_T2_COLS, v)) for k, v in {
    "none": (90.35, 89.34, 96.61, 98.10), "rotation": (98.05, 94.08, 97.62, 98.64),
    "translation": (93.59, 97.87, 97.98, 98.76), "scale": (93.80, 94.30, 98.06, 98.35),
    "affine": (98.14, 97.66, 98.31, 98.93)}.items()}
PAPER_TABLE3 = {k: dict(zip(_T2_COLS, v)) for k, v in {
    "none": (41.24, 40.75, 46.56, 54.49), "rotation": (46.04, 40.71, 46.77, 54.72),
    "translation": (40.99, 45.20, 47.44, 55.79), "scale": (40.92, 41.22, 49.28, 54.72),
    "affine": (46.12, 45.77, 48.81, 55.44)}.items()}


# --------------------------------------------------------------------------- tables
def table1_frame(t1: dict) -> pd.DataFrame:
    """Table 1 (and App. Tables 4/5): ELBO per datapoint and test accuracy (%) of every member, per net
    and dataset; the learned members also show their final |eta_rot| in degrees."""
    rows = []
    for net, per in t1.items():
        for v, r in per.items():
            for i, name in enumerate(r["names"]):
                rows.append({"net": net.upper(), "dataset": v, "model": name, "ELBO": round(float(r["elbo"][i]), 3),
                             "test acc (%)": round(float(r["test_acc"][i]), 1),
                             "η_rot (°)": round(float(r["eta_deg_final"][i]), 1)})
    df = pd.DataFrame(rows)
    return df.pivot_table(index=["net", "model"], columns="dataset", values=["ELBO", "test acc (%)", "η_rot (°)"],
                          sort=False)


def table2_frame(t2: dict) -> pd.DataFrame:
    """Table 2 / 3: test accuracy (%) of each invariance type (rows) on each dataset (columns)."""
    acc = np.asarray(t2["test_acc"], dtype=float).round(1)  # (I, V)
    return pd.DataFrame(acc, index=t2["invariances"], columns=t2["datasets"])


def eta_frame(t2: dict, invariance: str = "affine") -> pd.DataFrame:
    """The learned eta of one invariance type per dataset (App. E units: normalized coordinates for
    translation, radians for rotation, log-scale for scale and shear)."""
    i = t2["invariances"].index(invariance)
    eta = np.asarray(t2["eta"], dtype=float)[i].round(3)  # (V, 6)
    return pd.DataFrame(eta, index=t2["datasets"], columns=list(AFFINE_NAMES))


def table1_vs_paper(t1_net: dict) -> pd.DataFrame:
    """Table 1 side by side: the paper's ELBO and accuracy (RFF) and ours, for the members both have.

    Args:
        t1_net: ``{dataset: Table 1 result}`` of one net.
    """
    rows = {}
    for name, per in PAPER_TABLE1.items():
        row = {}
        for v, r in t1_net.items():
            if name in r["names"] and v in per:
                i = r["names"].index(name)
                row |= {(v, "ELBO paper"): per[v][0], (v, "ELBO ours"): round(float(r["elbo"][i]), 3),
                        (v, "acc paper"): per[v][1], (v, "acc ours"): round(float(r["test_acc"][i]), 1)}
        if row:
            rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def table2_vs_paper(t2: dict, paper: dict) -> pd.DataFrame:
    """Table 2 / 3 side by side: the paper's test accuracy (``PAPER_TABLE2`` / ``PAPER_TABLE3``) and ours."""
    acc = np.asarray(t2["test_acc"])  # (I, V)
    rows = {}
    for i, inv in enumerate(t2["invariances"]):
        rows[inv] = {}
        for j, v in enumerate(t2["datasets"]):
            rows[inv] |= {(v, "paper"): paper[inv][v], (v, "ours"): round(float(acc[i, j]), 1)}
    return pd.DataFrame.from_dict(rows, orient="index")


# --------------------------------------------------------------------------- figures
def plot_toy(toy: dict) -> plt.Figure:
    """Fig. 1: class-1 probability of the toy RFF nets with no / some / full rotational invariance."""
    ext = [-3, 3, -3, 3]
    fig, axes = plt.subplots(1, len(toy["etas_deg"]), figsize=(4 * len(toy["etas_deg"]), 4))
    for ax, deg, prob, acc in zip(axes, toy["etas_deg"], toy["prob"], toy["extrapolation_acc"]):
        ax.imshow(np.asarray(prob), origin="lower", extent=ext, cmap="coolwarm", vmin=0, vmax=1)
        ax.scatter(*np.asarray(toy["x"]).T, c=np.asarray(toy["y"]), cmap="coolwarm", edgecolor="k", s=18)
        ax.set(xticks=[], yticks=[], title=f"η_rot = {deg:g}°: extrapolation {float(acc):.0f}%")
    return fig


def examples(results: Mapping[str, dict], order: Sequence[str] = ("regular", "partial", "full", "translated",
                                                                   "scaled")) -> plt.Figure:
    """Four training images of each MNIST dataset of Appendix D, from the first part that built it."""
    found: dict[str, np.ndarray] = {}
    for name, r in results.items():
        variant = name.rpartition("-")[2]
        if name.startswith(("t1-", "t2-")) and variant not in found and "examples" in r:
            found[variant] = np.asarray(r["examples"])[:, 0]  # (4, H, W)
    shown = [v for v in order if v in found]
    return plots.image_grid(np.concatenate([found[v] for v in shown]), titles=[v for v in shown for _ in range(4)],
                            ncols=8)


def plot_eta_traces(ax, r: dict, prefix: str = "learned", style: str = "-") -> None:
    """Fig. 2 / Fig. 5: |eta_rot| (degrees) over training for the members whose name starts with ``prefix``."""
    steps, eta_deg = np.asarray(r["steps"]), np.asarray(r["eta_deg"])  # (L,), (L, M)
    for i, name in enumerate(r["names"]):
        if name.startswith(prefix):
            ax.plot(steps, eta_deg[:, i], style, label=name)
    ax.set(xlabel="step", ylabel="|η_rot| (degrees)", ylim=(0, 200))


def plot_eta_figures(rff: dict, title: str = "") -> plt.Figure:
    """Figs. 2 and 5 of one RFF Table-1 run (``{dataset: result}``, from parts or ``records.from_record``):
    learned |eta_rot| over training on each dataset present, and on fully rotated data variational (solid)
    vs maximum-likelihood (dashed) members."""
    variants = [v for v in ("regular", "partial", "full") if v in rff]
    fig, axes = plt.subplots(1, len(variants) + 1, figsize=(4.2 * (len(variants) + 1), 3.6), sharey=True)
    for ax, v in zip(axes, variants):
        plot_eta_traces(ax, rff[v])
        ax.set_title(f"{v} MNIST (true range {ROTATION_DATASETS[v]:g}°)", fontsize=10)
    axes[0].legend(fontsize=8)
    if "full" in rff:
        plot_eta_traces(axes[-1], rff["full"], "learned")
        plot_eta_traces(axes[-1], rff["full"], "ML", style="--")
        axes[-1].set_title("full: variational (—) vs ML (--), cf. Fig. 5", fontsize=10)
    fig.suptitle(title or "RFF: learned η_rot over training (cf. Fig. 2)")
    fig.tight_layout()
    return fig


def fig3(r: dict, weights: Sequence[int] = (0, 1)) -> plt.Figure:
    """Fig. 3: weights of the rotation member over training (rows, top to bottom), each under 7 deterministic
    rotations in [-eta_rot, eta_rot] (columns); ``r`` is a Table 2 part's result with its ``fig3`` snapshots."""
    snap = r["fig3"]
    fig, axes = plt.subplots(1, len(weights), figsize=(4 * len(weights), 4.4), squeeze=False)
    for k, ax in zip(weights, axes[0]):
        bank = bank_over_training(snap["eta"], np.asarray(snap["W1"])[:, k])  # (T*H, 7*W)
        ax.imshow(bank.numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set(xticks=[], yticks=[], title=f"feature bank #{k + 1}", ylabel="training → (top to bottom)")
    fig.suptitle(f"rotation-invariant ReLU net on {r['dataset']} MNIST: 7 samples in [−η_rot, η_rot] (cf. Fig. 3)")
    return fig


def fig4(per: Mapping[str, dict]) -> plt.Figure:
    """Fig. 4: the affine member's sampled filter banks on each dataset (``{dataset: Table 2 part result}``)."""
    fig, axes = plt.subplots(1, len(per), figsize=(4 * len(per), 3.2), squeeze=False)
    for ax, (v, r) in zip(axes[0], per.items()):
        eta = np.asarray(r["eta"])[r["invariances"].index("affine")]  # (6,)
        ax.imshow(bank_image(r["W1_affine"], eta).numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set(xticks=[], yticks=[], title=f"affine model, {v}")
    fig.suptitle("sampled filter banks: rows are weights, columns transformations T(ε), ε from −1 to 1 "
                 "(cf. Fig. 4)")
    return fig


# --------------------------------------------------------------------------- the eta control
def _bank(ax, weights, eta: torch.Tensor, inputs) -> None:
    rows = torch.as_tensor(np.asarray(weights), dtype=torch.float32)  # (R, 1, H, W)
    if inputs is not None:
        rows = torch.cat([torch.as_tensor(np.asarray(inputs), dtype=torch.float32), rows])  # (R' + R, 1, H, W)
    ax.imshow(bank_image(rows, eta).numpy(), cmap="RdBu_r", vmin=-1, vmax=1)


def draw_eta(ax, weights, sweep: dict, degrees: float, inputs=None) -> None:
    """The eta control's rotation panel: the filter bank at eta_rot = ``degrees`` (``inputs``, if
    given, as the top rows: input images under the same transformations) and, from the stored
    sweep, the ELBO and accuracy of the fixed-eta model trained at that value.

    Args:
        weights: ``(R, 1, H, W)``; sweep: a Table 1 result; inputs: ``(R', 1, H, W)`` or None.
    """
    eta = torch.zeros(6)
    eta[2] = math.radians(degrees)
    _bank(ax, weights, eta, inputs)
    i = sweep["names"].index(f"fixed {degrees:g}")
    ax.set(xticks=[], yticks=[], xlabel=f"fixed η: ELBO {float(sweep['elbo'][i]):.3f}, "
                                         f"test acc {float(sweep['test_acc'][i]):.1f}%")


def draw_generator(ax, weights, generator: str, value: float = 0.5, inputs=None) -> None:
    """The eta control's generator panel: the filter bank (and ``inputs`` as top rows) with only
    ``generator`` set to ``value``.

    Args:
        weights: ``(R, 1, H, W)``; generator: one of ``helpers.groups.AFFINE_NAMES``;
        inputs: ``(R', 1, H, W)`` or None.
    """
    if generator not in AFFINE_NAMES:
        raise ValueError(f"unknown generator {generator!r}; valid: {list(AFFINE_NAMES)}")
    eta = torch.zeros(6)
    eta[AFFINE_NAMES.index(generator)] = value
    _bank(ax, weights, eta, inputs)
    ax.set(xticks=[], yticks=[], xlabel=f"η_{generator} = {value:g}")


def eta_controls(weights, sweep: dict, digit, degrees: Sequence[float]) -> None:
    """Both eta controls (static panels, plus sliders in a live kernel): eta_rot over the ``degrees`` of the
    fixed members of ``sweep``, then each generator at 0.5; ``digit`` ``(1, 1, H, W)`` in [0, 1] is the top row."""
    widgets.explore(lambda d, ax: draw_eta(ax, weights, sweep, d, inputs=digit), list(degrees), "η_rot",
                    size=(4.4, 3.8), fmt=lambda v: f"{v:g}°")
    widgets.explore(lambda g, ax: draw_generator(ax, weights, g, 0.5, inputs=digit), list(AFFINE_NAMES),
                    "generator", static=["translate_x", "scale_x", "shear"], size=(4.4, 3.6))


def headline(ev) -> plt.Figure | None:
    """The page's first figure: the learned η_rot of the RFF nets over training (Figs. 2 and 5)."""
    from .parts import collect

    rff = collect(ev)["t1"].get("rff")
    return plot_eta_figures(rff) if rff else None


# --------------------------------------------------------------------------- what the parameterisation costs
def _mean_sd(a: np.ndarray, digits: int) -> str:
    """``mean ± sd`` over seeds (axis 0) of a ``(S,)`` array."""
    sd = float(np.std(a, ddof=1)) if len(a) > 1 else 0.0
    return f"{float(np.mean(a)):.{digits}f} ± {sd:.{digits}f}"


def ablation_frame(ab: Mapping[str, Mapping[str, dict]], arms: Mapping[str, str]) -> pd.DataFrame:
    """One row per arm and dataset of the ablation (``{arm: {dataset: result}}``, results with ``(S, M)`` arrays):
    test accuracy (%) and ELBO per datapoint of each member, the learned member's final |eta_rot| (degrees), as
    mean ± sd over the S seeds, the arm's steps and the most eta can move in them (``ablation.max_eta_move_deg``);
    ``arms`` names what each arm changes."""
    rows = []
    for arm, per in ab.items():
        for v, r in per.items():
            acc, elbo = np.asarray(r["test_acc"], dtype=float), np.asarray(r["elbo"], dtype=float)  # (S, M)
            eta = np.asarray(r["eta_deg_final"], dtype=float)  # (S, M)
            row = {"arm": arm, "changes": arms.get(arm, arm), "dataset": v, "seeds": acc.shape[0]}
            for i, n in enumerate(r["names"]):
                short = n.replace(" init)", ")").replace("learned (", "learned (from ")
                row[f"acc {short}"] = _mean_sd(acc[:, i], 1)
                row[f"ELBO {short}"] = _mean_sd(elbo[:, i], 2)
                if n.startswith("learned"):
                    row["learned η (°)"] = _mean_sd(eta[:, i], 1)
            row["steps"] = int(np.asarray(r["steps"])[-1])
            row["max η move (°)"] = f"{float(r['max_move_deg']):.0f}"
            rows.append(row)
    return pd.DataFrame(rows).set_index(["arm", "dataset"])


def plot_ablation(ab: Mapping[str, Mapping[str, dict]]) -> plt.Figure:
    """The learned |eta_rot| over training in each arm (mean over seeds, the seeds' range shaded), fully rotated
    (left) and regular MNIST (right): Fig. 2 under each departure from the paper's settings."""
    variants = [v for v in ("full", "regular") if any(v in per for per in ab.values())]
    fig, axes = plt.subplots(1, len(variants), figsize=(5.4 * len(variants), 4.0), sharey=True, squeeze=False)
    for ax, v in zip(axes[0], variants):
        for k, (arm, per) in enumerate(ab.items()):
            if v not in per:
                continue
            r = per[v]
            i = next(k for k, n in enumerate(r["names"]) if n.startswith("learned"))
            steps, eta = np.asarray(r["steps"]), np.asarray(r["eta_deg"], dtype=float)[:, :, i]  # (L,), (S, L)
            frac = steps / steps[-1]  # the budget arm trains longer: fraction of its own budget
            line, = ax.plot(frac, eta.mean(0), label=arm, color=plt.cm.tab10(k % 10), ls="-" if k < 5 else "--")
            ax.fill_between(frac, eta.min(0), eta.max(0), color=line.get_color(), alpha=0.15)
        ax.set(xlabel="fraction of the arm's training", ylabel="learned |η_rot| (degrees)",
               title=f"{v} MNIST (true range {ROTATION_DATASETS[v]:g}°)")
    axes[0, 0].legend(fontsize=9, ncol=2)
    fig.tight_layout()
    return fig
