"""Chapter 5's parts: the list of what a profile computes, one part per family of the zoo (the runs themselves are
``runs``): ``regimes``, ``nu``, ``sizes``, ``eta`` and ``cnn``.
"""
from __future__ import annotations

from ...parts import Needs, Part
from .runs import run_cnn, run_eta, run_nu, run_regimes, run_sizes
from .settings import Settings

__all__ = ["all_parts"]

#: Version 2 adds LieGG layer by layer (``lenses.liegg_layers``); version 1 measured it on the logits only.
#: Version 3 adds the marginal-likelihood probe (``lenses.marginal_lens``) to every member.
_VERSION = 3
_DATA = ("n_train", "n_val", "n_test", "blur", "seeds", "fit", "activation", "n_eval", "n_si", "ig_steps",
         "probe_degrees", "probe_points")


def all_parts(s: Settings) -> list[Part]:
    """The chapter's parts in profile settings ``s``."""
    return [Part("regimes", run_regimes, Needs(gpu=True, memory_gb=2.0), uses=_DATA + ("hidden",), version=_VERSION,
                 description="plain, DA-R4, DA-SO2 and WT MLPs, every lens"),
            Part("nu", run_nu, Needs(gpu=True, memory_gb=2.0), uses=_DATA + ("hidden", "nus"), version=_VERSION,
                 description="IR (ch1's eq. 4) at every nu, one ensemble, every lens"),
            Part("sizes", run_sizes, Needs(gpu=True, memory_gb=2.0), uses=_DATA + ("sizes",), version=_VERSION,
                 description="plain and DA-R4 at further widths and depths, every lens"),
            Part("eta", run_eta, Needs(gpu=True, memory_gb=2.0),
                 uses=_DATA + ("eta_hidden", "eta_fit", "eta_init_degrees", "eta_points"), version=_VERSION,
                 description="ML-η: chapter 2's net, rotation eta learned by the ELBO, every lens"),
            Part("cnn", run_cnn, Needs(gpu=True, memory_gb=2.0), uses=_DATA + ("cnn", "cnn_nus", "cnn_fit"),
                 version=_VERSION, description="the CNN family: plain, DA-R4, DA-SO2, WT (tied kernels), IR")]
