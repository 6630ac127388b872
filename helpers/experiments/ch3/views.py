"""Chapter 3's figures (the paper's Figs. 2-7) and tables, drawn from part results as the store gives them back.
Each figure is sized for the book's page column (``plots.panel_grid`` / ``plots.column_figsize``), with its legend
outside the plotted data and no suptitle: the page gives it a numbered caption (``helpers.captions``).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import captions, plots
from ...metrics.similarity import PARTS as DEPTH_PARTS
from ...noise import K_SE, Effect, outcome_of
from .results import collect, frames, matched_widths, measured, plateau
from .settings import MEASURES, SETTINGS

__all__ = ["headline", "demo_frame", "demo_maps", "toy", "toy_frame", "plot_mnist6", "plot_translation", "accuracies",
           "plot_fig2b", "plot_pretrained", "FRAME_CAPTIONS", "subcheck_frame", "curves", "plateau_frame",
           "plot_matched", "show_experiments", "show_so_far"]

#: One panel of the page's multi-panel figures, inches: three fit the column's widest legible figure side by side.
PANEL = (3.2, 2.9)


def _legend_below(fig, ax, ncol: int | None = None) -> None:
    """One legend for the whole figure, under its panels (a constrained layout makes room), built from ``ax``'s
    labelled artists: it can never sit over the data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=ncol or min(len(labels), 3), frameon=False)


# --------------------------------------------------------------------------- Figs. 2a and 3
def demo_frame(demo: dict) -> pd.DataFrame:
    """Fig. 2a's numbers as a table: each similarity (rows) of the random maps and their noisy copies, as they are
    and with 0.5 added to both (columns)."""
    return pd.DataFrame({kind: {"maps as they are": float(demo[kind]["plain"]),
                                "both + 0.5": float(demo[kind]["shifted"])} for kind in ("correlation", "cosine")}
                        ).T.rename_axis("similarity")


def demo_maps(demo: dict) -> plt.Figure:
    """The example pair of Fig. 2a, as it is and with 0.5 added."""
    a, b = (np.asarray(v) for v in demo["example"])  # (size, size) each
    return plots.image_grid(np.stack([a, b, a + 0.5, b + 0.5])[:, None],
                            titles=["map", "noisy copy", "map + 0.5", "copy + 0.5"])


def toy(toy_result: dict) -> plt.Figure:
    """Fig. 3: rotation invariance and equivariance (eq. 7, c' shared over X) per layer of the toy CNNs as paired
    bars, one panel each, the legend under the panels."""
    fig, axes = plots.panel_grid(len(toy_result), PANEL, sharey=True, layout="constrained")
    for ax, (name, r) in zip(axes, toy_result.items()):
        x = np.arange(len(r["layers"]))
        for dx, key in ((-0.2, "invariance"), (0.2, "equivariance_shared")):
            ax.bar(x + dx, r[key], 0.4, label=MEASURES[key], color=plots.METHOD_COLORS[key.split("_")[0]])
        ax.set_xticks(x, r["layers"], rotation=45, ha="right")
        ax.set(ylim=(min(0.0, float(np.min(r["invariance"])) - 0.05), 1.05), title=f"{name} filters")
    axes[0].set_ylabel("mean correlation\n(1 = exact)")   # the panels share their y axis
    _legend_below(fig, axes[0], ncol=2)
    return fig


def toy_frame(toy_result: dict) -> pd.DataFrame:
    """The toy CNNs' per-layer values: rows (network, measure), one column per layer."""
    rows = {(name, MEASURES[k]): dict(zip(r["layers"], np.asarray(r[k], dtype=float).tolist()))
            for name, r in toy_result.items() for k in MEASURES if k in r}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["network", "measure"])


# --------------------------------------------------------------------------- Figs. 5 and 6
def _mean_std(runs: list[dict], key: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The seed mean of ``{key}_parts`` over ``runs`` ``(5,)`` and its std over seeds (None for one seed)."""
    v = np.array([r[f"{key}_parts"] for r in runs])  # (seeds, 5)
    return v.mean(0), v.std(0) if len(v) > 1 else None


def plot_mnist6(mn: dict) -> plt.Figure:
    """Fig. 5: one panel per MNIST6 task of the per-part ``MEASURES`` its runs have (mean ± std over seeds) as grouped
    bars, the legend under the panels. ``mn``: ``{task: {"acc", "runs"}}``."""
    fig, axes = plots.panel_grid(len(mn), PANEL, sharey=True, layout="constrained")
    x = np.arange(len(DEPTH_PARTS))
    for ax, (task, r) in zip(axes, mn.items()):
        keys = measured(r["runs"])
        w = 0.8 / len(keys)
        for i, key in enumerate(keys):
            mean, std = _mean_std(r["runs"], key)
            ax.bar(x + (i - (len(keys) - 1) / 2) * w, mean, w, yerr=std, capsize=2, label=MEASURES[key],
                   color=plots.METHOD_COLORS.get(key.split("_")[0]),
                   alpha=0.45 if key == "equivariance" else 1.0)  # the second reading (c' per image) paler
        ax.set_xticks(x, DEPTH_PARTS)
        ax.set(ylim=(-0.3, 1.05), title=f"{task} (acc {np.mean(r['acc']):.1f} %)")
    axes[0].set_ylabel("mean correlation\n(1 = exact)")   # the panels share their y axis
    _legend_below(fig, axes[0])
    return fig


def plot_translation(variants: dict) -> plt.Figure:
    """Figs. 6a/6b: one panel per ``MEASURES`` entry the runs have, a line per variant (per-part means ± std over
    seeds), the legend under the panels. ``variants``: ``{label: {"acc": [...], "runs": [...]}}`` (augmentations or
    widths, from parts or a record)."""
    runs = {str(k): v["runs"] for k, v in variants.items()}
    keys = measured(next(iter(runs.values())))
    fig, axes = plots.panel_grid(len(keys), PANEL, sharey=True, layout="constrained")
    x = np.arange(len(DEPTH_PARTS))
    for ax, key in zip(axes, keys):
        for label, rs in runs.items():
            mean, std = _mean_std(rs, key)
            ax.errorbar(x, mean, yerr=std, marker="o", capsize=2, label=label)
        ax.set_xticks(x, DEPTH_PARTS)
        ax.set(title=MEASURES[key].replace(" (", "\n("), ylim=(-0.05, 1.05),
               xlim=(-0.4, len(x) - 0.6))      # the end ticks' labels clear of the next panel's
    axes[0].set_ylabel("translation, mean correlation")
    _legend_below(fig, axes[0], ncol=min(len(runs), 5))
    return fig


def accuracies(variants: dict) -> str:
    """``"<label> 45.7 %, ..."``: each variant's validation accuracy, seed mean."""
    return ", ".join(f"{k} {np.mean(v['acc']):.1f} %" for k, v in variants.items())


def plot_fig2b(f2: dict) -> plt.Figure:
    """Fig. 2b: 90° rotation invariance per block of the baseline ResNet under cosine and correlation, and the
    blocks' mean |activation| (scaled), with each similarity's Pearson ρ with it."""
    fig, ax = plt.subplots(figsize=plots.column_figsize(1, 1, (7.0, 3.4)), layout="constrained")
    for kind in ("cosine", "correlation"):
        ax.plot(f2[kind], marker="o", label=f"{kind} (ρ with magnitude {f2['rho_' + kind]:.2f})")
    mag = np.asarray(f2["magnitude"])
    ax.plot(mag / mag.max(), ls="--", c="gray", label="mean |activation| (scaled)")
    ax.set_xticks(range(len(f2["layers"])), f2["layers"], rotation=90)
    ax.set(ylabel="90° rotation invariance")
    _legend_below(fig, ax, ncol=2)
    return fig


# --------------------------------------------------------------------------- Figs. 4 and 7
def plot_pretrained(pre: dict) -> plt.Figure:
    """Figs. 7 and 4: per-part translation and rotation equivariance of each pretrained model (CNNs solid,
    ViT / Mixer dashed) and Spearman's ρ per part of each measure with ImageNet accuracy."""
    fig, axes = plt.subplots(3, 1, figsize=plots.column_figsize(1, 3, (6.4, 3.2)), layout="constrained")
    x = np.arange(len(DEPTH_PARTS))
    for ax, t in zip(axes[:2], ("translation", "rotation")):
        for name, m in pre["models"].items():
            ax.plot(x, m[t]["equivariance_shared_parts"], "o-" if m["kind"] == "cnn" else "s--",
                    label=f"{name.split('.')[0]} ({m['acc']:.1f} %)")
        ax.set_xticks(x, DEPTH_PARTS)
        ax.set(ylim=(-0.05, 1.05), ylabel="mean correlation", title=f"{t} equivariance (cf. Fig. 7)")
    axes[1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)   # under the panel
    ax, w = axes[2], 0.2
    bars = [(t, k) for t in ("translation", "rotation") for k in ("invariance", "equivariance_shared")]
    for i, (t, k) in enumerate(bars):
        ax.bar(x + (i - 1.5) * w, pre["spearman"][t][k], w, label=f"{t} {MEASURES[k]}")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(x, DEPTH_PARTS)
    ax.set(ylim=(-1.05, 1.05), ylabel="Spearman ρ", title="Spearman ρ with ImageNet accuracy (cf. Fig. 4)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=1, frameon=False)
    return fig


# --------------------------------------------------------------------------- tables
#: The caption of each of ``results.frames``' tables.
FRAME_CAPTIONS = {
    "mnist6": "MNIST6 (cf. Fig. 5): rotation invariance and equivariance per depth part and validation accuracy (%) "
              "of the 7-layer CNN, per task and measure (seed means).",
    "augmentations": "Data augmentation (cf. Fig. 6a): translation invariance and equivariance per depth part and "
                     "validation accuracy (%) of the CIFAR ResNet, per augmentation and measure (seed means).",
    "widths": "Width (cf. Fig. 6b): translation invariance and equivariance per depth part and validation accuracy "
              "(%) of WRN-40-k, per width and measure (seed means).",
    "seconds": "Seconds each model spent training and measuring, seeds summed.",
}


def subcheck_frame(checks: dict[str, list | None]) -> pd.DataFrame:
    """One row per sub-check of the trained-network claims (``claims.subchecks``'s output), indexed by (claim,
    check): the mean of each side (``a``: what the paper says is larger, ``b``), ``a − b``, ``2 SE`` (beyond it a
    difference is more than seed noise; ``helpers.noise``) and ``outcome`` (holds / contradicts / inconclusive for
    effects over seeds; holds / fails for a threshold)."""
    rows = []
    for cid, pairs in checks.items():
        for label, c in pairs or []:
            e = isinstance(c, Effect)
            rows.append({"claim": cid, "check": label, "a": float(np.mean(c.a)) if e else np.nan,
                         "b": float(np.mean(c.b)) if e else np.nan, "a − b": c.diff if e else np.nan,
                         f"{K_SE:g} SE": K_SE * c.se if e else np.nan, "outcome": outcome_of(c)})
    return pd.DataFrame(rows).set_index(["claim", "check"])


def headline(ev, s=None) -> plt.Figure:
    """The page's first figure: invariance and equivariance by depth in the MNIST6 CNNs (Fig. 5)."""
    return plot_mnist6(collect(ev, s if s is not None else SETTINGS[ev.profile])["mnist6"])


# --------------------------------------------------------------------------- training curves and matched accuracy
def curves(variants: dict) -> plt.Figure:
    """Each network's validation curve (% per epoch; ``runs.train_and_measure``'s ``curve``), one colour per
    variant, one line per seed, the legend under the axes; ``variants``: ``{label: {"runs": [...]}}`` (runs without
    a curve are left out)."""
    fig, ax = plt.subplots(figsize=plots.column_figsize(1, 1, (6.4, 3.4)), layout="constrained")
    for i, (label, v) in enumerate(variants.items()):
        for j, r in enumerate(x for x in v["runs"] if "curve" in x):
            c = np.asarray(r["curve"])
            ax.plot(np.arange(1, len(c) + 1), c, color=f"C{i}", lw=1, alpha=0.8, label=str(label) if j == 0 else None)
    ax.set(xlabel="epoch", ylabel="validation accuracy (%)")
    _legend_below(fig, ax, ncol=min(len(variants), 5))
    return fig


def plateau_frame(variants: dict) -> pd.DataFrame:
    """Per network (variant, seed): epochs trained, whether it stopped early, final and best validation accuracy
    and the change over its last 10 % of epochs (``results.plateau``: a plateau is < 1 point)."""
    rows = [{"variant": str(label), "seed": j, "epochs": len(r["curve"]), "stopped": bool(r.get("stopped", False)),
             "final %": float(r["curve"][-1]), "best %": float(np.max(r["curve"])),
             **{k: v for k, v in plateau(r["curve"]).items() if k != "window"}}
            for label, v in variants.items() for j, r in enumerate(v["runs"]) if "curve" in r]
    return pd.DataFrame(rows).set_index(["variant", "seed"]) if rows else pd.DataFrame()


def plot_matched(wid: dict, key: str = "equivariance_shared") -> plt.Figure | None:
    """Equivariance against validation accuracy along training, per width (Middle and Late panels): each seed's
    tracked points as a line, the common accuracy A* of the rule of ``results`` as a vertical line and each network's
    value there as a marker. None where the widths were not tracked."""
    m = matched_widths(wid, key)
    if m is None:
        return None
    fig, axes = plt.subplots(1, 2, figsize=plots.column_figsize(2, 1, (4.2, 3.4)), layout="constrained")
    for ax, p in zip(axes, (1, 2)):
        for i, k in enumerate(sorted(wid)):
            for j, r in enumerate(wid[k]["runs"]):
                pts = sorted(r["track"], key=lambda q: q["epoch"])
                ax.plot([q["acc"] for q in pts], [q[f"{key}_parts"][p] for q in pts], color=f"C{i}", lw=1,
                        alpha=0.7, marker=".", label=f"k={k}" if j == 0 else None)
                ax.plot(m["acc"], m["values"][k][j, p], "o", color=f"C{i}", ms=7, mec="k")
        ax.axvline(m["acc"], color="k", lw=0.8, ls="--")
        ax.set(xlabel="validation accuracy (%)", ylabel=f"{DEPTH_PARTS[p]}: translation\n{MEASURES[key]}",
               title=f"{DEPTH_PARTS[p]} (A* = {m['acc']:.1f} %, dashed)")
    _legend_below(fig, axes[0], ncol=min(len(wid), 4))
    return fig


# --------------------------------------------------------------------------- the trained experiments, captioned
#: Per experiment of ``results.collect``'s layout: the paper's figure, what a figure of it plots, and its alt text.
_EXPERIMENTS = {
    "mnist6": ("Fig. 5", "rotation invariance and equivariance per depth part of the 7-layer MNIST6 CNN, one panel "
                         "per task (bars: seed means, whiskers: their spread over seeds; accuracy in each title)",
               "Grouped bars of invariance and of both readings of equivariance over five depth parts, one panel "
               "per MNIST6 task."),
    "augmentations": ("Fig. 6a", "translation invariance and equivariance per depth part of the CIFAR ResNet, a line "
                                 "per data augmentation, one panel per measure (seed means)",
                      "Line plots over five depth parts, one line per augmentation, one panel per measure."),
    "widths": ("Fig. 6b", "translation invariance and equivariance per depth part of WRN-40-k, a line per width k, "
                          "one panel per measure (seed means)",
               "Line plots over five depth parts, one line per width, one panel per measure."),
}


def show_experiments(n: dict, prefix: str, where: str) -> None:
    """Display the trained experiments ``n`` holds (``results.collect``'s layout, or an earlier record's
    ``numbers``) as numbered figures named ``<prefix>-<experiment>`` whose captions start with ``where``: Fig. 5,
    Figs. 6a and 6b with each variant's validation accuracy, the validation curves and plateau tables where the
    runs kept them, and the per-part tables (``results.frames``)."""
    from IPython.display import Markdown, display

    for key, (paper, what, alt) in _EXPERIMENTS.items():
        if not n.get(key):
            continue
        variants = {f"k={k}" if key == "widths" else str(k): r for k, r in n[key].items()}  # widths as k=<k>
        if key != "mnist6":
            display(Markdown(f"{where}, validation accuracy: {accuracies(variants)}."))
        fig = plot_mnist6(variants) if key == "mnist6" else plot_translation(variants)
        captions.figure(fig, f"{prefix}-{key}", f"{where}: {what} (cf. the paper's {paper}).", alt=alt)
        if key != "mnist6" and any("curve" in r for v in variants.values() for r in v["runs"]):
            captions.figure(curves(variants), f"{prefix}-{key}-curves",
                            f"{where}: the validation accuracy of each network of {paper} along training, a colour "
                            f"per variant, a line per seed.",
                            alt="Validation accuracy against epoch, one line per network.")
            display(captions.table(plateau_frame(variants), f"{where}: per network of {paper}, the epochs trained, "
                                   "whether it stopped early, final and best validation accuracy (%) and the change "
                                   "over its last 10 % of epochs (a plateau: less than 1 point).", precision=2))
    for name, frame in frames(n).items():
        display(captions.table(frame, f"{where}. {FRAME_CAPTIONS[name]}"))


def show_so_far(ev) -> None:
    """The stored trained parts of a profile in progress (``runner.stored_so_far``): their provenance, then
    ``show_experiments`` of the experiments stored so far (figures named ``fig-ch3-<profile>-<experiment>``)."""
    from IPython.display import display

    display(ev)
    show_experiments(collect(ev, ev.settings, stored_only=True), f"fig-ch3-{ev.profile}",
                     f"The {ev.profile} profile so far")
