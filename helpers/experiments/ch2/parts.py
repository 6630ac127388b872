"""Chapter 2's parts: one per experiment and dataset, each a sweep of ``M`` members trained as one model (the runs
are ``sweeps``' and, for the ablation, ``ablation``'s).

- ``toy``: Fig. 1, a 2-D two-class problem with no / some / full rotational invariance.
- ``t1-<net>-<dataset>`` (net in ``s.table1_nets``, dataset full / partial / regular): Table 1 (App. Tables
  4 / 5) and Fig. 2 on one dataset, fixed eta_rot at 5..175 degrees and learned eta from the same initial
  values; ``t1-rff-full`` also holds the maximum-likelihood members of Fig. 5.
- ``t2-<dataset>`` (``s.table2_datasets``): Table 2 on one MNIST dataset, ReLU nets learning no / rotation /
  translation / scale / affine invariance, with the small arrays Figs. 3 (``t2-full``) / 4 and the eta control
  draw.
- ``t3-<dataset>``: the same on CIFAR-10 (Table 3), where ``s.cifar_n_train > 0``.
- ``ladder-<dataset>-<steps>``, ``var-<dataset>-d<D>-s<S>`` (``s.ladder``): the budget ladder (``ladder``).
- ``ab-<arm>-<dataset>`` (``s.ablation``): what the parameterisation costs, the paper's settings and one
  departure at a time (``ablation``), on several seeds.
- ``eta-sweep``, ``cifar-preprocessing``, ``kernel-confound`` (the standard profile only): the studies beyond the
  paper's tables (``studies``), with their own sizes (``settings.ETA_SWEEP``, ``CIFAR_PREPROCESSING``,
  ``KERNEL_CONFOUND``).

Each part declares the settings it reads (``uses``), so a change to another experiment's settings leaves it
valid. ``results.collect`` puts the stored results back into the tables' layout.
"""
from __future__ import annotations

from functools import partial

from ...parts import Needs, Part
from . import studies, sweeps
from .ablation import arm_part
from .settings import CIFAR_PREPROCESSING, ETA_SWEEP, KERNEL_CONFOUND, ROTATION_DATASETS, SETTINGS, Settings

__all__ = ["all_parts"]

_SHARED = ("alpha", "blur_sigma", "normalise_features", "init_std")
_USES = {
    "toy": ("toy_hidden", "toy_steps", "alpha"),
    "t1": ("n_train", "n_test", "hidden", "train", "init_degrees", "learned_init_degrees", "ml_init_degrees",
           "sigma", *_SHARED),
    "t2": ("n_train", "n_test", "hidden", "table2", "table2_invariances", "table2_eta_init", "table2_seeds",
           *_SHARED),
    "ab": ("ablation", "alpha", "blur_sigma"),
    "ladder": ("ladder", "n_train", "n_test", "hidden", "train", "init_degrees", "learned_init_degrees", "sigma",
               *_SHARED),
    "t3": ("cifar_n_train", "cifar_n_test", "cifar_hidden", "cifar", "cifar_standardise", "table2_invariances",
           "table2_eta_init", "table2_seeds", *_SHARED),
    "eta-sweep": ("n_train", "n_test", "table2", *_SHARED),
    "cifar-preprocessing": ("cifar_n_train", "cifar_n_test", "cifar_hidden", "cifar", *_SHARED),
    "kernel-confound": ("train", "sigma", *_SHARED),
}


def all_parts(s: Settings) -> list[Part]:
    """The chapter's parts in profile settings ``s`` (see the module docstring)."""
    gpu = Needs(gpu=True, memory_gb=2.0)
    out = [Part("toy", sweeps.toy, Needs(gpu=True, memory_gb=1.0), uses=_USES["toy"],
                description="Fig. 1: toy RFF nets with no / some / full rotational invariance")]
    # table1_seeds is left out of the settings hash at its default 1 (stored one-seed parts keep their hashes)
    t1_uses = _USES["t1"] + (("table1_seeds",) if s.table1_seeds != 1 else ())
    out += [Part(f"t1-{net}-{v}", partial(sweeps.table1, net=net, variant=v), gpu, uses=t1_uses,
                 description=f"Table 1 ({net.upper()}), {v} MNIST: fixed and learned eta_rot"
                             + (" and ML members (Fig. 5)" if (net, v) == ("rff", "full") else ""))
            for net in s.table1_nets for v in ROTATION_DATASETS]
    out += [Part(f"t2-{v}", partial(sweeps.table23, name="mnist", variant=v), gpu, uses=_USES["t2"],
                 description=f"Table 2, {v} MNIST: ReLU nets learning each invariance type")
            for v in s.table2_datasets]
    if s.cifar_n_train > 0:
        out += [Part(f"t3-{v}", partial(sweeps.table23, name="cifar10", variant=v), Needs(gpu=True, memory_gb=4.0),
                     uses=_USES["t3"], description=f"Table 3, {v} CIFAR-10: ReLU nets learning each invariance type")
                for v in s.table2_datasets]
    if s.ladder is not None:
        lad = s.ladder
        out += [Part(f"ladder-{v}-{b}", partial(sweeps.ladder_rung, variant=v, budget=b), gpu, uses=_USES["ladder"],
                     description=f"Budget ladder: Table 1 (RFF), {v} MNIST, {b} steps, {lad.seeds} seeds")
                for v in lad.datasets for b in lad.budgets]
        out += [Part(f"var-{lad.variation_dataset}-d{d}-s{k}", partial(sweeps.ladder_variation, hidden=d, samples=k),
                     gpu, uses=_USES["ladder"], description=f"Width and samples at the profile's steps: fixed eta "
                     f"{', '.join(f'{g:g}' for g in lad.variation_degrees)} deg, {lad.variation_dataset} MNIST, "
                     f"D = {d}, S = {k}, {lad.seeds} seeds")
                for d, k in lad.variations]
    if s.ablation is not None:
        out += [Part(f"ab-{arm}-{v}", partial(arm_part, arm=arm, variant=v), Needs(memory_gb=1.0),
                     uses=_USES["ab"], description=f"What the parameterisation costs: arm {arm!r}, {v} MNIST, "
                                                   f"{s.ablation.seeds} seeds")
                for arm in s.ablation.arms for v in s.ablation.datasets]
    if s == SETTINGS["standard"]:
        eta = ETA_SWEEP
        out.append(Part("eta-sweep", partial(studies.eta_sweep, study=eta), Needs(memory_gb=2.0),
                        uses=_USES["eta-sweep"], own=eta,
                        description=f"Fixed and learned translation and scale eta of Table 2's ReLU net "
                                    f"({eta.hidden} units, S = {eta.samples}, {eta.epochs} epochs)"))
        out.append(Part("cifar-preprocessing", partial(studies.cifar_preprocessing, study=CIFAR_PREPROCESSING),
                        Needs(memory_gb=2.0), uses=_USES["cifar-preprocessing"], own=CIFAR_PREPROCESSING,
                        description="Table 3's plain MLP on regular CIFAR-10: raw or standardised pixels, lr_w1"))
        kc = KERNEL_CONFOUND
        out.append(Part("kernel-confound", partial(studies.kernel_confound, study=kc), Needs(memory_gb=2.0),
                        uses=_USES["kernel-confound"], own=kc,
                        description=f"Table 1's RFF net, fixed eta_rot with the warped rows as they are and "
                                    f"renormalised ({kc.hidden} units, S = {kc.samples}, {kc.epochs} epochs of "
                                    f"{kc.n_train:,} images, {kc.seeds} seeds)"))
    return out
