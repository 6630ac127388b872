"""Chapter 1's figures and tables, drawn from stored part results (numpy arrays)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import plots
from .paper import PAPER_TABLE1
from .results import groups_of, pending_nus, sensitivity_of
from .settings import MODELS

__all__ = ["headline", "table1", "nu_sweep_figure", "neighbours_frame", "chosen_frame", "drift_figure", "plot_tsne",
           "plot_saliency", "plot_sensitivity", "plot_proposition", "draw_nu", "draw_beta", "models_frame",
           "show_so_far"]


_TABLE1_COLUMNS = (("acc", "{:.1f}"), ("LI", "{:.2f}"), ("DI", "{:.3f}"), ("SI", "{:.2f}"))


def table1(results: dict[str, dict], paper: bool = False):
    """Table 1: accuracy (%), LI, DI, SI as mean ± std over seeds, one row per (group, model); with ``paper``,
    beside the paper's (``PAPER_TABLE1``) in columns (measure, ``paper`` / ``ours``).

    Args:
        results: ``{group: result of part group-<group>}`` (``results.groups_of(ev)``).
    """
    rows = {}
    for g, r in results.items():
        for kind in MODELS:
            m, row = r["table"][kind], {}
            for i, (key, fmt) in enumerate(_TABLE1_COLUMNS):
                if paper:
                    row[(key, "paper")] = PAPER_TABLE1[g][kind][i]
                row[(key, "ours")] = f"{fmt.format(np.mean(m[key]))} ± {fmt.format(np.std(m[key]))}"
            rows[(r["group"], kind + (f" (ν={float(r['nu']):g})" if kind == "IR" else ""))] = row
    df = pd.DataFrame.from_dict(rows, orient="index").rename_axis(["group", "model"])
    return df if paper else df.droplevel(1, axis=1)


def nu_sweep_figure(groups: dict[str, dict], target: float):
    """The nu sweeps that chose IR's nu, one column per group: accuracy, LI and SI (mean ± std over seeds) against nu
    in its three rows."""
    fig, axes = plt.subplots(3, len(groups), figsize=plots.column_figsize(len(groups), 3, (3.8, 2.4)), squeeze=False)
    for col, r in zip(axes.T, groups.values()):
        nus = sorted(r["sweep"])
        for ax, key, label in zip(col, ("acc", "LI", "SI"), ("test accuracy (%)", "LI", "SI")):
            m = np.array([np.mean(r["sweep"][nu][key]) for nu in nus])
            sd = np.array([np.std(r["sweep"][nu][key]) for nu in nus])
            ax.errorbar(nus, m, yerr=sd, marker="o", capsize=2, label="IR")
            ax.axhline(np.mean(r["table"]["DA"][key]), color="C1", ls="--", label="DA")
            ax.axvline(r["nu"], color="gray", lw=0.8)
            ax.set(xscale="log", xlabel="ν", ylabel=label, title=r["group"])
            if key == "SI":
                ax.axhline(target, color="red", lw=0.8, label=f"SI = {target}")
            if key == "LI":
                ax.set_yscale("log")
        col[0].legend(fontsize=8)
    for ax in axes[:-1].flat:
        ax.set_xlabel("")
    fig.tight_layout()
    return fig


def neighbours_frame(ts: dict):
    """C1.6 in a table: per model, the fraction of transformed images whose nearest feature-space neighbour is in
    their own orbit and of their own class, and the orbit spread over the class spread."""
    return pd.DataFrame({k: {"nearest neighbour in own orbit": ts["neighbours"][k]["same_orbit"],
                             "nearest neighbour of own class": ts["neighbours"][k]["same_class"],
                             "orbit spread / class spread": ts["spread"][k]} for k in MODELS}).T.rename_axis("model")


def chosen_frame(sens: dict[str, dict]):
    """Per group and regulariser, the nu the SI rule chose and that model's SI and accuracy (seed means)."""
    rows = {(g, pen): {"ν": float(v["nu"]), "SI": float(np.mean(v["sweep"][v["nu"]]["SI"])),
                       "accuracy (%)": float(np.mean(v["sweep"][v["nu"]]["acc"]))}
            for g, sv in sens.items() for pen, v in sv.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["group", "regulariser"])


def plot_tsne(ax, ts: dict, n_traced: int = 3) -> None:
    """Fig. 2: t-SNE of the DA model's penultimate features, coloured by class; a few orbits traced."""
    emb, lab, B = ts["embedding"], ts["labels"], ts["n"]
    G = len(emb) // B
    ax.scatter(emb[:, 0], emb[:, 1], c=lab, cmap="tab10", s=6, alpha=0.6, vmin=0, vmax=9)
    for b in range(n_traced):
        pts = emb[np.arange(G) * B + b]  # (G, 2): the orbit of sample b
        ax.plot(*np.vstack([pts, pts[:1]]).T, "k-", lw=1)
        for g, p in enumerate(pts):
            ax.annotate(f"g{g}", p, fontsize=7)
    ax.set(xticks=[], yticks=[], title="DA model: penultimate features (t-SNE); black: one sample's orbit")


def plot_saliency(axes, images: np.ndarray, maps: dict[str, np.ndarray]) -> None:
    """Fig. 3: input and realigned saliency maps over the orbit, one row per model.

    Args:
        axes: ``(len(maps), 1 + G)`` array of axes.
        images: ``(G, H, W)`` the orbit of one sample (realigned to g = e for display).
        maps: ``{kind: (G, H, W)}`` realigned saliency maps ``g^-1 m(g x)``.
    """
    for row, (kind, m) in enumerate(maps.items()):
        axes[row, 0].imshow(images[0], cmap="gray")
        axes[row, 0].set_ylabel(kind)
        for g in range(m.shape[0]):
            axes[row, g + 1].imshow(m[g], cmap="Reds")
            if row == 0:
                axes[row, g + 1].set_title(f"g{g}, realigned")
    for ax in axes.flat:
        ax.set(xticks=[], yticks=[])


def drift_figure(groups: dict[str, dict]):
    """Fig. 4 for every group, one row per group: DI (left) and the accuracy ratio (right) against the drift degree
    beta, per model (mean ± std over seeds)."""
    fig, axes = plt.subplots(len(groups), 2, figsize=plots.column_figsize(2, len(groups), (3.9, 3.0)), squeeze=False)
    for row, (g, r) in zip(axes, groups.items()):
        for kind in MODELS:
            for ax, key in zip(row, ("DI", "acc_ratio")):
                v = np.asarray(r["drift"][kind][key])  # (n_beta, M)
                ax.errorbar(r["drift"]["betas"], v.mean(1), yerr=v.std(1), marker="o", ms=3, capsize=2, label=kind,
                            color=plots.METHOD_COLORS[kind])
        row[0].set(xlabel="drift β (MNIST → FMNIST)", ylabel="DI (KL, nats)", title=f"{g}: DI")
        row[1].set(xlabel="drift β (MNIST → FMNIST)", ylabel="Acc(D(β)) / Acc(D(0))", title=f"{g}: accuracy ratio")
        row[0].legend()
    fig.tight_layout()
    return fig


def plot_sensitivity(ax, sens: dict[str, dict], da: dict[str, list]) -> None:
    """Fig. 5: sigma_max(J) of DA and of IR with each regulariser (at its chosen nu), per group.

    Args:
        sens: ``{group: {penalty: {"nu", "sweep"}}}`` (``results.sensitivity_of(ev)``); da: ``{group: DA sigma_max
            per seed}``.
    """
    labels = ["DA", "IR-KL", "IR-L2", "IR-L2/‖f‖²"]
    keys = [None, "kl", "l2", "l2_normalized"]
    width = 0.8 / len(sens)
    for i, (g, sv) in enumerate(sens.items()):
        vals = [da[g]] + [sv[k]["sweep"][sv[k]["nu"]]["sigma_max"] for k in keys[1:]]
        x = np.arange(len(labels)) + i * width
        ax.bar(x, [np.mean(v) for v in vals], width, yerr=[np.std(v) for v in vals], capsize=2, label=g)
    ax.set_xticks(np.arange(len(labels)) + width * (len(sens) - 1) / 2, labels)
    ax.set(ylabel="σ_max(J)", title="input sensitivity")
    ax.legend()


def plot_proposition(ax, prop: dict) -> None:
    """Proposition 3.1: ||W(t)||_2 under the exact gradient flow of LI and under gradient descent."""
    ax.plot(prop["t"], prop["flow"], label="gradient flow, eq. (6)")
    ax.plot(prop["t"], prop["gd"], "--", label=f"gradient descent, step {prop['lr']:.1e}")
    ax.set(xlabel="t", ylabel=r"$\|W(t)\|_2$", title="linear model trained on LI only")
    ax.legend()


def draw_nu(ax, r: dict, nu: float, sample: int = 0) -> None:
    """The nu control's panel: one sample's realigned orbit saliency for the IR model trained with ``nu``.

    Args:
        r: the result of part ``group-<g>`` (its ``saliency["IR"][nu]`` and ``sweep[nu]``).
    """
    maps = np.asarray(r["saliency"]["IR"][nu][sample])  # (G, H, W)
    ax.imshow(np.concatenate(list(maps), axis=1), cmap="Reds")  # (H, G*W)
    m = r["sweep"][nu]
    ax.set(xticks=[], yticks=[], xlabel=f"acc {np.mean(m['acc']):.1f}%  LI {np.mean(m['LI']):.3f}  "
                                         f"SI {np.mean(m['SI']):.2f}")


def draw_beta(ax, drift: dict, beta: float, sample: int = 0) -> None:
    """The beta control's panel: one drifted test image with each model's prediction and its orbit DI."""
    i = drift["betas"].index(beta)
    ax.imshow(drift["examples"]["images"][i][sample], cmap="gray")
    ex = drift["examples"]
    label = "\n".join(f"{k}: {ex[k]['pred'][i][sample]} (DI {ex[k]['DI'][i][sample]:.2f})" for k in MODELS)
    ax.set(xticks=[], yticks=[], xlabel=f"digit {ex['labels'][sample]} →\n{label}")


def models_frame(tables: dict[str, dict], sens: dict[str, dict], extension: dict | None = None):
    """Every trained model in one table: WT and DA, then every IR model of every regulariser's sweep.

    Args:
        tables: ``{group: {kind: metrics}}`` (Table 1's rows); sens: ``{group: {penalty: {"nu", "sweep"}}}``.
        extension: optional part ``extension-<g>-<penalty>`` (``runs.run_extension``: one regulariser beyond the
            grid).
    Returns:
        A DataFrame indexed by (group, model, penalty, nu) with seed means of acc (%), LI, SI, sigma_max and a
        ``chosen`` flag (the nu the SI rule picked).
    """
    rows = []

    def row(g, model, penalty, nu, r, chosen=False):
        rows.append({"group": g, "model": model, "penalty": penalty, "nu": nu, "chosen": chosen,
                     **{k: float(np.mean(r[k])) for k in ("acc", "LI", "SI", "sigma_max") if k in r}})

    for g, t in tables.items():
        for kind in ("WT", "DA"):
            row(g, kind, "", 0.0, t[kind])
        for pen, sv in sens[g].items():
            for nu, r in sv["sweep"].items():
                row(g, "IR", pen, float(nu), r, chosen=float(nu) == float(sv["nu"]))
    if extension is not None:
        for nu, r in extension["sweep"].items():
            row(extension["group"], "IR", extension["penalty"], float(nu), r)
    return pd.DataFrame(rows).set_index(["group", "model", "penalty", "nu"]).sort_index()


def headline(ev):
    """The page's first figure: per group, accuracy against saliency invariance SI for WT, DA and IR (seed means
    with their spread), and the IR models of the ν sweep as a line: accurate is not the same as invariant."""
    groups = groups_of(ev)
    fig, axes = plt.subplots(1, len(groups), figsize=plots.column_figsize(len(groups), 1, (4.0, 3.4)), squeeze=False,
                             sharey=True)
    for ax, (g, r) in zip(axes[0], groups.items()):
        nus = sorted(r["sweep"], key=float)
        si = [np.mean(r["sweep"][nu]["SI"]) for nu in nus]
        acc = [np.mean(r["sweep"][nu]["acc"]) for nu in nus]
        ax.plot(si, acc, "-", color=plots.METHOD_COLORS["IR"], alpha=0.4, label="IR, each ν")
        for kind in MODELS:
            m = r["table"][kind]
            ax.errorbar(np.mean(m["SI"]), np.mean(m["acc"]), xerr=np.std(m["SI"]), yerr=np.std(m["acc"]), fmt="o",
                        ms=8, capsize=3, color=plots.METHOD_COLORS[kind],
                        label=kind + (f" (ν = {float(r['nu']):g})" if kind == "IR" else ""))
        ax.axvline(ev.settings.si_target, color="0.6", ls=":", lw=1)
        ax.set(xlabel="saliency invariance SI (1 = genuinely invariant)", xlim=(0, 1.05),
               title={"rot4": "$R_4$ (quarter turns)", "trans3": "$T_3$ (cyclic shifts)"}.get(g, g))
        ax.legend(fontsize="small", loc="lower left")
    axes[0, 0].set_ylabel("test accuracy (%)")
    fig.tight_layout()
    return fig


def show_so_far(ev) -> None:
    """Display what the stored parts of a profile in progress (``runner.stored_so_far``) show: their provenance,
    Table 1 beside the paper's for each group whose ``group-<g>`` part is stored (IR at the nu the SI rule picks
    among the stored nus, said to be final or provisional: ``results.pending_nus``), the nu sweeps, and every model,
    each figure and table with its caption (``helpers.captions``)."""
    from IPython.display import Markdown, display

    from ... import captions

    display(ev)
    groups = groups_of(ev)
    if not groups:
        display(Markdown("No `group-<g>` part (WT and DA) is stored yet, so Table 1 has no row."))
        return
    display(captions.table(table1(groups, paper=True),
                           f"Table 1 of the {ev.profile} profile so far, beside the paper's"))
    for g, r in groups.items():
        pending = pending_nus(ev, g)
        display(Markdown(f"{r['group']}: the SI rule picks ν = {float(r['nu']):g} among the stored ν, "
                         + ("final: no ν still to come can change it." if not pending
                            else f"provisional until ν = {', '.join(f'{n:g}' for n in pending)} are stored.")))
    captions.figure(nu_sweep_figure(groups, ev.settings.si_target), "fig-ch1-so-far-nu-sweeps",
                    f"The {ev.profile} profile so far: accuracy, LI and SI along the stored ν sweeps, one column "
                    "per group.",
                    alt=f"Accuracy, logit invariance and saliency invariance of the regularised models against ν, per "
                        f"group, for the stored parts of the {ev.profile} profile.")
    display(captions.table(models_frame({g: r["table"] for g, r in groups.items()}, sensitivity_of(ev)),
                           f"Every model of the {ev.profile} profile so far"))
