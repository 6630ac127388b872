"""Chapter 4's parts (``helpers.parts``): one per figure of the paper (the sweep of Fig. 4 one per depth), each one
training run of ``runs``, with the figure it serves (``description``) and the settings it reads (``USES``).
"""
from __future__ import annotations

from functools import partial

from ...parts import Needs, Part
from .runs import cifar, layerwise, o5, o5_sizes, rotation, sweep
from .settings import Settings

__all__ = ["all_parts", "USES"]

#: The settings fields each part reads (its settings hash covers only these; a test checks each part reads no other).
_O5 = ("seeds", "o5_hidden", "o5_budget", "o5_max_epochs", "o5_batch", "o5_lr", "o5_test")
_ROT = ("seeds", "rot_train", "rot_val", "rot_test", "blur", "rot_batch")
_SAMPLES = ("fractions", "fraction_repeats")
USES = {"o5": (*_O5, "o5_n", *_SAMPLES), "o5-sizes": (*_O5, "o5_sizes"),
        "rotation": (*_ROT, "rot_epochs", "shallow", "deep", *_SAMPLES),
        "sweep": (*_ROT, "sweep_params", "sweep_seeds", "sweep_epochs"), "layerwise": (*_ROT, "lw_width", "lw_epochs"),
        "cifar": ("seeds", "blur", "cifar_hidden", "cifar_epochs", "cifar_train", "cifar_val")}


def all_parts(s: Settings) -> list[Part]:
    """The chapter's parts in profile settings ``s`` (one sweep part per depth of ``s.sweep_depths``)."""
    gpu = partial(Needs, gpu=True)
    return [
        Part("o5", o5, gpu(memory_gb=1.0), uses=USES["o5"],
             description="Fig. 2 left/middle: O(5) MLPs, spectrum and so(5) bias; untrained invariant model; App. A.2"),
        Part("o5-sizes", o5_sizes, gpu(memory_gb=1.0), uses=USES["o5-sizes"],
             description="Fig. 2 right: O(5) variance vs training-set size"),
        Part("rotation", rotation, gpu(memory_gb=2.0), uses=USES["rotation"],
             description="Fig. 3: shallow and deep MLPs on rotation-MNIST; App. A.2 on the deep one"),
        *[Part(f"sweep-d{p}", partial(sweep, depth=p), gpu(memory_gb=2.0), uses=USES["sweep"],
               description=f"Fig. 4: {p} hidden-to-hidden layers, every parameter budget") for p in s.sweep_depths],
        Part("layerwise", layerwise, gpu(memory_gb=2.0), uses=USES["layerwise"],
             description="Fig. 5: MLP-7, sub-MLP-3, MLP-7[F], MLP-7[L] layer by layer"),
        Part("cifar", cifar, gpu(memory_gb=4.0), uses=USES["cifar"], version=2,
             description="App. A.3.3: rotation-augmented CIFAR-10 MLP"),
    ]
