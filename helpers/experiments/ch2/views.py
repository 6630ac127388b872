"""Chapter 2's tables, drawn from stored part results (numpy arrays, as the store gives them back), beside the
paper's (``paper``); the figures are ``figures``'.

Tables 1-3 come in the layout of ``results.collect`` (``t1 = {net: {dataset: result}}``, ``t2`` / ``t3`` with
``test_acc`` ``(I, V)``); the ablation as ``{arm: {dataset: result}}``. Nothing here trains or loads data.
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ...captions import figure, table
from ...groups import AFFINE_NAMES
from .figures import plot_eta_figures
from .paper import PAPER_TABLE1, PAPER_TABLE2, PAPER_TABLE3
from .results import CONFOUND_RULE, cifar_frame, collect, confound_frame, confound_reading, eta_sweep_frame, training
from .settings import STEM

__all__ = ["table1_frame", "table2_frame", "eta_frame", "table1_vs_paper", "table2_vs_paper", "ablation_frame",
           "styled", "show_table1", "show_t2", "show_record", "show_h100", "show_cpu_reduced", "show_eta_sweep",
           "show_cifar_preprocessing", "show_kernel_confound", "show_so_far", "show_vs_paper", "show_ladder"]


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
        row: dict = {}
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
    rows: dict = {}
    for i, inv in enumerate(t2["invariances"]):
        rows[inv] = {}
        for j, v in enumerate(t2["datasets"]):
            rows[inv] |= {(v, "paper"): paper[inv][v], (v, "ours"): round(float(acc[i, j]), 1)}
    return pd.DataFrame.from_dict(rows, orient="index")


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
    _show(table(styled(table1_frame(t1), {"ELBO": 3}), caption))


def show_t2(t: dict, what: str, etas: Sequence[str] = ("affine",), paper: dict | None = None) -> None:
    """Table 2 or 3 (``what`` names it in the captions) as captioned tables: our test accuracy (beside the paper's
    when ``paper`` is given), then the learned eta of each of the ``etas`` models per dataset."""
    n = f"{t['n_train']:,} training images" if "n_train" in t else "this profile's training images"
    if paper is None:
        _show(table(styled(table2_frame(t), {}), f"{what}, ours ({n}): test accuracy (%) of each invariance "
                                                 "type (rows) on each dataset (columns)."))
    else:
        _show(table(styled(table2_vs_paper(t, paper), _VS_DIGITS),
                    f"{what}: test accuracy (%) of each invariance type, the paper's beside ours ({n})."))
    for inv in etas:
        _show(table(styled(eta_frame(t, inv), {}, default=3),
                    f"{what}: the learned η of the {inv} model per dataset (translation in normalised coordinates, "
                    "rotation in radians, scale and shear in log-scale; App. E)."))


#: Decimals of the paper-vs-ours tables: the paper's as printed, ours as ``table1_vs_paper`` / ``table2_vs_paper``
#: round them.
_VS_DIGITS = {"ELBO paper": 2, "ELBO ours": 3, "acc paper": 2, "acc ours": 1, "paper": 2, "ours": 1}


def show_vs_paper(rff: dict | None, t2: dict | None, t3: dict | None = None, label: str = "") -> None:
    """The paper's Tables 1-3 beside ours, each a captioned table: Table 1 of the RFF net (``{dataset: result}``),
    then Tables 2 and 3 where they ran (``label``, if given, starts each caption)."""
    head = f"{label}: " if label else ""
    if rff:
        _show(table(styled(table1_vs_paper(rff), _VS_DIGITS),
                    f"{head}Table 1 (RFF): the paper's ELBO per datapoint and test accuracy (%) beside ours."))
    for what, t, paper in (("Table 2 (ReLU, MNIST", t2, PAPER_TABLE2), ("Table 3 (ReLU, CIFAR-10", t3, PAPER_TABLE3)):
        if t is not None:
            n = f"; ours on {t['n_train']:,} training images" if "n_train" in t else ""
            _show(table(styled(table2_vs_paper(t, paper), _VS_DIGITS),
                        f"{head}{what} test accuracy %{n}): the paper's beside ours."))


def show_record(got: dict, label: str, name: str, etas: Sequence[str] = ("affine",)) -> None:
    """A whole-run record's Tables 1-3 (``_show_earlier``) or parts in progress with captions: Table 1 and the paper's
    beside it, the eta traces of the RFF net as figure ``fig-ch2-<name>-eta`` (where Table 1 ran), then Tables 2 / 3
    beside the paper's with the learned eta of the ``etas`` models (where they ran). ``label`` names the run in the
    captions."""
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


def _show(obj) -> None:
    from IPython.display import display

    display(obj)


def _note(text: str) -> None:
    from IPython.display import Markdown

    _show(Markdown(text))


def _show_earlier(name: str, label: str, tag: str, intro: Callable[[dict], str],
                  etas: Sequence[str] = ("affine",)) -> bool:
    """The standard profile's earlier whole-run record ``name``: ``intro(record)`` as a note, its claims as the
    chapter's frozen table holds them (judged once by today's rules, ``helpers.records.frozen``), then its Tables
    1-3 and figure ``fig-ch2-<tag>-eta`` (``show_record``, ``label`` naming it in the captions). False where the
    record is not in this checkout."""
    from ...records import frozen, frozen_table, recorded

    rec = recorded(STEM, name=name).get("standard")
    entry = next((e for e in frozen(STEM) if e["record"] == name and e["profile"] == "standard"), None)
    if rec is None or entry is None:
        return False
    _note(intro(rec))
    _show(frozen_table(entry["claims"]))
    n = rec["numbers"]  # its lists are read as arrays
    show_record({"t1": n.get("table1") or {}, "t2": n.get("table2"), "t3": n.get("table3")}, label, tag, etas)
    return True


def show_h100() -> None:
    """The H100 record (``h100_results.json``): its device, date and wall time, then its claims, tables and figure
    (``_show_earlier``)."""
    if not _show_earlier("h100_results.json", "H100 record", "h100",
                         lambda r: f"Recorded on an {r['device']}, {r['date'][:10]}, in {r['wall_time_s']:.0f} s."):
        _note(f"No H100 record of chapter 2 in this checkout (`results/standard/{STEM}/h100_results.json`).")


def _cpu_intro(cpu: dict) -> str:
    st = cpu["numbers"]["settings"]
    return (f"Recorded on a {cpu['device']}, {cpu['date'][:10]}: {st['n_train']:,} training images, {st['hidden']} "
            f"hidden units, S = {st['train']['samples']}, {st['train']['epochs']} epochs; wall time "
            + ", ".join(f"{k} {v:.0f} s" for k, v in cpu["numbers"]["seconds"].items()) + ".")


def _init_intro(name: str, rec: dict) -> str:
    return f"`{name}`: {rec['what'].split(': ', 1)[1]} ({rec['numbers']['seconds']['t2']:.0f} s)."


def show_cpu_reduced() -> None:
    """``cpu_reduced.json`` (its settings and wall times, then its claims, tables and figure: ``_show_earlier``),
    then the Table 2 runs started off eta = 0 (``cpu_reduced_t2_init*.json``)."""
    if not _show_earlier("cpu_reduced.json", "CPU record", "cpu", _cpu_intro):
        _note(f"No CPU record of chapter 2 in this checkout (`results/standard/{STEM}/cpu_reduced.json`).")
    for name in ("cpu_reduced_t2_init.json", "cpu_reduced_t2_init_lr.json"):
        stem = name.removesuffix(".json")
        _show_earlier(name, stem, stem.replace("_", "-"), partial(_init_intro, name), etas=("rotation", "affine"))


def show_eta_sweep(studies) -> None:
    """The fixed-eta study (part ``eta-sweep`` of ``studies``, ``full_ablation.studies``): what it ran, and its
    captioned table."""
    from IPython.display import display

    from ...captions import table

    if "eta-sweep" not in studies:
        _note("The η sweep (part `eta-sweep` of the standard profile) is not stored in this checkout.")
        return
    r, m = studies["eta-sweep"], studies.meta["eta-sweep"]
    display(table(styled(eta_sweep_frame(r["sweeps"]), {"acc": 1}, default=3),
                  f"The fixed-η study (part `eta-sweep`, {studies.profile} profile; {m['device']}, {m['date'][:10]}): "
                  f"Table 2's ReLU net on {r['n_train']:,} training images, {r['hidden']} hidden units, "
                  f"S = {r['samples']}, {r['epochs']} epochs. Per sweep and member, the final |η| of the swept "
                  "generators, the training ELBO per datapoint and the test accuracy (%)."))


def show_cifar_preprocessing(studies) -> None:
    """The study behind standardising Table 3's CIFAR-10 (part ``cifar-preprocessing`` of ``studies``,
    ``full_ablation.studies``): per arm the test accuracy, test log-likelihood and training ELBO of the plain MLP,
    as one captioned table."""
    from IPython.display import display

    from ...captions import table

    if "cifar-preprocessing" not in studies:
        _note("The CIFAR-10 preprocessing study (part `cifar-preprocessing` of the standard profile) is not stored "
              "in this checkout.")
        return
    r, m = studies["cifar-preprocessing"], studies.meta["cifar-preprocessing"]
    display(table(styled(cifar_frame(r), {"acc": 1, "s": 0}, default=3),
                  f"Table 3's plain MLP member on regular CIFAR-10 ({r['n_train']:,} images, {r['hidden']} units, "
                  f"S = {r['samples']}, {r['epochs']} epochs, one seed), raw vs standardised pixels "
                  f"(part `cifar-preprocessing`, {studies.profile} profile; {m['device']}, {m['date'][:10]}): per "
                  "arm, the plain MLP's test accuracy, test log-likelihood and training ELBO per datapoint, and the "
                  "wall time."))


def show_kernel_confound(studies) -> None:
    """The base-kernel study (part ``kernel-confound`` of ``studies``, ``full_ablation.studies``; issue 39, item 5):
    a figure of each arm's ELBO against the fixed eta_rot (``figures.plot_confound``), a table per dataset and eta
    (``results.confound_frame``) and the pre-registered reading (``results.confound_reading``)."""
    from .figures import plot_confound

    if "kernel-confound" not in studies:
        _note("The base-kernel study (part `kernel-confound` of the standard profile) is not stored in this checkout.")
        return
    r, m = studies["kernel-confound"], studies.meta["kernel-confound"]
    seeds = len(next(iter(r["runs"].values())))
    sizes = (f"{r['n_train']:,} training images, {r['hidden']} units, S = {r['samples']}, {r['steps']:,} steps, "
             f"{seeds} seeds; part `kernel-confound`, {studies.profile} profile; {m['device']}, {m['date'][:10]}")
    figure(plot_confound(r), "fig-ch2-confound",
           f"The base-kernel confound ({sizes}): the training ELBO per datapoint of Table 1's RFF net with η_rot "
           "fixed, the warped rows as they are (solid), rescaled to their own norm (dashed) and rescaled to their own "
           "spread over the training images (dotted; at 0° the warp is the identity and the arms are one member). "
           "Seed mean ± SE, dots: seeds.",
           alt="One panel per dataset: training ELBO against the fixed rotation eta in degrees, one line for the "
               "warped random features as they are and one for each rescaling.")
    _show(table(styled(confound_frame(r), {"acc": 1}, default=3),
                f"The base-kernel confound ({sizes}): per dataset and fixed η_rot, the mean norm² and spread² over the "
                "training images that a warped row keeps (64 draws of T), each arm's ELBO per datapoint (seed mean), "
                "each rescaling's paired shift from the rows as warped (mean ± SE over seeds), and each arm's test "
                "accuracy (%, posterior-mean W2)."))
    reading = confound_reading(r)
    deg = lambda xs: ", ".join(f"{g:g}°" for g in xs)  # noqa: E731
    _note("Reading, fixed before the part ran: " + CONFOUND_RULE + ". " + "; ".join(
        f"{v}: the ELBO picks {deg(x['argmax']['as warped'])} as warped (seeds), "
        + ", ".join(f"{deg(x['argmax'][a])} rescaled to the row's {'norm' if a == 'norm' else 'spread'}: "
                    f"**{x['verdict'][a]}**" for a in x["verdict"])
        for v, x in reading.items()) + ".")


def show_so_far(ev) -> None:
    """The stored training parts of a profile in progress (``runner.stored_so_far``): their provenance, then
    Tables 1-3 as far as their datasets are stored, beside the paper's (``show_record``); the ablation's parts are
    left out (the page shows them in its own section)."""
    _show(ev)
    parts = training(ev)
    if parts:
        show_record(collect(parts), f"The {ev.profile} profile so far", f"{ev.profile}-so-far")


def show_ladder(ev) -> None:
    """The budget ladder of the steps profile as far as it is stored (``runner.stored_so_far``): the pre-registered
    reading (``ladder.TREND_RULE``), a figure of each claim's quantity against steps (``figures.plot_ladder``) and
    a table per rung with the ELBO's choices per seed and each quantity's trend, or a note when no rung is
    stored."""
    from .figures import plot_ladder
    from .ladder import TREND_RULE, rung_summary, rungs

    frame = rungs(ev.results)
    if frame.empty:
        _note("No rung of the budget ladder (the steps profile's `ladder-*` parts) is stored yet.")
        return
    summary = rung_summary(frame)
    n = summary.groupby("dataset")["steps"].apply(lambda s: ", ".join(f"{x:,}" for x in s)).to_dict()
    figure(plot_ladder(frame, summary), "fig-ch2-ladder",
           "The budget ladder so far (steps profile: 60,000 images, Adam 1e-3 cosine-annealed over each rung's "
           f"steps, D = {ev.settings.hidden}, S = {ev.settings.train.samples}; stored rungs: "
           + "; ".join(f"{v} {s} steps" for v, s in n.items())
           + "). Left: the ELBO of the fixed η the ELBO picks minus that of Table 1's choice (C2.1); middle: the "
           "learned η_rot from 5° (C2.2; dashed: Table 1's ELBO choice); right: its test accuracy with the "
           "posterior-mean W2 (open markers: the sampled predictive, where stored; dashed: Table 1). Seed mean ± SE "
           "(dots: seeds).",
           alt="Three panels against training steps on a log axis: the ELBO gap of the argmax fixed eta to the "
               "paper's choice, the learned eta in degrees, and test accuracy, per dataset, with the paper's values "
               "as dashed lines.")
    pm = lambda q, d: [f"{m:.{d}f} ± {e:.{d}f}" if m == m else "—"  # noqa: E731 (mean ± SE; a dash where NaN)
                       for m, e in zip(summary[q], summary[f"{q} SE"].fillna(0))]
    rows = pd.DataFrame({"seeds": summary["seeds"], "ELBO's choice (°)": summary["ELBO's choice (°)"],
                         "ELBO gap": pm("choice_gap", 3), "learned η (°)": pm("learned_deg", 1),
                         "acc (%)": pm("acc", 1), "acc, sampled (%)": pm("acc_sampled", 1),
                         "trend (gap, η, acc)": [t[0] if len(set(t)) == 1 else ", ".join(t) for t in zip(
                             *(summary[f"trend {q}"] for q in ("choice_gap", "learned_deg", "acc")))]})
    rows.index = pd.MultiIndex.from_frame(summary[["dataset", "steps"]])
    _show(table(rows,
                f"The ladder's rungs: per dataset and steps, the fixed η the ELBO picks in each seed, the ELBO gap "
                f"to the paper's choice (C2.1), the learned η from 5° (C2.2) and its test accuracy with the "
                f"posterior-mean W2 and with the sampled predictive (seed mean ± SE), and each quantity's trend "
                f"under the rule fixed before the results: {TREND_RULE}."))
