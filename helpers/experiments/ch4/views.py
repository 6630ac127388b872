"""Chapter 4's figures (the paper's Figs. 2-8) and tables, drawn from the stored parts (numpy arrays, as the store
gives them back); each page-level function returns a Figure, a DataFrame or a line of text.
"""
from __future__ import annotations

import math
from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from ... import plots
from ...metrics import apply_generator
from ...records import frozen, recorded
from .paper import SAMPLE_PERCENT
from .results import bias_shifts, sweep_correlations, sweep_frame, worst_bias_shift

__all__ = ["headline", "plot_spectrum", "o5_text", "o5_figure", "examples", "rotation_text", "rotation_spectrum",
           "rotation_transforms", "sweep_figure", "layerwise_text", "layerwise_figure", "sample_complexity_figure",
           "sample_complexity_text", "cifar_text", "cifar_figure", "summary_tables", "earlier_records"]

NETS = ("shallow", "deep")


def _std(y: np.ndarray, axis: int) -> np.ndarray:
    """Sample standard deviation (ddof 1, torch's default), zero for a single sample."""
    y = np.asarray(y, dtype=float)
    return y.std(axis, ddof=1) if y.shape[axis] > 1 else np.zeros(np.delete(y.shape, axis))


def _mean_band(ax, x, y, label: str) -> None:
    """Mean over seeds with a +-1 std band; ``y (M, L)``."""
    y = np.asarray(y, dtype=float)
    m, sd = y.mean(0), _std(y, 0)
    ax.plot(x, m, marker="o", ms=3, label=label)
    ax.fill_between(x, m - sd, m + sd, alpha=0.25, color=ax.lines[-1].get_color())


def _numbers(values, fmt: str) -> str:
    """``values`` as a comma-separated list, each as ``fmt`` (no array printout on the page)."""
    return ", ".join(format(float(v), fmt) for v in np.asarray(values, dtype=float).ravel())


# ----------------------------------------------------------------------------- drawing on axes
def plot_spectrum(axes, results: Mapping[str, Mapping]) -> None:
    """Figs. 2/3/8 (a) on two axes: normalised singular values (ascending) and the bias of each singular vector;
    ``results``: ``{label: {"sigma": (M, D), "bias": (M, D)}}``."""
    for label, r in results.items():
        sig = np.asarray(r["sigma"], dtype=float)
        idx = np.arange(1, sig.shape[1] + 1)
        _mean_band(axes[0], idx, sig / sig[:, -1:], label)  # (M, D), relative to the largest
        _mean_band(axes[1], idx, r["bias"], label)
    axes[0].set(yscale="log", xlabel="singular value index (ascending)", ylabel=r"$\sigma_i / \sigma_{max}$")
    axes[1].set(xlabel="singular vector index (ascending σ)", ylabel="symmetry bias", ylim=(-0.02, 1.02))
    axes[0].legend()


def _rotation_density(ax, h, title: str, n_points: int = 64) -> None:
    """Fig. 3b (shaded): where the learned group ``exp(t h)``, ``h (2, 2)``, moves points of the unit circle, ``t``
    over one period of a pure rotation generator of the same norm (``2 pi sqrt 2`` for unit h)."""
    import seaborn as sns

    h = torch.as_tensor(np.asarray(h), dtype=torch.float64)  # (2, 2)
    ts = torch.linspace(0, 2 * math.pi * math.sqrt(2), 48, dtype=torch.float64)  # (T,)
    ang = torch.linspace(0, 2 * math.pi, n_points + 1, dtype=torch.float64)[:-1]  # (P,)
    pts = torch.stack([torch.cos(ang), torch.sin(ang)], 1)  # (P, 2)
    moved = torch.einsum("tij,pj->tpi", torch.linalg.matrix_exp(ts[:, None, None] * h), pts)  # (T, P, 2)
    xy = moved.reshape(-1, 2).clamp(-3, 3).numpy()  # (T*P, 2)
    sns.kdeplot(x=xy[:, 1], y=-xy[:, 0], fill=True, ax=ax, levels=8, cmap="Blues", bw_adjust=0.5)
    ax.plot(np.cos(ang.numpy()), np.sin(ang.numpy()), "k--", lw=0.8)
    ax.set(aspect="equal", xlim=(-2, 2), ylim=(-2, 2), title=title, xticks=[], yticks=[])


# ----------------------------------------------------------------------------- Experiment 1: O(5)
def o5_text(o5: Mapping) -> str:
    """The O(5) part as a Markdown list of four items: schedule and test MSE, spectral gap, bias, and the
    invariant model."""
    sig, inv = np.asarray(o5["sigma"]), o5["invariant"]
    isig = np.asarray(inv["sigma"])
    return "\n".join([
        f"- N = {o5['n']}, {o5['epochs']} epochs, {o5['wall_time_s']:.1f} s; test MSE per seed: "
        f"{_numbers(o5['test_mse'], '.3f')}",
        f"- gap σ₁₁/σ₁₀ per seed: {_numbers(sig[:, 10] / sig[:, 9], '.1f')}",
        f"- largest bias among the 10 smallest vectors per seed: {_numbers(np.asarray(o5['bias'])[:, :10].max(1), '.3f')}",
        f"- invariant model, untrained: σ₁₀/σ_max = {isig[9] / isig[-1]:.1e}, largest bias of the ten = "
        f"{np.asarray(inv['bias'])[:10].max():.1e}, variance = {inv['variance']:.1e}"])


def o5_figure(o5: Mapping, sizes: Mapping) -> plt.Figure:
    """Fig. 2: spectrum and bias per singular vector (trained seeds and the untrained invariant model), and
    the mean variance of the ten O(5) directions against the training-set size."""
    inv = o5["invariant"]
    fig = plt.figure(figsize=plots.column_figsize(2, 2, (4.0, 3.0)), layout="constrained")
    axes = fig.subplot_mosaic([["spectrum", "bias"], ["sizes", "sizes"]])
    plot_spectrum([axes["spectrum"], axes["bias"]], {"trained MLP": o5, "invariant model (untrained)": {
        "sigma": np.maximum(np.asarray(inv["sigma"])[None], 1e-18), "bias": np.asarray(inv["bias"])[None]}})
    var = np.asarray(sizes["variance10"], dtype=float)  # (L, M)
    axes["sizes"].errorbar(np.asarray(sizes["sizes"]), var.mean(1), yerr=_std(var, 1), marker="o", capsize=2)
    axes["sizes"].set(xscale="log", yscale="log", xlabel="training-set size N",
                      ylabel="symmetry variance\n(mean of 10 smallest)", title=f"Spearman ρ = {sizes['spearman']:.2f}")
    return fig


# ----------------------------------------------------------------------------- Experiment 2: rotation-MNIST
def examples(rot: Mapping) -> plt.Figure:
    """Ten rotation-MNIST training images (rotated and blurred) with their labels."""
    ex = rot["examples"]
    return plots.image_grid(np.asarray(ex["images"]) / 255.0, titles=[str(int(v)) for v in ex["labels"]], ncols=5,
                            size=1.3)


def rotation_text(rot: Mapping) -> str:
    """A Markdown list, one item per net: parameters, test accuracy, SO(2) bias of the smallest singular vector,
    variance."""
    lines = []
    for name in NETS:
        r = rot[name]
        acc, bias = 100 * np.asarray(r["test_acc"]), np.asarray(r["bias"])[:, 0]
        lines.append(f"- **{name}** ({r['params']:,} parameters): test accuracy {acc.mean():.1f} ± {_std(acc, 0):.1f} %, "
                     f"SO(2) bias {bias.mean():.3f} ± {_std(bias, 0):.3f}, variance {np.mean(r['variance']):.2e} "
                     f"(per-pixel units as in the authors' code: {np.mean(r['variance_pixel_units']):.2e})")
    return "\n".join(lines)


def _spectrum_figure(results: Mapping[str, Mapping], panel: tuple[float, float]) -> plt.Figure:
    """``plot_spectrum`` of ``results`` on two panels of size ``panel`` (inches) side by side."""
    fig, axes = plt.subplots(1, 2, figsize=plots.column_figsize(2, 1, panel), constrained_layout=True)
    plot_spectrum(axes, results)
    return fig


def rotation_spectrum(rot: Mapping) -> plt.Figure:
    """Fig. 3a: spectrum and SO(2) bias per singular vector, shallow and deep net."""
    return _spectrum_figure({name: rot[name] for name in NETS}, (4.0, 3.2))


def rotation_transforms(rot: Mapping, steps: int = 6) -> plt.Figure:
    """Fig. 3b: the learned group ``exp(t h)`` of the first seed, on a circle and on a training digit."""
    ts = torch.linspace(0, 2 * np.pi * np.sqrt(2), steps + 1)[1:]  # (T,), up to a full turn of a unit rotation
    digit = torch.as_tensor(np.asarray(rot["digit"]), dtype=torch.float32)  # (1, 28, 28)
    fig, axes = plt.subplots(2, steps + 1, figsize=plots.column_figsize(steps + 1, 2, (1.15, 1.3)))
    for row, name in enumerate(NETS):
        h = torch.as_tensor(np.asarray(rot[name]["generator"])[0], dtype=torch.float32)  # (2, 2)
        _rotation_density(axes[row, 0], h, name)
        moved = apply_generator(digit, h, ts)[:, 0]  # (T, 28, 28)
        for c in range(steps):
            axes[row, c + 1].imshow(moved[c].numpy(), cmap="gray")
            axes[row, c + 1].set(xticks=[], yticks=[], title=f"t = {ts[c]:.1f}")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- Experiment 3: the sweep
def sweep_figure(df) -> plt.Figure:
    """Fig. 4 from ``sweep_frame``'s rows: variance and bias vs parameter count per depth (top), and vs test accuracy
    (bottom)."""
    import seaborn as sns
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(2, 2, figsize=plots.column_figsize(2, 2, (4.0, 3.2)), constrained_layout=True)
    corr, pct = sweep_correlations(df), df.assign(test_acc_pct=100 * df["test_acc"].to_numpy(float))
    for ax, key in zip(axes[0], ("variance", "bias")):
        sns.lineplot(df, x="params", y=key, hue="depth", marker="o", ax=ax, palette="viridis", errorbar="sd")
        ax.set(xlabel="parameters", ylabel=f"symmetry {key}")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:.0f}k"))
    for ax, key in zip(axes[1], ("variance", "bias")):
        sns.scatterplot(pct, x="test_acc_pct", y=key, hue="n_params", ax=ax, palette="viridis", legend=False)
        rho = corr[f"spearman_{'var' if key == 'variance' else 'bias'}_acc"]
        ax.set(xlabel="test accuracy (%)", ylabel=f"symmetry {key}", title=f"Spearman ρ = {rho:.2f}")
    return fig


# ----------------------------------------------------------------------------- Experiments 4-6
def layerwise_text(lw: Mapping) -> str:
    """Test accuracy of each training regime (seed mean), one sentence."""
    return "Test accuracy (seed mean): " + "; ".join(f"{regime} {100 * np.mean(r['test_acc']):.1f} %"
                                                      for regime, r in lw.items()) + "."


def layerwise_figure(lw: Mapping) -> plt.Figure:
    """Fig. 5: symmetry variance and bias after each Linear layer, one line per training regime."""
    fig, axes = plt.subplots(1, 2, figsize=plots.column_figsize(2, 1, (4.0, 3.2)), constrained_layout=True)
    for regime, r in lw.items():
        layers = np.arange(1, np.asarray(r["variance"]).shape[1] + 1)
        _mean_band(axes[0], layers, r["variance"], regime)
        _mean_band(axes[1], layers, r["bias"], regime)
    axes[0].set(xlabel="layer", ylabel="symmetry variance", yscale="log")
    axes[1].set(xlabel="layer", ylabel="symmetry bias")
    axes[0].legend(fontsize=8)
    return fig


def sample_complexity_figure(o5: Mapping, rot: Mapping) -> plt.Figure:
    """Figs. 6-7: variance and bias from a fraction of the rows (mean ± std over the subsets; red: the full-data
    value), O(5) (first seed of ``o5``, top) and rotation-MNIST (first deep seed of ``rot``, bottom)."""
    fig, axes = plt.subplots(2, 2, figsize=plots.column_figsize(2, 2, (4.0, 3.0)), constrained_layout=True)
    for row, (title, sc) in zip(axes, (("O(5)", o5["sample_complexity"]),
                                       ("rotation-MNIST", rot["sample_complexity"]))):
        f = 100 * np.asarray(sc["fractions"], dtype=float)
        for ax, key in zip(row, ("variance", "bias")):
            v = np.asarray(sc[key], dtype=float)  # (L, R)
            ax.errorbar(f, v.mean(1), yerr=_std(v, 1), marker="o", ms=3, capsize=2)
            ax.axhline(sc[f"{key}_full"], color="red")
            ax.set(xscale="log", xlabel="% of training samples in E", ylabel=f"symmetry {key}", title=title)
    return fig


def sample_complexity_text(o5: Mapping, rot: Mapping, tolerance: float = 0.02) -> str:
    """A Markdown list: per task, the smallest fraction from which on every random subset's bias is within
    ``tolerance`` of the full-data bias (C4.7's reading), beside the paper's 0.25 % (O(5)) and 5 % (rotation-MNIST)."""
    lines = []
    for name, sc in (("O(5)", o5["sample_complexity"]), ("rotation-MNIST", rot["sample_complexity"])):
        paper = SAMPLE_PERCENT[name]
        f, ok = 100 * np.asarray(sc["fractions"], dtype=float), bias_shifts(sc) <= tolerance
        first = next((i for i in range(len(f)) if ok[i:].all()), len(f) - 1)
        lines.append(f"- {name}: every subset within {tolerance} of the full-data bias from {f[first]:g} % of the "
                     f"rows on (paper: {paper:g} %); at {paper:g} % the worst subset is off by "
                     f"{worst_bias_shift(sc, paper / 100):.3f}")
    return "\n".join(lines)


def cifar_text(cifar: Mapping) -> str:
    """Training images, test accuracy, SO(2) bias and the first seed's generator (as a MyST/LaTeX matrix), as one
    paragraph of Markdown; or why the part was skipped."""
    if "skipped" in cifar:
        return f"CIFAR-10 skipped: {cifar['skipped']}"
    h = np.asarray(cifar["generator"])[0]  # (2, 2)
    rows = r" \\ ".join(" & ".join(f"{v:.3f}" for v in row) for row in h)
    return (f"{cifar['n_train']:,} training images; test accuracy {100 * np.mean(cifar['test_acc']):.1f} %; "
            f"SO(2) bias {np.asarray(cifar['bias'])[:, 0].mean():.3f}; learned generator (first seed): "
            f"$h = \\begin{{pmatrix}} {rows} \\end{{pmatrix}}$.")


def cifar_figure(cifar: Mapping) -> plt.Figure | None:
    """Fig. 8a: spectrum and bias of the CIFAR-10 MLP (None when the part was skipped)."""
    return None if "skipped" in cifar else _spectrum_figure({"CIFAR-10 MLP": cifar}, (4.0, 3.0))


# ----------------------------------------------------------------------------- the discussion's tables
def _tables(n: Mapping) -> dict:
    """A run's numbers behind the chapter's discussion, as tables (seed means unless noted): ``{"rotation": by net
    (test accuracy, bias of the smallest singular vector), "sweep": by depth (test accuracy), "sample_complexity":
    by (task, fraction) (bias), "cifar": by seed (test accuracy, bias)}``. ``n``: ``{"rotation": {net: result},
    "sweep": {"rows": [...]}, "sample_complexity": {task: result}, "cifar": result}`` (``summary_tables``' layout,
    that of an earlier whole-run record's ``numbers``)."""
    rot = pd.DataFrame({net: {"test accuracy (%)": 100 * float(np.mean(n["rotation"][net]["test_acc"])),
                              "bias": float(np.mean([b[0] for b in n["rotation"][net]["bias"]]))}
                        for net in NETS}).T
    sweep = pd.DataFrame(n["sweep"]["rows"]).assign(**{"test accuracy (%)": lambda d: 100 * d["test_acc"]}) \
        .groupby("depth")[["test accuracy (%)"]].mean()
    sc = pd.DataFrame([{"task": task, "fraction": float(f), "bias": float(np.mean(b))}
                       for task, v in n["sample_complexity"].items()
                       for f, b in zip(v["fractions"], v["bias"])]).set_index(["task", "fraction"])
    cifar = n["cifar"]
    cif = (pd.DataFrame({"test accuracy (%)": 100 * np.asarray(cifar["test_acc"]), "bias": [b[0] for b in cifar["bias"]]})
           if "bias" in cifar else pd.DataFrame())
    cif.index.name = "seed"
    return {"rotation": rot, "sweep": sweep, "sample_complexity": sc, "cifar": cif}


def summary_tables(ev: Mapping) -> dict:
    """The tables the discussion cites, from this page's parts (``_tables``): rotation (by net), sweep (by depth),
    sample complexity (by task and fraction), cifar (by seed)."""
    numbers = {"rotation": {n: ev["rotation"][n] for n in NETS}, "sweep": {"rows": sweep_frame(ev).to_dict("records")},
               "sample_complexity": {"o5": ev["o5"]["sample_complexity"],
                                     "rotation_mnist": ev["rotation"]["sample_complexity"]},
               "cifar": ev["cifar"]}
    return _tables(numbers)


def earlier_records(stem: str = "04_liegg", root=None) -> dict[str, dict]:
    """The committed whole-run records of the standard profile from before it ran as parts (``h100_results.json``,
    ``cpu_results.json``): ``{caption (profile, device, date, wall time, file): {"claims": their claims as the
    chapter's frozen table holds them, beside each record's own verdict (``helpers.records.frozen``), and
    ``_tables``' "rotation", "sweep", "sample_complexity", "cifar"}}``; empty when none is committed."""
    out = {}
    for e in frozen(stem, root):
        rec = recorded(stem, root, name=e["record"])[e["profile"]]
        rows = [{"claim": c["id"], "ours": f"{c['ours']:.3g}" if isinstance(c.get("ours"), float) else c.get("ours"),
                 "verdict": c["verdict"], "why": c.get("why", ""), "recorded verdict": c.get("recorded_verdict")}
                for c in e["claims"]]
        caption = (f"{e['profile']} on {e['device']}, {e['date']}, {e['wall_time_s']:.0f} s of wall time "
                   f"({e['record']})")
        out[caption] = {"claims": pd.DataFrame(rows).set_index("claim") if rows else pd.DataFrame(),
                        **_tables(rec["numbers"])}
    return out


def headline(ev: Mapping) -> plt.Figure:
    """The page's first figure: LieGG on the O(5)-invariant regression (Fig. 2)."""
    return o5_figure(ev["o5"], ev["o5-sizes"])
