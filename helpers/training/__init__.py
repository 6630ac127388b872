"""Training loops: ``fit`` for one model, ``fit_ensemble`` for M seeds trained as one vmapped model.

Both keep the data resident on the device and draw batches as index slices of a per-epoch
permutation (no DataLoader workers), show a tqdm bar (quiet under CI / papermill runs), and keep
the weights of the epoch with the best validation score.

Seeds: a run with seed ``s`` draws its batch order and its augmentations from a
``torch.Generator`` seeded with ``s``. ``fit_ensemble`` gives member m the generator of its own
seed, so member m follows exactly the trajectory of ``fit(..., seed=seeds[m])`` started from the
same initial weights (Adam, SGD and weight decay act elementwise; a test checks it).

The loss is a function ``loss_fn(forward, x, y) -> scalar`` of a forward callable, so that
regularisers that need extra forward passes (ch1's invariance regulariser) work the same in
both loops. ``fit_ensemble(..., member_args=a)`` passes member m its own ``a[m]`` as a fourth
argument, so one ensemble can sweep a loss hyperparameter (ch1's nu) as well as seeds.

Speed on a GPU: a small model's step is bound by the host (Python, vmap and kernel launches), not by
the GPU. On CUDA, ``fit_ensemble`` therefore records one full-batch training step (forward, backward,
Adam) as a CUDA graph after three eager warm-up steps and replays it for every later full batch; the
batch draw and the augmentation stay eager, so every member still sees the batches and
augmentations of its own seed. ``graphs=False`` or ``HELPERS_CUDA_GRAPHS=0`` turns this off; it is
off on the CPU, with a learning-rate schedule (the graph would freeze the lr) and with SGD.
``fit(..., graphs=True)`` does the same for one model (BatchNorm, SGD and step schedules included: the
graph is recorded anew after each lr change); it is off by default until it has been measured on a GPU.
"""
from __future__ import annotations

from .basics import accuracy, build_models, predict, test_accuracy
from .config import (Augment, EnsembleResult, FitConfig, FitResult, Forward, LossFn, ScoreFn, cuda_graphs_enabled,
                     default_device, progress_enabled)
from .ensemble import fit_ensemble
from .fit import fit

__all__ = ["FitConfig", "FitResult", "EnsembleResult", "fit", "fit_ensemble", "build_models", "predict", "accuracy",
           "test_accuracy", "default_device", "progress_enabled", "cuda_graphs_enabled", "Forward", "LossFn",
           "Augment", "ScoreFn"]
