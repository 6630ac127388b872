"""Chapter 5's figures and tables, drawn from the stored parts (``results.frame``: one row per trained network)."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ... import plots
from ...noise import Correlation
from .results import LENSES, frame, members, networks
from .settings import DEPTH

__all__ = ["pair", "KIND_COLORS", "SCATTER_LENSES", "summary", "summary_parts", "ranks", "headline", "scatter_matrix",
           "nu_lenses", "draw_nu", "nu_values", "agreement", "findings", "subsets", "layer_lenses", "probe_curves"]

#: One colour per regime (chapter 1's WT / DA / IR colours where they exist).
KIND_COLORS = {"plain": "#666666", "DA-R4": plots.METHOD_COLORS["DA"], "DA-SO2": "#e6ab02",
               "WT": plots.METHOD_COLORS["WT"], "IR": plots.METHOD_COLORS["IR"], "ML-η": "#7570b3"}
#: The lenses of the scatter matrix: one or two per chapter, and accuracy.
SCATTER_LENSES = ("acc", "LI", "SI", "inv_Middle", "liegg_rotation", "lie_Middle", "liegg_bias", "eta_star")
_LOG = {"LI", "DI", "liegg_rotation", "liegg_variance", "lie_Middle"}


def pair(df: pd.DataFrame, a: str, b: str, oriented: bool = False) -> Correlation:
    """Spearman rho of lenses ``a`` and ``b`` over the networks that have both (ML-η has no per-layer lenses);
    ``oriented`` multiplies each by its direction in ``LENSES`` (rho > 0: they agree on which is more invariant)."""
    d = df[[a, b]].dropna()
    sa, sb = (LENSES[a][0] or 1, LENSES[b][0] or 1) if oriented else (1, 1)
    return Correlation(sa * d[a], sb * d[b])


def summary(ev: Mapping) -> pd.DataFrame:
    """Mean over seeds of every lens, one row per configuration of both families (IR at nu = 0, DA-R4 itself, left
    out)."""
    return networks(frame(ev), None).groupby("config", sort=False)[list(LENSES)].mean()


def ranks(table: pd.DataFrame) -> pd.DataFrame:
    """Each lens's rank of the configurations by invariance (1 = most invariant by that lens; accuracy: 1 = most
    accurate), ties averaged."""
    return pd.DataFrame({k: (-(LENSES[k][0] or 1) * table[k]).rank(method="average") for k in table.columns},
                        index=table.index)


def _short(v: float) -> str:
    """A cell's number in at most five characters: ``0.93``, ``87.2``, ``6e-15``."""
    return f"{v:.0e}".replace("e-0", "e-") if 0 < abs(v) < 0.01 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def headline(ev: Mapping) -> plt.Figure:
    """The page's first figure: configurations x lenses, coloured by rank (dark = most invariant by that lens),
    each cell printing the measured mean."""
    table = summary(ev)
    fig, ax = plt.subplots(figsize=(plots.max_width_in() * 0.9, 0.42 * len(table) + 2.2))
    sns.heatmap(ranks(table), annot=table.apply(lambda col: col.map(_short)).values, fmt="", cmap="viridis_r",
                cbar_kws={"label": "rank (1 = most invariant)"}, annot_kws={"fontsize": 8}, linewidths=0.5, ax=ax)
    ax.set_xticklabels([LENSES[k][1] for k in table.columns], rotation=40, ha="right")
    ax.set(xlabel="", ylabel="", title="One zoo, four lenses: does every measure rank the networks alike?")
    fig.tight_layout()
    return fig


def summary_parts(ev: Mapping) -> dict[str, pd.DataFrame]:
    """``summary`` cut into tables the page column holds, columns named by ``LENSES``: accuracy and the output
    lenses (chapter 1), LieGG (chapter 4) and the preferred η (chapter 2), the per-layer lenses (chapters 3, 4)."""
    table = summary(ev)
    layer = [c for c in table.columns if c.startswith(("inv_", "eqv_", "lie_"))]
    output = [c for c in ("acc", "LI", "DI", "SI") if c in table.columns]
    rest = [c for c in table.columns if c not in layer + output]
    return {name: table[cols].rename(columns={k: LENSES[k][1] for k in cols})
            for name, cols in (("accuracy and chapter 1's output lenses", output),
                               ("chapter 4's LieGG and chapter 2's preferred η", rest),
                               ("the per-layer lenses of chapters 3 and 4", layer)) if cols}


def scatter_matrix(ev: Mapping, lenses: Sequence[str] = SCATTER_LENSES, arch: str = "mlp") -> plt.Figure:
    """Every pair of lenses over the zoo's networks: scatter below the diagonal (one colour per regime; LI and
    LieGG's variance on log axes), Spearman rho and its 95 % interval above it; over one family's networks
    (``arch``)."""
    df = networks(frame(ev), arch)
    lenses = [k for k in lenses if df[k].notna().any()]
    n = len(lenses)
    side = min(9.0, plots.max_width_in() * 0.88)
    fig, axes = plt.subplots(n, n, figsize=(side, side))
    for i, a in enumerate(lenses):
        for j, b in enumerate(lenses):
            ax = axes[i, j]
            if i > j:
                for kind, g in df.groupby("kind"):
                    ax.scatter(g[b], g[a], s=10, color=KIND_COLORS[kind], label=kind, alpha=0.8)
                ax.set_xscale("log" if b in _LOG else "linear")
                ax.set_yscale("log" if a in _LOG else "linear")
            elif i < j:
                c = pair(df, a, b)
                lo, hi = c.interval
                ax.text(0.5, 0.5, f"ρ = {c.rho:+.2f}\n[{lo:+.2f}, {hi:+.2f}]", ha="center", va="center",
                        fontsize=10, transform=ax.transAxes, color="C3" if lo > 0 or hi < 0 else "0.4")
                ax.set_facecolor(plt.cm.RdBu_r(0.5 + c.rho / 2, alpha=0.35))
                ax.grid(False)
            else:
                ax.text(0.5, 0.5, LENSES[a][1].replace(" (", "\n("), ha="center", va="center", fontsize=10,
                        transform=ax.transAxes)
                ax.grid(False)
            if i <= j:
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                ax.tick_params(labelsize=9, labelbottom=i == n - 1, labelleft=j == 0)
                if j:
                    ax.set_yticklabels([], minor=True)
    handles, labels = axes[1, 0].get_legend_handles_labels()
    fig.suptitle(f"Every pair of lenses over the zoo's {arch.upper()} networks (Spearman ρ, 95 % interval)", y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.96), ncol=len(labels), fontsize=10,
               markerscale=2)
    return fig


def layer_lenses(ev: Mapping, arch: str = "mlp") -> plt.Figure:
    """Where along depth invariance appears, by chapter 3's lens (per-depth invariance, left) and chapter 4's
    (LieGG's variance along the rotation generator of each depth's activations, right), for one family's regimes
    at its base size (IR at its largest ν); mean ± std over seeds."""
    df = frame(ev)
    df = df[df.arch == arch]
    base = df[df.kind == "plain"].hidden.iloc[0]
    df = df[df.hidden == base]
    df = df[((df.kind != "IR") | (df.nu == df.nu.max())) & (df.kind != "ML-η")]
    fig, axes = plt.subplots(1, 2, figsize=plots.column_figsize(2, 1, (4.0, 3.4)))
    x = np.arange(len(DEPTH))
    for kind, g in df.groupby("kind", sort=False):
        tag = kind if kind != "IR" else f"IR ν={g.nu.iloc[0]:g}"
        for ax, pre in zip(axes, ("inv", "lie")):
            cols = [f"{pre}_{p}" for p in DEPTH]
            ax.errorbar(x, g[cols].mean().values, g[cols].std().values, marker="o", capsize=2,
                        color=KIND_COLORS[kind], label=tag)
    axes[0].set(ylabel="invariance (ch3, correlation)", title=f"ch3: per-layer invariance ({arch.upper()})")
    axes[1].set(ylabel="LieGG rot. variance (ch4)", yscale="log", title=f"ch4: per-layer LieGG along J ({arch.upper()})")
    for ax in axes:
        ax.set_xticks(x, DEPTH)
    axes[0].legend(fontsize=9)
    fig.tight_layout()
    return fig


def nu_values(ev: Mapping) -> list[float]:
    """The distinct nu of the MLP family's IR sweep, ascending (the CNN family's IR, at its own nus, is left out)."""
    return sorted({float(v) for v in _ir(ev).nu})


def _ir(ev: Mapping) -> pd.DataFrame:
    """The IR networks of the MLP family (ν = 0: DA-R4), one row per network."""
    df = frame(ev)
    return df[(df.kind == "IR") & (df.arch == "mlp")]


def nu_lenses(ev: Mapping, lenses: Sequence[str] = ("acc", "LI", "SI", "inv_Middle", "eqv_Middle", "liegg_rotation",
                                                   "liegg_bias")) -> plt.Figure:
    """Every lens against IR's nu over the MLP family (mean ± std over seeds; nu = 0 drawn at the left end of a
    symlog axis, whose ticks are 0 and the powers of ten from the smallest positive nu on, so none collide)."""
    from matplotlib.ticker import FixedLocator, NullLocator

    ir = _ir(ev)
    fig, axes = plots.panel_grid(len(lenses), panel=(3.0, 2.5), max_cols=3)
    g = ir.groupby("nu")
    for ax, k in zip(axes, lenses):
        m, sd = g[k].mean(), g[k].std()
        ax.errorbar(m.index, m.values, sd.values, marker="o", color=KIND_COLORS["IR"], capsize=2)
        positive = [v for v in m.index if v > 0]
        thresh = min(positive, default=1.0)
        ax.set_xscale("symlog", linthresh=thresh)
        ticks = [0.0] + [10.0 ** e for e in range(int(np.ceil(np.log10(thresh))),
                                                  int(np.floor(np.log10(max(positive, default=1.0)))) + 1)]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.set_yscale("log" if k in _LOG else "linear")
        ax.set(xlabel="ν", title=LENSES[k][1])
    fig.tight_layout()
    return fig


def draw_nu(ax, ev: Mapping, nu: float) -> None:
    """The ν control: per-depth invariance (solid) and equivariance (dashed) of IR at ``nu`` (mean over seeds),
    DA-R4 (ν = 0) in grey, and the output and LieGG lenses at ``nu`` under the axis."""
    ir = _ir(ev)
    x = np.arange(len(DEPTH))
    for v, color, lw, tag in ((0.0, "0.6", 1.2, "DA-R4 (ν = 0)"), (nu, KIND_COLORS["IR"], 2.2, f"ν = {nu:g}")):
        row = ir[ir.nu == v].mean(numeric_only=True)
        ax.plot(x, [row[f"inv_{p}"] for p in DEPTH], "o-", color=color, lw=lw, label=f"{tag}: invariance")
        ax.plot(x, [row[f"eqv_{p}"] for p in DEPTH], "s--", color=color, lw=lw * 0.7, label=f"{tag}: equivariance")
    row = ir[ir.nu == nu].mean(numeric_only=True)
    ax.set_xticks(x, DEPTH)
    ax.set_xlabel(f"acc {row['acc']:.1f} %, LI {row['LI']:.2g}, SI {row['SI']:.2f}, "
                  f"LieGG rot. var. {row['liegg_rotation']:.2g}", fontsize=9)
    lo = float(ir[[f"inv_{p}" for p in DEPTH]].min().min())
    ax.set_ylim(lo - 0.6 * (1 - lo), 1 + 0.05 * (1 - lo))
    ax.set_ylabel("correlation (ch3)")
    ax.legend(fontsize=8, loc="lower right")


def agreement(ev: Mapping, lenses: Sequence[str] = SCATTER_LENSES[1:], arch: str = "mlp") -> pd.DataFrame:
    """Every pair of invariance lenses, oriented (rho > 0: the two agree on which network is more invariant),
    over one family's networks (``arch``), strongest agreement first: ``lens a, lens b, rho, lo, hi, n``."""
    df = networks(frame(ev), arch)
    lenses = [k for k in lenses if df[k].notna().any()]
    rows = []
    for i, a in enumerate(lenses):
        for b in lenses[i + 1:]:
            c = pair(df, a, b, oriented=True)
            rows.append({"lens a": LENSES[a][1], "lens b": LENSES[b][1], "ρ (oriented)": c.rho,
                         "95 % lo": c.interval[0], "95 % hi": c.interval[1], "n": c.n})
    return pd.DataFrame(rows).sort_values("ρ (oriented)", ascending=False).reset_index(drop=True)


def findings(ev: Mapping) -> str:
    """The run's headline numbers in sentences (every number computed here from the stored parts)."""
    df = networks(frame(ev))
    agr = agreement(ev)
    top, low = agr.iloc[0], agr.iloc[-1]
    c = Correlation(df["liegg_rotation"], df["LI"])
    by = df.groupby("kind")[["acc", "LI", "SI", "liegg_rotation"]].mean()
    lines = [f"{len(df)} networks ({df.config.nunique()} configurations × {df.member.nunique()} seeds).",
             f"LieGG rotation variance vs LI: Spearman ρ = {c.rho:+.2f}, 95 % interval "
             f"[{c.interval[0]:+.2f}, {c.interval[1]:+.2f}].",
             f"Strongest agreement: {top['lens a']} and {top['lens b']} (ρ = {top['ρ (oriented)']:+.2f}); "
             f"weakest: {low['lens a']} and {low['lens b']} (ρ = {low['ρ (oriented)']:+.2f}).",
             "Means by regime (all sizes): " + "; ".join(
                 f"{k}: acc {r.acc:.1f} %, LI {r.LI:.2g}, SI {r.SI:.2f}, LieGG rot. var. {r.liegg_rotation:.2g}"
                 for k, r in by.iterrows()) + "."]
    base = df[df.kind == "plain"].hidden.iloc[0]
    star = df[(df.hidden == base) | (df.kind == "ML-η")].groupby("config", sort=False).eta_star.agg(["mean", "std"])
    lines.append("Preferred η* (ch2's lens, degrees, mean ± std over seeds): " + "; ".join(
        f"{k.split(' · ')[0]} {r['mean']:.0f} ± {r['std']:.0f}" for k, r in star.iterrows()) + ".")
    ml = df[df.kind == "ML-η"]
    if len(ml):
        lines.append(f"ML-η learned η = {ml.eta_learned.mean():.1f} ± {ml.eta_learned.std():.1f}° at "
                     f"{ml.acc.mean():.1f} % accuracy.")
    cnn = networks(frame(ev), "cnn")
    if len(cnn) >= 4:
        c = Correlation(cnn["liegg_rotation"], cnn["LI"])
        lines.append(f"CNN family: {len(cnn)} networks; LieGG rotation variance vs LI ρ = {c.rho:+.2f} "
                     f"[{c.interval[0]:+.2f}, {c.interval[1]:+.2f}]; accuracy " + ", ".join(
                         f"{k.split(' · ')[0]} {v:.1f} %" for k, v in cnn.groupby("config", sort=False).acc.mean().items())
                     + ".")
    return "\n".join(lines)


def subsets(ev: Mapping, a: str = "liegg_rotation", b: str = "LI") -> pd.DataFrame:
    """Where S5.1's agreement comes from (exploratory, not judged): Spearman rho of lenses ``a`` and ``b``, and of
    ``a`` and accuracy, over the zoo's networks, over all of them and with WT, IR or both left out."""
    df = networks(frame(ev))
    rows = []
    for name, keep in (("all networks", df.kind.notna()), ("without WT", df.kind != "WT"),
                       ("without IR", df.kind != "IR"), ("without WT and IR", ~df.kind.isin(["WT", "IR"]))):
        c, d = pair(df[keep], a, b), pair(df[keep], a, "acc")
        rows.append({"networks": name, "n": c.n, f"ρ with {b}": c.rho, "95 % lo": c.interval[0],
                     "95 % hi": c.interval[1], "ρ with accuracy": d.rho, "95 % lo ": d.interval[0],
                     "95 % hi ": d.interval[1]})
    return pd.DataFrame(rows).set_index("networks")


def probe_curves(ev: Mapping, degrees: Sequence[float]) -> plt.Figure:
    """Chapter 2's lens: the training log-likelihood of each network averaged over rotations in [-eta, eta],
    relative to eta = 0 (``lenses.marginal_lens``), mean over seeds, for the regimes at the base size of each family
    (IR at its largest nu) and ML-η; the marker is the preferred eta* (mean over seeds). ``degrees``: the probe's
    grid (the profile's ``probe_degrees``)."""
    df = frame(ev)
    zoo = members(ev)
    fig, axes = plt.subplots(2, 1, figsize=plots.column_figsize(1, 2, (6.4, 3.0)), sharey=False, squeeze=False)
    for ax, arch in zip(axes[:, 0], ("mlp", "cnn")):
        fam = df[df.arch == arch]
        if fam.empty:
            ax.set_visible(False)
            continue
        base = fam[fam.kind == "plain"].hidden.iloc[0]
        rows = fam[((fam.hidden == base) | (fam.kind == "ML-η")) & ((fam.kind != "IR") | (fam.nu == fam.nu.max()))]
        for lab in rows.config.unique():
            r = zoo[lab]
            ll = np.asarray(r["probe_log_lik"])  # (M, K)
            gain = (ll - ll[:, :1]).mean(0)  # (K,)
            color = KIND_COLORS[r["kind"]]
            ax.plot(degrees, gain, "-", color=color, label=lab.split(" · ")[0])
            star = float(np.mean(r["eta_star"]))
            ax.plot([star], [np.interp(star, degrees, gain)], "o", color=color)
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set(xlabel="η (degrees): averaged over rotations in [−η, η]", ylabel="log-lik. − log-lik. at η = 0",
               title=f"{arch.upper()} (nats per training image)")
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig
