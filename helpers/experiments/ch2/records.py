"""Chapter 2's earlier records: whole-run JSON files committed before the chapter ran as parts.

- ``h100_results.json``: the standard profile once on an H100 (the whole chapter in one run);
- ``cpu_reduced*.json``: the MNIST experiments on a 2-core CPU at reduced standard settings;
- ``cpu_eta_sweep.json``: the fixed-eta study of ``scripts/ch2_eta_sweep.py``.

All live in ``results/standard/02_invariant_weights/`` and are read with ``helpers.records.recorded``. A whole-run
record keeps Tables 1-3 under ``numbers`` (``table1``, ``table2``, ``table3``) and the sub-checks it judged
(``checks``); ``from_record`` turns them into the layout of ``parts.collect``, so the claims and the views of
the parts read them too.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ...claims import ClaimTable
from ...records import recorded
from .claims import CLAIMS, claim_checks, claim_values
from .invariant_weights import INVARIANCES
from .settings import STEM
from .views import (PAPER_TABLE2, PAPER_TABLE3, eta_frame, plot_eta_figures, table1_frame, table1_vs_paper,
                    table2_vs_paper)

__all__ = ["record_values", "from_record", "show_record", "h100_record", "eta_sweep_frame",
           "show_so_far", "show_cifar_preprocessing"]

_ARRAYS = ("elbo", "kl_per_n", "test_acc", "test_ll", "eta_deg_final", "eta_deg", "eta")
_T2_INIT = ("cpu_reduced_t2_init.json", "cpu_reduced_t2_init_lr.json")  # Table 2 started off eta = 0


def _display(obj) -> None:
    """IPython's ``display`` (imported when a record is shown, not with the chapter)."""
    from IPython.display import display as show
    show(obj)


def from_record(numbers: dict) -> dict:
    """The ``numbers`` of a whole-run record with its arrays as numpy arrays: ``{"toy", "t1", "t2", "t3"}``
    in the layout of ``parts.collect`` (for ``claims.claim_checks`` and the views)."""
    def arrays(r: dict | None) -> dict | None:
        return None if r is None else {k: np.asarray(v) if k in _ARRAYS else v for k, v in r.items()}
    return {"toy": numbers.get("toy"), "t1": {net: {v: arrays(r) for v, r in per.items()}
                                              for net, per in (numbers.get("table1") or {}).items()},
            "t2": arrays(numbers.get("table2")), "t3": arrays(numbers.get("table3"))}


def show_record(got: dict, label: str, etas: Sequence[str] = ("affine",)) -> None:
    """Display a whole-run record (``from_record`` output): Table 1 with the paper's beside it and the eta
    traces of the RFF net (where Table 1 ran), then Tables 2 / 3 beside the paper's with the learned eta of the
    ``etas`` models per dataset (where they ran). ``label`` names the run in the figure title."""
    if "rff" in got["t1"]:
        _display(table1_frame(got["t1"]))
        print("Table 1 (RFF): paper vs ours")
        _display(table1_vs_paper(got["t1"]["rff"]))
        plot_eta_figures(got["t1"]["rff"], f"{label}: η_rot over training")
        plt.show()
    for name, t, paper in (("Table 2 (ReLU, MNIST)", got["t2"], PAPER_TABLE2),
                           ("Table 3 (ReLU, CIFAR-10)", got["t3"], PAPER_TABLE3)):
        if t is None:
            continue
        print(f"{name}, {t['n_train']:,} training images: test accuracy (%), paper vs ours")
        _display(table2_vs_paper(t, paper))
        for inv in etas:
            print(f"learned η of the {inv} model per dataset")
            _display(eta_frame(t, inv))


def show_so_far(ev) -> None:
    """Display the stored training parts of a profile in progress (``runner.stored_so_far``): their provenance,
    then Tables 1-3 as far as their datasets are stored, beside the paper's (``show_record``). The ablation's
    parts are left out (the page shows them in its own section)."""
    from .results import collect

    _display(ev)
    training = {n: r for n, r in ev.items() if not n.startswith("ab-")}
    if training:
        show_record(collect(training), f"the {ev.profile} profile so far")


def h100_record() -> dict | None:
    """The standard profile's whole-run record from the H100 (``h100_results.json``, written before the chapter was
    cut into parts), or None."""
    return recorded(STEM, name="h100_results.json").get("standard")


def record_values(rec: dict) -> dict | None:
    """Today's claim values from a whole-run record's Tables 1-3 (None for a page record, whose claims already
    carry what today's rules need)."""
    n = rec.get("numbers", {})
    if "table1" not in n and "table2" not in n:
        return None
    got = from_record(n)
    return claim_values(claim_checks(got["t1"], got["t2"], got["t3"]), got["t2"], got["t3"])


def _claims_of(got: dict, ids: Sequence[str] | None = None) -> ClaimTable:
    values = claim_values(claim_checks(got["t1"], got["t2"], got["t3"]), got["t2"], got["t3"])
    return ClaimTable.of(CLAIMS, {k: values[k] for k in ids or values})


def eta_sweep_frame(sweeps: Sequence[dict]) -> pd.DataFrame:
    """``eta_sweep.run_eta_sweep`` results as one table: per sweep and member, the mean final |eta| of the swept
    generators, the training ELBO and the test accuracy."""
    rows = []
    for r in sweeps:
        gens = list(INVARIANCES[r["invariance"]])
        for m, name in enumerate(r["names"]):
            rows.append({"invariance": r["invariance"], "dataset": r["variant"], "member": name,
                         "eta final": float(np.abs(np.asarray(r["eta"])[m, gens]).mean()),
                         "ELBO": float(r["elbo"][m]), "test acc (%)": float(r["test_acc"][m])})
    return pd.DataFrame(rows).set_index(["invariance", "dataset", "member"]).round(3)


def show_cifar_preprocessing() -> None:
    """The committed study behind standardising Table 3's CIFAR-10 (``cpu_cifar_preprocessing.json``, from
    ``scripts/ch2_cifar_preprocessing.py``): what it ran, and per arm the test accuracy, test log-likelihood and
    training ELBO of the plain MLP."""
    rec = recorded(STEM, name="cpu_cifar_preprocessing.json").get("standard")
    if rec is None:
        print(f"no record of the CIFAR-10 preprocessing study in this checkout "
              f"(results/standard/{STEM}/cpu_cifar_preprocessing.json)")
        return
    print(f"{rec['what']}; {rec['device']}, {rec['date'][:10]}")
    _display(pd.DataFrame(rec["numbers"]["arms"]).set_index("arm")[["test_acc", "test_ll", "elbo", "seconds"]]
             .rename(columns={"test_acc": "test acc (%)", "test_ll": "test log-lik.", "elbo": "ELBO / point",
                              "seconds": "s"}).round(3))
