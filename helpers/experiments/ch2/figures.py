"""Chapter 2's figures, drawn from stored part results (numpy arrays, as the store gives them back).

Figures of one dataset take that dataset's part result; Figs. 2 / 5 take Table 1 in the layout of
``results.collect`` (``{dataset: result}`` of one net). The eta control (``draw_eta``, ``draw_generator``,
``eta_controls``) warps stored weights (``banks``); nothing here trains or loads data.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D

from ... import plots, widgets
from ...groups import AFFINE_NAMES
from .banks import bank_image, bank_over_training
from .results import collect, confound_arms
from .settings import ROTATION_DATASETS

__all__ = ["headline", "plot_toy", "examples", "plot_eta_traces", "plot_eta_figures", "fig3", "fig4", "draw_eta",
           "draw_generator", "eta_controls", "plot_ablation", "plot_ladder", "plot_confound"]


# --------------------------------------------------------------------------- figures
def plot_toy(toy: dict) -> plt.Figure:
    """Fig. 1: class-1 probability of the toy RFF nets with no / some / full rotational invariance, one panel each,
    sized for the page column (``plots.column_figsize``)."""
    ext = [-3, 3, -3, 3]
    n = len(toy["etas_deg"])
    fig, axes = plt.subplots(1, n, figsize=plots.column_figsize(n, 1, (3.2, 3.6)), squeeze=False, layout="constrained")
    for ax, deg, prob, acc in zip(axes[0], toy["etas_deg"], toy["prob"], toy["extrapolation_acc"]):
        ax.imshow(np.asarray(prob), origin="lower", extent=ext, cmap="coolwarm", vmin=0, vmax=1)
        ax.scatter(*np.asarray(toy["x"]).T, c=np.asarray(toy["y"]), cmap="coolwarm", edgecolor="k", s=18)
        ax.set(xticks=[], yticks=[], title=f"η_rot = {deg:g}°\nextrapolation {float(acc):.0f} %")
    return fig


def examples(results: Mapping[str, dict]) -> plt.Figure:
    """Four training images of each MNIST dataset of Appendix D, from the first part that built it."""
    found: dict[str, np.ndarray] = {}
    for name, r in results.items():
        variant = name.rpartition("-")[2]
        if name.startswith(("t1-", "t2-")) and variant not in found and "examples" in r:
            found[variant] = np.asarray(r["examples"])[:, 0]  # (4, H, W)
    shown = [v for v in ("regular", "partial", "full", "translated", "scaled") if v in found]
    grid = np.stack([found[v] for v in shown], axis=1)  # (4, V, H, W): a column per dataset
    return plots.image_grid(grid, titles=shown, size=1.3)


def _init_of(name: str) -> str:
    """The initial value in a member's name (``"learned (5 init)"`` -> ``"5"``), or the name."""
    m = re.search(r"\(([^ )]+) init\)", name)
    return m.group(1) if m else name


def plot_eta_traces(ax, r: dict, prefix: str = "learned", style: str = "-", colors: Mapping[str, Any] | None = None,
                    ) -> None:
    """Fig. 2 / Fig. 5: |eta_rot| (degrees) over training for the members whose name starts with ``prefix``
    (``colors``: a colour per initial value, so that members from one start share it across panels)."""
    steps, eta_deg = np.asarray(r["steps"]), np.asarray(r["eta_deg"])  # (L,), (L, M)
    for i, name in enumerate(r["names"]):
        if name.startswith(prefix):
            color = (colors or {}).get(_init_of(name))
            ax.plot(steps, eta_deg[:, i], style, label=name, color=color)
    ax.set(xlabel="step", ylabel="|η_rot| (degrees)", ylim=(0, 200))
    ax.xaxis.set_major_locator(plt.MaxNLocator(4, integer=True))


def plot_eta_figures(rff: dict) -> plt.Figure:
    """Figs. 2 and 5 of one RFF Table-1 run (``{dataset: result}``):
    learned |eta_rot| over training on each dataset present, and on fully rotated data variational (solid)
    vs maximum-likelihood (dashed) members; two panels a row (``plots.panel_grid``), a colour per initial value
    and one legend under the panels."""
    variants = [v for v in ("regular", "partial", "full") if v in rff]
    inits = sorted({_init_of(n) for r in rff.values() for n in r["names"] if n.startswith(("learned", "ML"))},
                   key=lambda x: float(x) if x.replace(".", "", 1).isdigit() else math.inf)
    colors = {k: plt.cm.viridis(j / max(len(inits) - 1, 1) * 0.9) for j, k in enumerate(inits)}
    n = len(variants) + ("full" in rff)
    fig, axes = plots.panel_grid(n, panel=(4.2, 3.0), max_cols=2, sharey=True, layout="constrained")
    for ax, v in zip(axes, variants):
        plot_eta_traces(ax, rff[v], colors=colors)
        ax.set_title(f"{v} MNIST (true range {ROTATION_DATASETS[v]:g}°)")
    if "full" in rff:
        plot_eta_traces(axes[-1], rff["full"], "learned", colors=colors)
        plot_eta_traces(axes[-1], rff["full"], "ML", style="--", colors=colors)
        axes[-1].set_title("full MNIST: ELBO (solid) vs ML (dashed)")
    for ax in axes[1::2]:
        ax.set_ylabel("")   # the row shares the left panel's axis
    handles = [Line2D([], [], color=colors[k], label=f"from {k}°") for k in inits]
    if "full" in rff:
        handles += [Line2D([], [], color="0.3", ls="-", label="ELBO"), Line2D([], [], color="0.3", ls="--", label="ML")]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), title="initial η_rot")
    return fig


def fig3(r: dict, weights: Sequence[int] = (0, 1)) -> plt.Figure:
    """Fig. 3: weights of the rotation member over training (rows, top to bottom), each under 7 deterministic
    rotations in [-eta_rot, eta_rot] (columns); ``r`` is a Table 2 part's result with its ``fig3`` snapshots."""
    snap = r["fig3"]
    fig, axes = plt.subplots(1, len(weights), figsize=plots.column_figsize(len(weights), 1, (3.8, 4.0)), squeeze=False)
    for k, ax in zip(weights, axes[0]):
        bank = bank_over_training(snap["eta"], np.asarray(snap["W1"])[:, k])  # (T*H, 7*W)
        ax.imshow(bank.numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set(xticks=[], yticks=[], title=f"weight #{k + 1}, {r['dataset']} MNIST",
               ylabel="training → (top to bottom)", xlabel="ε from −1 to 1")
    fig.tight_layout()
    return fig


def fig4(per: Mapping[str, dict]) -> plt.Figure:
    """Fig. 4: the affine member's sampled filter banks on each dataset (``{dataset: Table 2 part result}``), two a
    row."""
    fig, axes = plots.panel_grid(len(per), panel=(4.0, 2.6), max_cols=2)
    for ax, (v, r) in zip(axes, per.items()):
        eta = np.asarray(r["eta"])[r["invariances"].index("affine")]  # (6,)
        ax.imshow(bank_image(r["W1_affine"], eta).numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set(xticks=[], yticks=[], title=f"affine model, {v} MNIST")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the eta control
def _bank(ax, weights, inputs, generator: int, value: float, xlabel: str) -> None:
    """One panel of the eta control: the filter bank of ``weights`` (under ``inputs`` as the top rows, if given)
    with only eta's ``generator`` set to ``value``, labelled ``xlabel``."""
    rows = torch.as_tensor(np.asarray(weights), dtype=torch.float32)  # (R, 1, H, W)
    if inputs is not None:
        rows = torch.cat([torch.as_tensor(np.asarray(inputs), dtype=torch.float32), rows])  # (R' + R, 1, H, W)
    eta = torch.zeros(6)
    eta[generator] = value
    ax.imshow(bank_image(rows, eta).numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set(xticks=[], yticks=[], xlabel=xlabel)


def draw_eta(ax, weights, sweep: dict, degrees: float, inputs=None) -> None:
    """The eta control's rotation panel: the filter bank at eta_rot = ``degrees`` (``inputs``, if
    given, as the top rows: input images under the same transformations) and, from the stored
    sweep, the ELBO and accuracy of the fixed-eta model trained at that value.

    Args:
        weights: ``(R, 1, H, W)``; sweep: a Table 1 result; inputs: ``(R', 1, H, W)`` or None.
    """
    i = sweep["names"].index(f"fixed {degrees:g}")
    _bank(ax, weights, inputs, 2, math.radians(degrees),
          f"fixed η: ELBO {float(sweep['elbo'][i]):.3f}, test acc {float(sweep['test_acc'][i]):.1f}%")


def draw_generator(ax, weights, generator: str, value: float = 0.5, inputs=None) -> None:
    """The eta control's generator panel: the filter bank (and ``inputs`` as top rows) with only
    ``generator`` set to ``value``.

    Args:
        weights: ``(R, 1, H, W)``; generator: one of ``helpers.groups.AFFINE_NAMES``;
        inputs: ``(R', 1, H, W)`` or None.
    """
    _bank(ax, weights, inputs, AFFINE_NAMES.index(generator), value, f"η_{generator} = {value:g}")


def eta_controls(weights, sweep: dict, digit, degrees: Sequence[float]) -> None:
    """Both eta controls (static panels, plus sliders in a live kernel), each a numbered figure: eta_rot over the
    ``degrees`` of the fixed members of ``sweep`` (``fig-ch2-eta-rot``), then each generator at 0.5
    (``fig-ch2-generators``); ``digit`` ``(1, 1, H, W)`` in [0, 1] is the top row."""
    widgets.explore(lambda d, ax: draw_eta(ax, weights, sweep, d, inputs=digit), list(degrees), "η_rot",
                    size=(4.4, 3.8), fmt=lambda v: f"{v:g}°", figure_name="fig-ch2-eta-rot",
                    caption="An input digit (top row) and four first-layer weights of the learned affine ReLU model "
                            "under rotations along ε from −1 to 1 (columns) at three fixed η_rot, each with the ELBO "
                            "and test accuracy of the fixed-η RFF member trained at that η_rot on fully rotated MNIST.",
                    alt="Three filter banks, one per η_rot: rows of a digit and four weights, rotated further "
                        "along each row as η_rot grows.")
    widgets.explore(lambda g, ax: draw_generator(ax, weights, g, 0.5, inputs=digit), list(AFFINE_NAMES),
                    "generator", static=["translate_x", "scale_x", "shear"], size=(4.4, 3.6),
                    figure_name="fig-ch2-generators",
                    caption="The same digit and weights along ε from −1 to 1 with only one generator set to η = 0.5: "
                            "x translation, x scale and shear.",
                    alt="Three filter banks: the digit and four weights shifted, stretched and sheared along "
                        "each row.")


def headline(ev) -> plt.Figure | None:
    """The page's first figure: the learned η_rot of the RFF nets over training (Figs. 2 and 5)."""
    rff = collect(ev)["t1"].get("rff")
    return plot_eta_figures(rff) if rff else None


# --------------------------------------------------------------------------- what the parameterisation costs
def plot_ablation(ab: Mapping[str, Mapping[str, dict]]) -> plt.Figure:
    """The learned |eta_rot| over training in each arm (mean over seeds, the seeds' range shaded), fully rotated
    (left) and regular MNIST (right): Fig. 2 under each departure from the paper's settings; one legend of the
    arms under the panels."""
    variants = [v for v in ("full", "regular") if any(v in per for per in ab.values())]
    fig, axes = plt.subplots(1, len(variants), figsize=plots.column_figsize(len(variants), 1, (4.4, 3.4)),
                             sharey=True, squeeze=False, layout="constrained")
    handles: dict[str, Line2D] = {}
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
            handles.setdefault(arm, line)
        ax.set(xlabel="fraction of the arm's training", title=f"{v} MNIST (true range {ROTATION_DATASETS[v]:g}°)")
    axes[0, 0].set_ylabel("learned |η_rot| (degrees)")
    fig.legend(handles=list(handles.values()), loc="outside lower center", ncols=4, title="arm")
    return fig


#: The ladder's budgets and the paper's 46,900 steps (100 epochs of 60,000 at batch 128), the x ticks of ``plot_ladder``.
LADDER_TICKS = (733, 2931, 11725, 46900)


def plot_ladder(frame, summary) -> plt.Figure:
    """The budget ladder (issue 39, item 4): each claim's quantity (``ladder.QUANTITIES``) against training steps on a
    log axis, seed mean +- SE per dataset and rung (``ladder.rung_summary`` of ``ladder.rungs``' ``frame``), the
    seeds as dots, the paper's value as a dashed line of the dataset's colour; the accuracy panel also shows the
    sampled predictive (open markers) where the rungs have it."""
    from .ladder import QUANTITIES

    fig, axes = plt.subplots(1, len(QUANTITIES), figsize=(2.9 * len(QUANTITIES), 3.1), squeeze=False)
    colors = dict(zip(ROTATION_DATASETS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, (q, (label, paper)) in zip(axes[0], QUANTITIES.items()):
        for v, g in summary.groupby("dataset", sort=False):
            c = colors.get(v, "k")
            seeds = frame[frame.dataset == v]
            ax.scatter(seeds["steps"], seeds[q], s=8, color=c, alpha=0.4)
            ax.errorbar(g["steps"], g[q], yerr=g[f"{q} SE"].fillna(0), color=c, marker="o", ms=4, capsize=3,
                        label=f"{v} rotated MNIST")
            if q == "acc" and g["acc_sampled"].notna().any():
                ax.errorbar(g["steps"], g["acc_sampled"], yerr=g["acc_sampled SE"].fillna(0), color=c, marker="o",
                            mfc="white", ls=":", ms=4, capsize=3, label=f"{v}, sampled predictive")
            ax.axhline(paper[v], color=c, ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_xlim(500, 7e4)
        ax.set_xticks(LADDER_TICKS, [f"{t:,}" for t in LADDER_TICKS], fontsize=7)
        ax.minorticks_off()
        ax.axvline(LADDER_TICKS[-1], color="0.6", ls=":", lw=1)  # the paper's steps
        ax.set_xlabel("training steps (dotted: the paper's)")
        ax.set_title(label, fontsize=8, wrap=True)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


#: The base-kernel study's arms as the figure labels them, and their line styles.
_CONFOUND_STYLE = {"as warped": ("as warped (the paper)", "-"), "norm": ("rescaled to the row's norm", "--"),
                   "data": ("rescaled to the row's spread on the data", ":")}
_ROTATED = {"partial": "partially rotated MNIST", "full": "fully rotated MNIST", "regular": "regular MNIST"}


def plot_confound(study: Mapping) -> plt.Figure:
    """The base-kernel study (part ``kernel-confound``): per dataset, the training ELBO per datapoint against the fixed
    eta_rot for each arm (``results.confound_arms``), seed mean +- SE, the seeds as dots."""
    runs = study["runs"]
    fig, axes = plt.subplots(1, len(runs), figsize=(2.9 * len(runs), 3.0), squeeze=False)
    for ax, (v, rs) in zip(axes[0], runs.items()):
        per = [confound_arms(r) for r in rs]
        d = per[0][0]
        for a in per[0][1]:
            label, ls = _CONFOUND_STYLE.get(a, (a, "-."))
            e = np.stack([arms[a] for _, arms in per])  # (seeds, n)
            se = e.std(0, ddof=1) / math.sqrt(len(e)) if len(e) > 1 else np.zeros(e.shape[1])
            line = ax.errorbar(d, e.mean(0), yerr=se, ls=ls, marker="o", ms=4, capsize=3, label=label)
            ax.scatter(np.repeat(d[None], len(e), 0), e, s=8, alpha=0.4, color=line[0].get_color())
        ax.set_xticks(d, [f"{g:g}" for g in d])
        ax.set_xlabel("fixed η_rot (°)")
        ax.set_title(_ROTATED.get(v, v), fontsize=9)
    axes[0][0].set_ylabel("training ELBO per datapoint")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))  # the legend below the panels, clear of the lines
    return fig
