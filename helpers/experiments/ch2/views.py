"""Chapter 2's tables and figures, drawn from stored part results (numpy arrays, as the store gives them back).

Tables 1-3 come in the layout of ``parts.collect`` (``t1 = {net: {dataset: result}}``, ``t2`` / ``t3`` with
``test_acc`` ``(I, V)``); figures of one dataset take that dataset's part result. The eta control
(``draw_eta``, ``draw_generator``, ``eta_controls``) warps stored weights; nothing here trains or loads data.
"""
from __future__ import annotations

import math
import re
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
           "fig3", "fig4", "draw_eta", "draw_generator", "eta_controls", "ablation_frame", "plot_ablation", "styled",
           "show_table1", "show_t2", "show_record", "show_h100", "show_cpu_reduced", "show_eta_sweep",
           "show_cifar_preprocessing", "show_so_far", "show_vs_paper"]

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


def examples(results: Mapping[str, dict], order: Sequence[str] = ("regular", "partial", "full", "translated",
                                                                   "scaled")) -> plt.Figure:
    """Four training images of each MNIST dataset of Appendix D, from the first part that built it."""
    found: dict[str, np.ndarray] = {}
    for name, r in results.items():
        variant = name.rpartition("-")[2]
        if name.startswith(("t1-", "t2-")) and variant not in found and "examples" in r:
            found[variant] = np.asarray(r["examples"])[:, 0]  # (4, H, W)
    shown = [v for v in order if v in found]
    grid = np.stack([found[v] for v in shown], axis=1)  # (4, V, H, W): a column per dataset
    return plots.image_grid(grid, titles=shown, size=1.3)


def _init_of(name: str) -> str:
    """The initial value in a member's name (``"learned (5 init)"`` -> ``"5"``), or the name."""
    m = re.search(r"\(([^ )]+) init\)", name)
    return m.group(1) if m else name


def plot_eta_traces(ax, r: dict, prefix: str = "learned", style: str = "-", colors: Mapping[str, str] | None = None,
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


def plot_eta_figures(rff: dict, title: str = "") -> plt.Figure:
    """Figs. 2 and 5 of one RFF Table-1 run (``{dataset: result}``, from parts or ``records.from_record``):
    learned |eta_rot| over training on each dataset present, and on fully rotated data variational (solid)
    vs maximum-likelihood (dashed) members; two panels a row (``plots.panel_grid``), a colour per initial value
    and one legend under the panels. ``title``, if given, heads the figure."""
    from matplotlib.lines import Line2D

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
    for k, ax in enumerate(axes):
        if k % 2:
            ax.set_ylabel("")   # the row shares the left panel's axis
    handles = [Line2D([], [], color=colors[k], label=f"from {k}°") for k in inits]
    if "full" in rff:
        handles += [Line2D([], [], color="0.3", ls="-", label="ELBO"), Line2D([], [], color="0.3", ls="--", label="ML")]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), title="initial η_rot")
    if title:
        fig.suptitle(title)
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
    (left) and regular MNIST (right): Fig. 2 under each departure from the paper's settings; one legend of the
    arms under the panels."""
    variants = [v for v in ("full", "regular") if any(v in per for per in ab.values())]
    fig, axes = plt.subplots(1, len(variants), figsize=plots.column_figsize(len(variants), 1, (4.4, 3.4)),
                             sharey=True, squeeze=False, layout="constrained")
    handles = {}
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


# --------------------------------------------------------------------------- captioned tables and earlier records
def _formats(frame: pd.DataFrame, digits: Mapping[str, int], default: int = 1) -> dict:
    """A ``Styler.format`` formatter per column: ``digits`` of the first key found in the column's name."""
    out = {}
    for col in frame.columns:
        label = " ".join(map(str, col)) if isinstance(col, tuple) else str(col)
        d = next((n for key, n in digits.items() if key in label), default)
        out[col] = (lambda n: lambda v: "—" if v is None or (isinstance(v, float) and math.isnan(v))
                    else f"{v:.{n}f}" if isinstance(v, (float, np.floating)) else str(v))(d)
    return out


def styled(frame: pd.DataFrame, digits: Mapping[str, int], default: int = 1):
    """``frame`` as a Styler whose columns show the ``digits`` of the first key in their name (``{"ELBO": 3}``:
    ELBO columns to 3 decimals, the rest to ``default``); caption it with ``helpers.captions.table``."""
    return frame.style.format(_formats(frame, digits, default))


def show_table1(t1: dict, caption: str) -> None:
    """``table1_frame`` of ``t1`` as a captioned table (ELBO to 3 decimals, accuracy and eta to 1)."""
    from IPython.display import display

    from ...captions import table

    display(table(styled(table1_frame(t1), {"ELBO": 3}), caption))


def show_t2(t: dict, what: str, etas: Sequence[str] = ("affine",), paper: dict | None = None) -> None:
    """Table 2 or 3 (``what`` names it in the captions) as captioned tables: our test accuracy (beside the paper's
    when ``paper`` is given), then the learned eta of each of the ``etas`` models per dataset."""
    from IPython.display import display

    from ...captions import table

    n = f"{t['n_train']:,} training images" if "n_train" in t else "this profile's training images"
    if paper is None:
        display(table(styled(table2_frame(t), {}), f"{what}, ours ({n}): test accuracy (%) of each invariance "
                                                   "type (rows) on each dataset (columns)."))
    else:
        display(table(styled(table2_vs_paper(t, paper), _VS_DIGITS),
                      f"{what}: test accuracy (%) of each invariance type, the paper's beside ours ({n})."))
    for inv in etas:
        display(table(styled(eta_frame(t, inv), {}, default=3),
                      f"{what}: the learned η of the {inv} model per dataset (translation in normalised coordinates, "
                      "rotation in radians, scale and shear in log-scale; App. E)."))


#: Decimals of the paper-vs-ours tables: the paper's as printed, ours as ``table1_vs_paper`` / ``table2_vs_paper``
#: round them.
_VS_DIGITS = {"ELBO paper": 2, "ELBO ours": 3, "acc paper": 2, "acc ours": 1, "paper": 2, "ours": 1}


def show_vs_paper(rff: dict | None, t2: dict | None, t3: dict | None = None, label: str = "") -> None:
    """The paper's Tables 1-3 beside ours, each a captioned table: Table 1 of the RFF net (``{dataset: result}``),
    then Tables 2 and 3 where they ran (``label``, if given, starts each caption)."""
    from IPython.display import display

    from ...captions import table

    head = f"{label}: " if label else ""
    if rff:
        display(table(styled(table1_vs_paper(rff), _VS_DIGITS),
                      f"{head}Table 1 (RFF): the paper's ELBO per datapoint and test accuracy (%) beside ours."))
    for what, t, paper in (("Table 2 (ReLU, MNIST", t2, PAPER_TABLE2), ("Table 3 (ReLU, CIFAR-10", t3, PAPER_TABLE3)):
        if t is not None:
            n = f"; ours on {t['n_train']:,} training images" if "n_train" in t else ""
            display(table(styled(table2_vs_paper(t, paper), _VS_DIGITS),
                          f"{head}{what} test accuracy %{n}): the paper's beside ours."))


def show_record(got: dict, label: str, name: str, etas: Sequence[str] = ("affine",)) -> None:
    """A whole-run record (``records.from_record`` output) with captions: Table 1 and the paper's beside it, the eta
    traces of the RFF net as figure ``fig-ch2-<name>-eta`` (where Table 1 ran), then Tables 2 / 3 beside the paper's
    with the learned eta of the ``etas`` models (where they ran). ``label`` names the run in the captions."""
    from IPython.display import display

    from ...captions import figure, table

    if "rff" in got["t1"]:
        show_table1(got["t1"], f"{label}: Table 1 and App. Table 5, ELBO per datapoint, test accuracy (%) and final "
                               "|η_rot| (°) of every member, per net and dataset.")
        show_vs_paper(got["t1"]["rff"], None, label=label)
        figure(plot_eta_figures(got["t1"]["rff"]), f"fig-ch2-{name}-eta",
               f"{label}: the RFF net's learned |η_rot| over training on each rotated MNIST (cf. Fig. 2), coloured by "
               "initial value, and on fully rotated MNIST the ELBO members (solid) beside the maximum-likelihood "
               "ones (dashed; cf. Fig. 5).",
               alt="Line plots of learned rotation range in degrees against training step, one panel per dataset "
                   "and one comparing ELBO with maximum likelihood.")
    for what, t, paper in (("Table 2 (ReLU, MNIST)", got["t2"], PAPER_TABLE2),
                           ("Table 3 (ReLU, CIFAR-10)", got["t3"], PAPER_TABLE3)):
        if t is not None:
            show_t2(t, f"{label}, {what}", etas, paper)


def _claims_table(got: dict, ids: Sequence[str] | None = None):
    from ...claims import ClaimTable
    from .claims import CLAIMS, claim_checks, claim_values

    values = claim_values(claim_checks(got["t1"], got["t2"], got["t3"]), got["t2"], got["t3"])
    return ClaimTable.of(CLAIMS, {k: values[k] for k in ids or values})


def _note(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))


def show_h100() -> None:
    """The H100 record (``records.h100_record``): its device, date and wall time, the claims it decides judged by
    today's rules, then its tables and figure (``show_record``), every table and figure captioned."""
    from IPython.display import display

    from .records import from_record, h100_record
    from .settings import STEM

    rec = h100_record()
    if rec is None:
        _note(f"No H100 record of chapter 2 in this checkout (`results/standard/{STEM}/h100_results.json`).")
        return
    _note(f"Recorded on an {rec['device']}, {rec['date'][:10]}, in {rec['wall_time_s']:.0f} s.")
    got = from_record(rec["numbers"])
    display(_claims_table(got))
    show_record(got, "H100 record", "h100")


def show_cpu_reduced() -> None:
    """``cpu_reduced.json`` (its settings and wall times, the claims it decides by today's rules, its tables and
    figure), then the Table 2 runs started off eta = 0 (``cpu_reduced_t2_init*.json``), every table captioned."""
    from IPython.display import display

    from ...records import recorded
    from .records import from_record
    from .settings import STEM

    cpu = recorded(STEM, name="cpu_reduced.json").get("standard")
    if cpu is None:
        _note(f"No CPU record of chapter 2 in this checkout (`results/standard/{STEM}/cpu_reduced.json`).")
    else:
        st = cpu["numbers"]["settings"]
        _note(f"Recorded on a {cpu['device']}, {cpu['date'][:10]}: {st['n_train']:,} training images, {st['hidden']} "
              f"hidden units, S = {st['train']['samples']}, {st['train']['epochs']} epochs; wall time "
              + ", ".join(f"{k} {v:.0f} s" for k, v in cpu["numbers"]["seconds"].items()) + ".")
        got = from_record(cpu["numbers"])
        display(_claims_table(got))
        show_record(got, "CPU record", "cpu")
    for name in ("cpu_reduced_t2_init.json", "cpu_reduced_t2_init_lr.json"):
        init = recorded(STEM, name=name).get("standard")
        if init is not None:
            got = from_record(init["numbers"])
            _note(f"`{name}`: {init['what'].split(': ', 1)[1]} ({init['numbers']['seconds']['t2']:.0f} s).")
            display(_claims_table(got, ("C2.5", "C2.6")))
            show_record(got, name.removesuffix(".json"), name.removesuffix(".json").replace("_", "-"), etas=("rotation", "affine"))


def show_eta_sweep() -> None:
    """The committed fixed-eta study (``cpu_eta_sweep.json``): what it ran, and its captioned table."""
    from IPython.display import display

    from ...captions import table
    from ...records import recorded
    from .records import eta_sweep_frame
    from .settings import STEM

    sweep = recorded(STEM, name="cpu_eta_sweep.json").get("standard")
    if sweep is None:
        _note(f"No record of the η sweep in this checkout (`results/standard/{STEM}/cpu_eta_sweep.json`).")
        return
    display(table(styled(eta_sweep_frame(sweep["numbers"]["sweeps"]), {"acc": 1}, default=3),
                  f"The fixed-η study: {sweep['what']}. Per sweep and member, the final |η| of the swept generators, "
                  "the training ELBO per datapoint and the test accuracy (%)."))


def show_cifar_preprocessing() -> None:
    """The committed study behind standardising Table 3's CIFAR-10 (``cpu_cifar_preprocessing.json``): per arm the
    test accuracy, test log-likelihood and training ELBO of the plain MLP, as one captioned table."""
    from IPython.display import display

    from ...captions import table
    from ...records import recorded
    from .settings import STEM

    rec = recorded(STEM, name="cpu_cifar_preprocessing.json").get("standard")
    if rec is None:
        _note(f"No record of the CIFAR-10 preprocessing study in this checkout "
              f"(`results/standard/{STEM}/cpu_cifar_preprocessing.json`).")
        return
    frame = (pd.DataFrame(rec["numbers"]["arms"]).set_index("arm")[["test_acc", "test_ll", "elbo", "seconds"]]
             .rename(columns={"test_acc": "test acc (%)", "test_ll": "test log-lik.", "elbo": "ELBO / point",
                              "seconds": "s"}))
    display(table(styled(frame, {"acc": 1, "s": 0}, default=3),
                  f"{rec['what']}; {rec['device']}, {rec['date'][:10]}: per arm, the plain MLP's test accuracy, "
                  "test log-likelihood and training ELBO per datapoint, and the wall time."))


def show_so_far(ev) -> None:
    """The stored training parts of a profile in progress (``runner.stored_so_far``): their provenance, then
    Tables 1-3 as far as their datasets are stored, beside the paper's (``show_record``); the ablation's parts are
    left out (the page shows them in its own section)."""
    from IPython.display import display

    from .parts import collect

    display(ev)
    training = {n: r for n, r in ev.items() if not n.startswith("ab-")}
    if training:
        show_record(collect(training), f"The {ev.profile} profile so far", f"{ev.profile}-so-far")
